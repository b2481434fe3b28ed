// The data half of `spacetime demo`: synth clips → a small VAE (and its PSNR on held-out clips)
// → latent shards → ground-truth recaptions. Each stage is a plain call into the library
// (synthDataset, trainVAE, encodeDataset, runCaption) and returns the numbers the demo reports.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { runCaption } from '../data/caption/run.js';
import { clipPath, readClips } from '../data/clips.js';
import { encodeDataset } from '../data/encode.js';
import { synthDataset } from '../data/synth/index.js';
import { checkSynthOptions, parseSizes } from '../data/synth/options.js';
import { readVideo } from '../data/video.js';
import { selectBackend } from '../model/backend.js';
import { loadVAE, trimFrames, type VAE } from '../model/vae.js';
import { reconstructionPsnr, trainVAE } from '../train/vae-train.js';
import { SpacetimeError } from '../util/errors.js';
import type { DemoConfig } from './config.js';
import type { DemoPaths } from './paths.js';

export type Metrics = Record<string, number | string | null>;

/** Stage 1: the training clips and a few held-out clips (another seed) for the VAE's PSNR. */
export async function synthStage(cfg: DemoConfig, p: DemoPaths): Promise<Metrics> {
  const d = cfg.data;
  const base = { scenes: d.scenes, sizes: parseSizes(d.sizes.join(',')), frames: d.frames, fps: d.fps, violations: null };
  const train = await synthDataset(checkSynthOptions({ ...base, out: p.data, clips: d.clips, seed: d.seed }));
  await synthDataset(checkSynthOptions({ ...base, out: p.heldout, clips: d.psnr_clips, seed: d.seed + 1_000_003 }));
  const scenes = Object.keys(train.scenes).length;
  return { clips: train.clips, heldout_clips: d.psnr_clips, scene_types: scenes };
}

/** Decode a clip to (1, T, H, W, 3) in [−1, 1], trimmed and centre-cropped to what the VAE encodes. */
async function clipTensor(vae: VAE, file: string): Promise<tf.Tensor5D> {
  const { frames } = await readVideo(file);
  const T = trimFrames(vae.config, frames.length);
  const s = vae.config.spatial_compression;
  const { width: w0, height: h0 } = frames[0];
  const W = Math.floor(w0 / s) * s;
  const H = Math.floor(h0 / s) * s;
  const x0 = (w0 - W) >> 1;
  const y0 = (h0 - H) >> 1;
  const data = new Float32Array(T * H * W * 3); // (T, H, W, 3)
  for (let t = 0; t < T; t++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 3; c++) data[((t * H + y) * W + x) * 3 + c] = frames[t].data[((y0 + y) * w0 + x0 + x) * 3 + c] / 127.5 - 1;
  return tf.tensor5d(data, [1, T, H, W, 3]); // (1, T, H, W, 3)
}

/** Mean reconstruction PSNR (dB, posterior mean) of a VAE checkpoint over a clip dataset. */
export async function datasetPsnr(vaeCkpt: string, data: string): Promise<number> {
  const { vae } = await loadVAE(vaeCkpt);
  try {
    const clips = await readClips(data);
    let sum = 0;
    for (const c of clips) {
      const x = await clipTensor(vae, clipPath(data, c));
      try {
        sum += reconstructionPsnr(vae, x);
      } finally {
        x.dispose();
      }
    }
    return sum / clips.length;
  } finally {
    vae.dispose();
  }
}

/** Stage 2: train the VAE, then measure it on the held-out clips. */
export async function vaeStage(cfg: DemoConfig, p: DemoPaths): Promise<Metrics & { ckpt: string }> {
  const r = await trainVAE({ data: p.data, out: p.vae, config: cfg.vae, backend: cfg.backend });
  const psnr = await datasetPsnr(r.ckpt, p.heldout);
  return { ckpt: r.ckpt, steps: r.step, train_psnr_db: round(r.metrics.psnr, 2), heldout_psnr_db: round(psnr, 2), clips_per_sec: round(r.clipsPerSec, 2) };
}

/** Stage 2 with a base model: use its VAE as it is, measured on the held-out clips. */
export async function baseVaeStage(cfg: DemoConfig, p: DemoPaths, ckpt: string): Promise<Metrics & { ckpt: string }> {
  await selectBackend(cfg.backend, { quiet: true });
  const psnr = await datasetPsnr(ckpt, p.heldout);
  return { ckpt, trained: 'no (shipped)', heldout_psnr_db: round(psnr, 2) };
}

/** Stage 3: encode every clip into latent shards (posterior mean, float16). */
export async function encodeStage(cfg: DemoConfig, p: DemoPaths, vaeCkpt: string): Promise<Metrics> {
  await selectBackend(cfg.backend, { quiet: true });
  const r = await encodeDataset({ vae: vaeCkpt, data: p.data, out: p.shards, backend: cfg.backend });
  if (r.failures.length) throw new SpacetimeError(`encode: ${r.failures.length} clip(s) failed (first: ${r.failures[0].id}: ${r.failures[0].error})`);
  if (!r.manifestWritten) throw new SpacetimeError(`encode: ${p.shards}: manifest not written`);
  return { shards: r.written.length, frames: r.frames };
}

/** Stage 4: recaption the shard rows from the clips' ground truth (builtin captioner). */
export async function captionStage(p: DemoPaths): Promise<Metrics> {
  const s = await runCaption({ data: p.shards, clips: p.data, captioner: 'builtin' });
  if (s.failed > 0) throw new SpacetimeError(`caption: ${s.failed} of ${s.total} rows failed (first: ${s.failures[0].id}: ${s.failures[0].error})`);
  return { rows: s.total, captioned: s.ok, sources: Object.keys(s.bySource).join(',') };
}

export function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

export const relative = (from: string, to: string) => path.relative(from, to) || '.';
