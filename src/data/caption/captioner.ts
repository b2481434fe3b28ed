// The recaptioning interface (Sora technical report, "Re-captioning": every training clip gets a
// highly descriptive caption, following DALL·E 3's recaptioning). A Captioner turns a clip's
// frames (and ground truth, when the clip is synthetic) into one descriptive caption.
// Implementations: builtin (offline, deterministic), openai (any OpenAI-compatible chat
// endpoint serving a vision-language model), onnx (a local image-to-text model).
import type { PhysicsTruth } from '../clips.js';
import type { Frame } from '../video.js';
import { FlagError } from '../../util/errors.js';

/** What a captioner sees of one clip. `frames` may be a lazy decoder (called at most once). */
export interface CaptionInput {
  id: string;
  frames: Frame[] | (() => AsyncIterable<Frame>);
  fps: number;
  width: number;
  height: number;
  /** Frame count when known (lets lazy decoders pick evenly spaced frames). */
  frameCount?: number;
  truth?: PhysicsTruth;
  existingCaption?: string;
}

/**
 * The outcome for one clip. `source` names where the caption came from (`builtin:truth`,
 * `builtin:measured`, `openai:<model>`, `onnx:<model>`, `existing`) or is `failed`, in which case
 * `caption` is the old caption (or empty) and `error` says why.
 */
export interface CaptionResult {
  caption: string;
  source: string;
  error?: string;
}

export interface Captioner {
  readonly name: string;
  caption(clip: CaptionInput): Promise<CaptionResult>;
  /** Release sessions or sockets (optional). */
  close?(): Promise<void>;
}

export interface CaptionerOptions {
  /** Frames sampled per clip for model captioners (default 4). */
  frames?: number;
  /** Parallel requests (openai) (default 4). */
  concurrency?: number;
  /** Instruction sent with the frames (openai). */
  instruction?: string;
  /** Per-request timeout in ms (openai) (default 120 000). */
  timeoutMs?: number;
  /** Retries after the first attempt (openai) (default 4). */
  retries?: number;
}

export type CaptionerSpec = { kind: 'builtin' } | { kind: 'openai'; url: string; model?: string } | { kind: 'onnx'; dir: string };

/** Parse `builtin`, `openai:URL[#model]` or `onnx:DIR`; `flag` names the flag in errors. */
export function parseModelSpec(spec: string, flag: string): CaptionerSpec {
  const s = spec.trim();
  if (s === 'builtin') return { kind: 'builtin' };
  if (s.startsWith('openai:')) {
    const rest = s.slice('openai:'.length);
    const hash = rest.indexOf('#');
    const url = hash >= 0 ? rest.slice(0, hash) : rest;
    const model = hash >= 0 ? rest.slice(hash + 1) : undefined;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new FlagError(flag, `'${url}' is not a URL (expected openai:http://host:port[/v1][#model])`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FlagError(flag, `'${url}': only http and https endpoints are supported`);
    if (model !== undefined && !model) throw new FlagError(flag, `empty model name after '#' in '${spec}'`);
    return { kind: 'openai', url, model };
  }
  if (s.startsWith('onnx:')) {
    const dir = s.slice('onnx:'.length);
    if (!dir) throw new FlagError(flag, "'onnx:' needs a model directory (onnx:DIR)");
    return { kind: 'onnx', dir };
  }
  throw new FlagError(flag, `unknown captioner '${spec}' (use builtin, openai:URL[#model] or onnx:DIR)`);
}

/** Build the captioner named by `spec`. */
export async function createCaptioner(spec: string, opts: CaptionerOptions = {}): Promise<Captioner> {
  const p = parseModelSpec(spec, 'captioner');
  if (p.kind === 'builtin') {
    const { BuiltinCaptioner } = await import('./builtin.js');
    return new BuiltinCaptioner();
  }
  if (p.kind === 'openai') {
    const { OpenAICaptioner } = await import('./openai.js');
    return new OpenAICaptioner({ url: p.url, model: p.model, ...opts });
  }
  const { OnnxCaptioner } = await import('./onnx.js');
  return OnnxCaptioner.load(p.dir, opts);
}

/** Materialise a clip's frames (decoding lazily-given frames at most once). */
export async function collectFrames(clip: CaptionInput, max = Infinity): Promise<Frame[]> {
  if (Array.isArray(clip.frames)) return clip.frames;
  const out: Frame[] = [];
  for await (const f of clip.frames()) {
    out.push(f);
    if (out.length >= max) break;
  }
  return out;
}

/** Indices of `k` evenly spaced frames out of `n` (first and last included when k ≥ 2). */
export function evenIndices(n: number, k: number): number[] {
  if (n <= 0 || k <= 0) return [];
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  if (k === 1) return [Math.floor((n - 1) / 2)];
  return Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1)));
}

/** `k` evenly spaced frames of the clip, decoding a lazy clip once and keeping only those frames. */
export async function sampleFrames(clip: CaptionInput, k: number): Promise<Frame[]> {
  const given = clip.frames;
  if (Array.isArray(given)) return evenIndices(given.length, k).map((i) => given[i]);
  if (clip.frameCount && clip.frameCount > 0) {
    const want = new Set(evenIndices(clip.frameCount, k));
    const out: Frame[] = [];
    let i = 0;
    let last: Frame | undefined;
    for await (const f of given()) {
      if (want.has(i)) out.push(f);
      last = f;
      i++;
    }
    // The stored count can be off by a frame or two; make sure the last frame is represented.
    if (out.length < Math.min(k, i) && last) out.push(last);
    return out;
  }
  const all = await collectFrames(clip);
  return evenIndices(all.length, k).map((i) => all[i]);
}
