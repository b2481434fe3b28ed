// Fréchet Video Distance (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
// Metric & Challenges", 2018): the Fréchet distance (frechet.ts) between Gaussians fitted to I3D
// features (Carreira & Zisserman 2017, Kinetics-400) of real and generated clips. The I3D network
// is given as an ONNX file; preprocessing follows the reference code: each clip is the first 16
// frames of a video, frames resized to 224×224 bilinearly, values scaled to [−1, 1]; the input
// layout is (1, 3, T, 224, 224) (NCTHW, PyTorch ports) or (1, T, 224, 224, 3) (NTHWC, the TF-Hub
// model). The model's first output is flattened to the clip's feature vector (the reference uses
// the 400 Kinetics logits). Videos shorter than the clip length are skipped with a reason.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeFrames, VIDEO_EXTS, type Frame } from '../data/video.js';
import { createSession, run, type Session } from '../infer/ort.js';
import { FileError, SpacetimeError, oneLine } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { frechetFromFeatures } from './frechet.js';
import { resizeFrame } from './resize.js';

export interface FvdOptions {
  /** Path of the I3D-style ONNX model. */
  model: string;
  /** Frames per clip (default 16). */
  frames?: number;
  /** Spatial size (default 224). */
  size?: number;
  layout?: 'ncthw' | 'nthwc';
  threads?: number;
}

export interface FvdSet {
  dir: string;
  clips: number;
  skipped: { path: string; reason: string }[];
}

export interface FvdResult {
  fvd: number;
  model: string;
  frames: number;
  size: number;
  feature_dim: number;
  real: FvdSet;
  generated: FvdSet;
}

/** Video files directly inside `dir`, sorted by name. */
export async function listVideos(dir: string): Promise<string[]> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new FileError(dir, 'no such directory');
  if (!st.isDirectory()) throw new FileError(dir, 'not a directory');
  const names = (await fs.readdir(dir)).filter((n) => (VIDEO_EXTS as readonly string[]).includes(path.extname(n).toLowerCase())).sort();
  return names.map((n) => path.join(dir, n));
}

/** The network input of one clip: T frames resized to size², scaled to [−1, 1], in the given layout. */
export function clipTensor(frames: readonly Frame[], size: number, layout: 'ncthw' | 'nthwc'): { data: Float32Array; dims: number[] } {
  const T = frames.length;
  const hw = size * size;
  const out = new Float32Array(3 * T * hw);
  frames.forEach((f, t) => {
    const img = resizeFrame(f, size, size, 'bilinear'); // (size, size, 3) in 0..255
    for (let i = 0; i < hw; i++)
      for (let c = 0; c < 3; c++) {
        const v = (2 * img[3 * i + c]) / 255 - 1;
        if (layout === 'nthwc') out[(t * hw + i) * 3 + c] = v;
        else out[(c * T + t) * hw + i] = v;
      }
  });
  return { data: out, dims: layout === 'nthwc' ? [1, T, size, size, 3] : [1, 3, T, size, size] };
}

/** The first `n` frames of a video, or a FileError when it is shorter. */
export async function firstFrames(file: string, n: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of decodeFrames(file, { maxFrames: n })) frames.push(f);
  if (frames.length < n) throw new FileError(file, `${frames.length} frames, FVD clips need ${n}`);
  return frames;
}

/** Feature vectors of every usable clip in `dir`. */
export async function clipFeatures(session: Session, dir: string, o: Required<Omit<FvdOptions, 'threads'>>, label: string): Promise<{ features: Float32Array[]; set: FvdSet }> {
  const files = await listVideos(dir);
  const features: Float32Array[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  const bar = new Progress(`fvd ${label}`, files.length);
  for (const file of files) {
    let frames: Frame[];
    try {
      frames = await firstFrames(file, o.frames);
    } catch (e) {
      skipped.push({ path: file, reason: e instanceof FileError ? e.reason : oneLine(e) });
      bar.tick();
      continue;
    }
    const r = await run(session, { [input]: clipTensor(frames, o.size, o.layout) });
    const t = r[output];
    if (t.type !== 'float32') throw new SpacetimeError(`${o.model}: output ${output} is ${t.type}, expected float32`);
    if (t.dims[0] !== 1) throw new SpacetimeError(`${o.model}: output ${output} must have batch 1, got (${t.dims.join(', ')})`);
    features.push(Float32Array.from(t.data as Float32Array));
    bar.tick();
  }
  bar.finish();
  if (features.length < 2) {
    const why = skipped.length ? ` (${skipped.length} skipped, e.g. ${skipped[0].path}: ${skipped[0].reason})` : '';
    throw new FileError(dir, `FVD needs at least 2 clips of ${o.frames} frames, found ${features.length}${why}`);
  }
  return { features, set: { dir, clips: features.length, skipped } };
}

/** FVD between the clips of two directories. */
export async function computeFvd(realDir: string, generatedDir: string, opts: FvdOptions): Promise<FvdResult> {
  const o = { model: opts.model, frames: opts.frames ?? 16, size: opts.size ?? 224, layout: opts.layout ?? 'ncthw' } as const;
  if (!Number.isInteger(o.frames) || o.frames < 1) throw new SpacetimeError(`--frames must be a positive integer, got ${o.frames}`);
  // Check both directories before loading a possibly large model.
  await listVideos(realDir);
  await listVideos(generatedDir);
  const session = await createSession(o.model, { threads: opts.threads });
  if (session.inputNames.length !== 1) throw new FileError(o.model, `a video feature model takes one input; this one has ${session.inputNames.length} (${session.inputNames.join(', ')})`);
  const real = await clipFeatures(session, realDir, o, 'real');
  const gen = await clipFeatures(session, generatedDir, o, 'generated');
  if (real.features[0].length !== gen.features[0].length) throw new SpacetimeError(`feature sizes differ: ${real.features[0].length} vs ${gen.features[0].length}`);
  return {
    fvd: frechetFromFeatures(real.features, gen.features),
    model: o.model,
    frames: o.frames,
    size: o.size,
    feature_dim: real.features[0].length,
    real: real.set,
    generated: gen.set,
  };
}
