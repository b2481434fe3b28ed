// The generation pipeline shared by `spacetime generate` (ONNX engines) and `spacetime sample`
// (tfjs engines): text-to-video, image-to-video, extension forward/backward in chained windows,
// connecting two clips, seamless loops and SDEdit video editing (Meng et al. 2022). Every mode
// is frame-mask conditioning (clean latent frames kept, the rest denoised) over one window of
// latent frames; the engines know nothing of modes, the modes nothing of the engines' insides.
// Shapes: latents (1, T, H, W, C) flat row-major; video frames F = 1 + (T − 1)·s_t (causal VAE).
import { FlagError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { Frame } from '../data/video.js';
import type { DdpmConfig } from '../train/schedule.js';
import { frameMaskToElements, guided, modelEvals, sample, type SamplerName } from './sampler.js';

export type Shape5 = [number, number, number, number, number];

export interface TextBatch {
  emb: Float32Array; // (B, L, E)
  mask: Float32Array; // (B, L)
  batch: number;
  length: number;
  width: number;
}

export type Objective = { kind: 'rf'; shift: (shape: Shape5) => number } | { kind: 'ddpm'; ddpm: DdpmConfig };

/** What a backend must provide. Latents are in the model's normalised latent space. */
export interface Engines {
  /** s_t, s (VAE temporal and spatial compression) and C (latent channels). */
  geometry: { temporal: number; spatial: number; channels: number };
  objective: Objective;
  encodeText(prompts: string[]): Promise<TextBatch>;
  /** x (B,T,H,W,C) at noise levels t (B,), conditioning frame mask (B,T) → prediction (B,T,H,W,C). */
  denoise(x: Float32Array, shape: Shape5, t: Float32Array, text: TextBatch, condFrames: Float32Array): Promise<Float32Array>;
  /** Video frames (F = 1 + k·s_t, size multiple of s) → latents (1, T, H, W, C). */
  encode(frames: readonly Frame[]): Promise<{ z: Float32Array; shape: Shape5 }>;
  decode(z: Float32Array, shape: Shape5): Promise<Frame[]>;
}

export type Mode =
  | { kind: 't2v' }
  | { kind: 'i2v'; image: Frame }
  | { kind: 'extend'; video: readonly Frame[]; direction: 'forward' | 'backward' }
  | { kind: 'connect'; a: readonly Frame[]; b: readonly Frame[] }
  | { kind: 'loop' }
  | { kind: 'edit'; video: readonly Frame[]; strength: number };

export interface GenerateRequest {
  prompt: string;
  negativePrompt?: string;
  /** Video frames of one window (t2v/i2v/loop base/edit cap); for extend: frames to add in total. */
  frames: number;
  width: number;
  height: number;
  steps: number;
  cfg: number;
  seed: number;
  sampler: SamplerName;
  mode: Mode;
  /** Window length in video frames for extend/connect/loop transitions (default: `frames`, or the model's). */
  window?: number;
  /** Clean latent frames shared between chained windows (default: half a window, at least 1). */
  overlap?: number;
  onStep?: (done: number, total: number, label: string) => void;
}

export interface GenerateResult {
  frames: Frame[];
  latentShape: Shape5;
  windows: number;
  modelEvals: number;
}

/** Latent frames for F video frames; F must be 1 + k·s_t. */
export function latentFrames(frames: number, temporal: number, flag = 'frames'): number {
  if (!Number.isInteger(frames) || frames < 1 || (frames - 1) % temporal !== 0) {
    const lo = Math.max(1, frames - ((frames - 1) % temporal));
    throw new FlagError(flag, `${frames} frames do not fit the VAE's temporal compression ${temporal}: use 1 + k·${temporal} (e.g. ${lo} or ${lo + temporal})`);
  }
  return 1 + (frames - 1) / temporal;
}

export function videoFrames(latent: number, temporal: number): number {
  return 1 + (latent - 1) * temporal;
}

/** Check --size against the VAE's spatial compression. */
export function checkSize(width: number, height: number, spatial: number): void {
  if (!(width > 0 && height > 0) || width % spatial || height % spatial) throw new FlagError('size', `${width}x${height} must be positive multiples of ${spatial} (the VAE's spatial compression)`);
}

/** Keep the last (or first) 1 + k·s_t frames so a clip encodes exactly. */
function fitFrames(frames: readonly Frame[], temporal: number, keep: 'start' | 'end', flag: string): Frame[] {
  if (frames.length === 0) throw new FlagError(flag, 'video has no frames');
  const n = 1 + Math.floor((frames.length - 1) / temporal) * temporal;
  return keep === 'start' ? frames.slice(0, n) : frames.slice(frames.length - n);
}

function sliceFrames(z: Float32Array, per: number, from: number, to: number): Float32Array {
  return z.slice(from * per, to * per);
}

function concatLatents(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Generate according to `req.mode`. Deterministic for a seed (all noise from one Rng). */
export async function generate(eng: Engines, req: GenerateRequest): Promise<GenerateResult> {
  if (!req.prompt.trim()) throw new FlagError('prompt', 'empty prompt');
  const { temporal: st, spatial: s, channels: C } = eng.geometry;
  checkSize(req.width, req.height, s);
  if (!(req.steps >= 1)) throw new FlagError('steps', `must be ≥ 1, got ${req.steps}`);
  if (eng.objective.kind === 'rf' && req.sampler === 'ddim') throw new FlagError('sampler', "ddim needs a DDPM model; this model is rectified flow (use euler or heun)");
  if (eng.objective.kind === 'ddpm' && req.sampler !== 'ddim') throw new FlagError('sampler', `${req.sampler} needs a rectified-flow model; this model is DDPM (use ddim)`);
  const H = req.height / s;
  const W = req.width / s;
  const per = H * W * C;
  const rng = new Rng(req.seed);
  const text = await eng.encodeText([req.prompt, req.negativePrompt ?? '']);
  const resize = (f: readonly Frame[]) => f.map((x) => (x.width === req.width && x.height === req.height ? x : resizeNearest(x, req.width, req.height)));
  let evals = 0;
  let windows = 0;

  /** Denoise one window of T latent frames, with `clean` frames (index → latent) kept. */
  const window = async (T: number, clean: Map<number, Float32Array>, label: string, init?: { source: Float32Array; strength: number }): Promise<Float32Array> => {
    const shape: Shape5 = [1, T, H, W, C];
    const frameMask = new Float32Array(T);
    const cleanAll = new Float32Array(T * per);
    for (const [i, z] of clean) {
      frameMask[i] = 1;
      cleanAll.set(z, i * per);
    }
    const noise = rng.normals(T * per);
    const pair: Shape5 = [2, T, H, W, C];
    const cond2 = new Float32Array(2 * T);
    cond2.set(frameMask, 0);
    cond2.set(frameMask, T);
    const predict = guided(async (x, t) => {
      const xx = new Float32Array(2 * x.length);
      xx.set(x, 0);
      xx.set(x, x.length);
      const out = await eng.denoise(xx, pair, new Float32Array([t, t]), text, cond2);
      return [out.subarray(0, x.length), out.subarray(x.length)];
    }, req.cfg);
    const opts = {
      predict,
      noise,
      steps: req.steps,
      sampler: req.sampler,
      shift: eng.objective.kind === 'rf' ? eng.objective.shift(shape) : undefined,
      ddpm: eng.objective.kind === 'ddpm' ? eng.objective.ddpm : undefined,
      cond: clean.size ? { clean: cleanAll, mask: frameMaskToElements(frameMask, shape) } : undefined,
      init,
      onStep: (d: number, n: number) => req.onStep?.(d, n, label),
    };
    evals += modelEvals(opts);
    windows++;
    return sample(opts);
  };

  const mode = req.mode;
  let z: Float32Array;
  let T: number;
  switch (mode.kind) {
    case 't2v': {
      T = latentFrames(req.frames, st);
      z = await window(T, new Map(), 'denoise');
      break;
    }
    case 'i2v': {
      T = latentFrames(req.frames, st);
      const img = await eng.encode(resize([mode.image]));
      z = await window(T, new Map([[0, img.z.slice(0, per)]]), 'denoise');
      break;
    }
    case 'edit': {
      const src = await eng.encode(resize(fitFrames(mode.video, st, 'start', 'edit')));
      T = src.shape[1];
      if (!(mode.strength > 0 && mode.strength <= 1)) throw new FlagError('strength', `must be in (0, 1], got ${mode.strength}`);
      z = await window(T, new Map(), 'edit', { source: src.z, strength: mode.strength });
      break;
    }
    case 'extend': {
      const Tw = latentFrames(req.window ?? req.frames, st, req.window ? 'window' : 'frames');
      const k = Math.min(req.overlap ?? Math.max(1, Math.floor(Tw / 2)), Tw - 1);
      const src = await eng.encode(resize(fitFrames(mode.video, st, mode.direction === 'forward' ? 'end' : 'start', 'extend')));
      let seq = src.z;
      let Tseq = src.shape[1];
      const addLatent = Math.ceil(req.frames / st);
      let added = 0;
      while (added < addLatent) {
        const fresh = Math.min(Tw - k, addLatent - added);
        const Twin = k + fresh;
        const clean = new Map<number, Float32Array>();
        for (let i = 0; i < k; i++) {
          const srcIdx = mode.direction === 'forward' ? Tseq - k + i : i;
          clean.set(mode.direction === 'forward' ? i : fresh + i, sliceFrames(seq, per, srcIdx, srcIdx + 1));
        }
        const out = await window(Twin, clean, `window ${windows + 1}`);
        const newPart = mode.direction === 'forward' ? sliceFrames(out, per, k, Twin) : sliceFrames(out, per, 0, fresh);
        seq = mode.direction === 'forward' ? concatLatents([seq, newPart]) : concatLatents([newPart, seq]);
        Tseq += fresh;
        added += fresh;
      }
      z = seq;
      T = Tseq;
      break;
    }
    case 'connect':
    case 'loop': {
      const Tw = latentFrames(req.window ?? req.frames, st, req.window ? 'window' : 'frames');
      let za: Float32Array;
      let Ta: number;
      let zb: Float32Array;
      let Tb: number;
      if (mode.kind === 'connect') {
        const a = await eng.encode(resize(fitFrames(mode.a, st, 'end', 'connect')));
        const b = await eng.encode(resize(fitFrames(mode.b, st, 'start', 'connect')));
        [za, Ta, zb, Tb] = [a.z, a.shape[1], b.z, b.shape[1]];
      } else {
        // a loop: generate a base clip, then connect its end back to its start
        za = await window(Tw, new Map(), 'base');
        [Ta, zb, Tb] = [Tw, za, Tw];
      }
      const k = Math.max(1, Math.min(req.overlap ?? Math.floor(Tw / 4), Ta, Tb, Math.floor((Tw - 1) / 2)));
      const m = Tw - 2 * k;
      const clean = new Map<number, Float32Array>();
      for (let i = 0; i < k; i++) {
        clean.set(i, sliceFrames(za, per, Ta - k + i, Ta - k + i + 1));
        clean.set(k + m + i, sliceFrames(zb, per, i, i + 1));
      }
      const out = await window(Tw, clean, 'transition');
      const middle = sliceFrames(out, per, k, k + m);
      z = mode.kind === 'connect' ? concatLatents([za, middle, zb]) : concatLatents([za, middle]);
      T = mode.kind === 'connect' ? Ta + m + Tb : Ta + m;
      break;
    }
  }
  const latentShape: Shape5 = [1, T, H, W, C];
  const frames = await eng.decode(z, latentShape);
  return { frames, latentShape, windows, modelEvals: evals };
}

/** Nearest-neighbour resize used for conditioning inputs whose size differs from --size. */
export function resizeNearest(f: Frame, width: number, height: number): Frame {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(f.height - 1, Math.floor(((y + 0.5) * f.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(f.width - 1, Math.floor(((x + 0.5) * f.width) / width));
      const si = (sy * f.width + sx) * 3;
      data.set(f.data.subarray(si, si + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data };
}
