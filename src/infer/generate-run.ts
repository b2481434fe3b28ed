// `spacetime generate` as a library call: one or many jobs (a --batch file) through one set of
// ONNX sessions. Per job: prompt policy → optional prompt upsampling → pipeline (mode from the
// flags) → watermark + provenance + sidecar. Returns what was written, with timings.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createUpsampler, type PromptUpsampler } from '../data/upsample/upsampler.js';
import { readImage } from '../data/image.js';
import { readVideo, type Frame } from '../data/video.js';
import { FileError, FlagError } from '../util/errors.js';
import { info } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { hashModelFiles } from './model-dir.js';
import { openOnnxEngines } from './onnx-engines.js';
import { writeGenerated } from './output.js';
import { generate, type GenerateRequest, type Mode } from './pipeline.js';
import { applyPolicy, loadPolicy, type Policy } from './policy.js';
import type { SamplerName } from './sampler.js';

export interface GenerateJob {
  prompt: string;
  out: string;
  negativePrompt?: string;
  frames?: number;
  size?: string;
  steps?: number;
  cfg?: number;
  seed?: number;
  sampler?: SamplerName;
  image?: string;
  extend?: string;
  direction?: 'forward' | 'backward';
  connect?: [string, string];
  loop?: boolean;
  edit?: string;
  strength?: number;
  window?: number;
  overlap?: number;
  fps?: number;
}

export interface GenerateRunOptions {
  model: string;
  jobs: GenerateJob[];
  upsample?: string;
  vocabulary?: string;
  policy?: string;
  watermark?: boolean;
  threads?: number;
  /** onnxruntime execution providers in order of preference, e.g. ['cuda', 'cpu'] (default ['cpu']). */
  providers?: readonly string[];
}

export interface GenerateRunResult {
  out: string;
  prompt: string;
  frames: number;
  seconds: number;
}

export function parseSize(s: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m) throw new FlagError('size', `'${s}' is not WxH (e.g. 64x64)`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

async function loadFrames(file: string): Promise<Frame[]> {
  return (await readVideo(file)).frames;
}

function modeCount(j: GenerateJob): number {
  return [j.image, j.extend, j.connect, j.loop, j.edit].filter((x) => x !== undefined && x !== false).length;
}

async function jobMode(j: GenerateJob): Promise<Mode> {
  if (modeCount(j) > 1) throw new FlagError('image', 'choose one of --image, --extend, --connect, --loop, --edit');
  if (j.image) return { kind: 'i2v', image: await readImage(j.image) };
  if (j.extend) return { kind: 'extend', video: await loadFrames(j.extend), direction: j.direction ?? 'forward' };
  if (j.connect) return { kind: 'connect', a: await loadFrames(j.connect[0]), b: await loadFrames(j.connect[1]) };
  if (j.loop) return { kind: 'loop' };
  if (j.edit) {
    if (j.strength === undefined) throw new FlagError('strength', '--edit needs --strength X in (0, 1]');
    return { kind: 'edit', video: await loadFrames(j.edit), strength: j.strength };
  }
  return { kind: 't2v' };
}

/** Read a --batch file: JSONL/JSON of job objects (prompt required), or text with one prompt per line. */
export async function readBatch(file: string, outDir: string, ext = '.mp4'): Promise<GenerateJob[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FileError(file, 'no such file');
  }
  const name = (i: number) => path.join(outDir, `clip-${String(i).padStart(3, '0')}${ext}`);
  let rows: unknown[];
  if (/\.jsonl$/i.test(file)) rows = text.split('\n').filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new FileError(file, `line ${i + 1}: not valid JSON`);
    }
  });
  else if (/\.json$/i.test(file)) {
    try {
      rows = JSON.parse(text);
    } catch {
      throw new FileError(file, 'not valid JSON');
    }
    if (!Array.isArray(rows)) throw new FileError(file, 'expected a JSON array of jobs');
  } else rows = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((prompt) => ({ prompt }));
  return rows.map((r, i) => {
    const o = (typeof r === 'string' ? { prompt: r } : r) as Partial<GenerateJob>;
    if (!o || typeof o.prompt !== 'string' || !o.prompt.trim()) throw new FileError(file, `job ${i + 1}: empty prompt`);
    return { ...o, prompt: o.prompt, out: o.out ? path.resolve(outDir, o.out) : name(i) };
  });
}

export interface Generator {
  /** Generate one job and write it (watermark, provenance, sidecar). */
  run(job: GenerateJob): Promise<GenerateRunResult>;
  close(): Promise<void>;
}

/** Open the model once (sessions, tokenizer, policy, upsampler) for any number of jobs. */
export async function openGenerator(opts: Omit<GenerateRunOptions, 'jobs'>): Promise<Generator> {
  const policy: Policy | null = opts.policy ? await loadPolicy(opts.policy) : null;
  const upsampler: PromptUpsampler | null = opts.upsample ? await createUpsampler(opts.upsample, { vocabulary: opts.vocabulary }) : null;
  const t0 = Date.now();
  const eng = await openOnnxEngines(opts.model, { threads: opts.threads, providers: opts.providers });
  const load = (Date.now() - t0) / 1000;
  const modelHash = await hashModelFiles(opts.model);
  const d = eng.model.config.defaults;
  const run = async (j: GenerateJob): Promise<GenerateRunResult> => {
    if (!j.prompt.trim()) throw new FlagError('prompt', 'empty prompt');
    const tj = Date.now();
    let prompt = j.prompt;
    const rules = policy ? applyPolicy(policy, prompt) : null;
    if (rules) prompt = rules.prompt;
    const original = prompt;
    if (upsampler) {
      prompt = await upsampler.upsample(prompt, { frames: j.frames ?? d.frames, fps: j.fps ?? d.fps });
      info(`prompt: ${prompt}`);
    }
    const { width, height } = parseSize(j.size ?? `${d.width}x${d.height}`);
    const req: GenerateRequest = {
      prompt,
      negativePrompt: j.negativePrompt,
      frames: j.frames ?? d.frames,
      width,
      height,
      steps: j.steps ?? d.steps,
      cfg: j.cfg ?? d.cfg,
      seed: j.seed ?? 0,
      sampler: j.sampler ?? (d.sampler as SamplerName),
      mode: await jobMode(j),
      window: j.window ?? (j.extend ? d.frames : undefined),
      overlap: j.overlap,
    };
    let bar: Progress | null = null;
    req.onStep = (done, total, label) => {
      if (!bar || bar.label !== `${path.basename(j.out)} ${label}`) {
        bar?.finish();
        bar = new Progress(`${path.basename(j.out)} ${label}`, total);
      }
      bar.update(done);
    };
    const tg = Date.now();
    const res = await generate(eng, req);
    (bar as Progress | null)?.finish();
    const genSec = (Date.now() - tg) / 1000;
    const settings = { ...req, mode: req.mode.kind, onStep: undefined, image: j.image, extend: j.extend, direction: j.direction, connect: j.connect, edit: j.edit, strength: j.strength, prompt_original: j.prompt, upsampler: opts.upsample ?? null, policy: opts.policy ?? null };
    await writeGenerated(j.out, res.frames, {
      model: { id: eng.model.config.model.id, hash: modelHash },
      settings,
      timings: { load_s: load, generate_s: genSec, total_s: (Date.now() - tj) / 1000, model_evals: res.modelEvals },
      extra: { prompt_final: prompt, prompt_after_policy: original, policy_rules_applied: rules?.applied ?? [], latent_shape: res.latentShape, windows: res.windows },
      fps: j.fps ?? d.fps,
      watermark: opts.watermark,
    });
    return { out: j.out, prompt, frames: res.frames.length, seconds: (Date.now() - tj) / 1000 };
  };
  return { run, close: () => eng.release() };
}

/** Run every job with one set of sessions. */
export async function runGenerate(opts: GenerateRunOptions): Promise<GenerateRunResult[]> {
  for (const j of opts.jobs) if (!j.prompt.trim()) throw new FlagError('prompt', 'empty prompt');
  const gen = await openGenerator(opts);
  const results: GenerateRunResult[] = [];
  try {
    for (const j of opts.jobs) results.push(await gen.run(j));
  } finally {
    await gen.close();
  }
  return results;
}
