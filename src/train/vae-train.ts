// Training loop of the video autoencoder (vae.ts): β-VAE objective (Higgins et al. 2017) as in
// LDM's KL autoencoder (Rombach et al. 2022) without the adversarial and perceptual terms:
//   z = mean + exp(logvar/2)·ε,  x̂ = decode(z)
//   loss = ℓ(x̂ − x) + w_c · ℓ(d − mean_rgb(d)) + β · ½·mean(mean² + exp(logvar) − 1 − logvar)
//   with ℓ = mean|·| (or mean (·)²), d = x̂ − x and w_c = chroma_weight (the colour part of the error)
// One visible loop (STYLE.md §6): lr → forward/backward → clip → AdamW step → log → checkpoint.
// Checkpoints (checkpoint.ts) hold model.safetensors, optimizer.safetensors, config.json
// ({kind, model, train, config_hash}) and state.json (step, RNG state); `--resume` continues
// bit-exactly from `RUN/latest`.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { selectBackend } from '../model/backend.js';
import { ensureGradients } from '../model/tf-gradients.js';
import { type VAE, VAEConfigSchema, configHash, createVAE, latentShape } from '../model/vae.js';
import { FileError, SpacetimeError } from '../util/errors.js';
import { readJsonFile } from '../util/json-file.js';
import { info } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { Rng, type RngState } from '../util/rng.js';
import { checkShape } from '../util/shape.js';
import { assignParams, loadCheckpoint, paramsToTensors, saveCheckpoint } from './checkpoint.js';
import { AdamW, clipByGlobalNorm, globalNorm } from './optimizer.js';
import { lr as lrAt } from './schedule.js';
import { ClipWindows } from './vae-data.js';

export const VAETrainConfigSchema = z
  .object({
    steps: z.number().int().min(1).default(2000),
    batch: z.number().int().min(1).default(2),
    lr: z.number().positive().default(1e-3),
    warmup: z.number().int().min(0).default(50),
    schedule: z.enum(['cosine', 'constant']).default('cosine'),
    min_lr_ratio: z.number().min(0).max(1).default(0.1),
    /** Frames per training window; must be ≡ 1 (mod temporal_compression). */
    frames: z.number().int().min(1).default(9),
    /** Square crop side; must be a multiple of spatial_compression. */
    crop: z.number().int().min(1).default(64),
    beta_kl: z.number().min(0).default(1e-4),
    loss: z.enum(['l1', 'mse']).default('l1'),
    /**
     * Extra weight on the colour part of the error: rec += chroma_weight · the same loss on
     * (x̂ − mean over RGB of x̂) − (x − mean over RGB of x). Scenes that are mostly grey give colour
     * too small a share of a plain pixel loss for a small VAE to learn it (measured on the synthetic
     * clips: mean |chroma| 7.8 of 255).
     */
    chroma_weight: z.number().min(0).default(0),
    clip_norm: z.number().min(0).default(1),
    log_every: z.number().int().min(1).default(10),
    ckpt_every: z.number().int().min(1).default(500),
    keep_last: z.number().int().min(0).default(3),
    cache_mb: z.number().min(0).default(1024),
    seed: z.number().int().default(0),
  })
  .strict();
export type VAETrainConfig = z.infer<typeof VAETrainConfigSchema>;

/** A VAE config file (`configs/vae*.json`): `{ "model": {...}, "train": {...} }`, both optional. */
export const VAERunConfigSchema = z.object({ model: VAEConfigSchema.default(VAEConfigSchema.parse({})), train: VAETrainConfigSchema.default(VAETrainConfigSchema.parse({})) }).strict();
export type VAERunConfig = z.infer<typeof VAERunConfigSchema>;

/** config.json of a VAE checkpoint. */
export const VAECheckpointConfigSchema = z.object({ kind: z.literal('spacetime-vae'), model: VAEConfigSchema, train: VAETrainConfigSchema, config_hash: z.string() });

/** Parse a run config (validated once, here at the edge); errors name the field. */
export function parseVAERunConfig(raw: unknown, source: string): VAERunConfig {
  const r = VAERunConfigSchema.safeParse(raw);
  if (!r.success) {
    const iss = r.error.issues[0];
    throw new FileError(source, `${iss.path.join('.') || '(root)'}: ${iss.message}`);
  }
  const { model, train } = r.data;
  if ((train.frames - 1) % model.temporal_compression !== 0) throw new FileError(source, `train.frames: ${train.frames} is not 1 + k·${model.temporal_compression} (temporal_compression)`);
  if (train.crop % model.spatial_compression !== 0) throw new FileError(source, `train.crop: ${train.crop} is not a multiple of ${model.spatial_compression} (spatial_compression)`);
  return r.data;
}

/** Read and validate a config file. */
export async function readVAERunConfig(file: string): Promise<VAERunConfig> {
  return parseVAERunConfig(await readJsonFile(file, 'cannot read file'), file);
}

export interface StepMetrics {
  loss: number;
  rec: number;
  kl: number;
  /** PSNR (dB) of clip(x̂) against x on the 0..1 scale. */
  psnr: number;
  gradNorm: number;
}

/** PSNR in dB from the mean squared error on [−1, 1] (peak-to-peak 2). */
export function psnrFromMse(mse: number): number {
  return 10 * Math.log10(4 / Math.max(mse, 1e-12));
}

/**
 * One optimisation step on a batch x (B, T, H, W, 3) in [−1, 1]: forward, backward, global-norm
 * clip and an AdamW update. ε is drawn from `rng`. Leaves no tensors behind.
 */
export function vaeTrainStep(vae: VAE, opt: AdamW, x: tf.Tensor5D, train: VAETrainConfig, lr: number, rng: Rng): StepMetrics {
  checkShape('vae train batch', x.shape, [null, null, null, null, 3]);
  const names = new Map<string, string>();
  for (const [k, v] of vae.params) names.set(v.name, k);
  const vars = [...vae.params.values()];
  const [b, t, h, w] = x.shape;
  const latent = [b, ...latentShape(vae.config, t, h, w)]; // (B, T', H', W', C)
  const eps = tf.tensor(rng.normals(latent.reduce((a, b) => a * b, 1)), latent); // (B, T', H', W', C)
  let aux: tf.Tensor[] = [];
  try {
    const { value, grads } = tf.variableGrads(() => {
      const { mean, logvar } = vae.encode(x); // (B, T', H', W', C)
      const zt = tf.add(mean, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps)) as tf.Tensor5D; // (B, T', H', W', C)
      const xh = vae.decode(zt); // (B, T, H, W, 3)
      const d = tf.sub(xh, x); // (B, T, H, W, 3)
      const pixelLoss = (e: tf.Tensor): tf.Scalar => (train.loss === 'l1' ? tf.mean(tf.abs(e)) : tf.mean(tf.square(e))) as tf.Scalar; // ()
      let rec = pixelLoss(d); // ()
      if (train.chroma_weight > 0) rec = tf.add(rec, tf.mul(pixelLoss(tf.sub(d, tf.mean(d, -1, true))), train.chroma_weight)); // ()
      const kl = tf.mul(tf.mean(tf.sub(tf.add(tf.square(mean), tf.exp(logvar)), tf.add(logvar, 1))), 0.5); // ()
      const mse = tf.mean(tf.square(tf.sub(tf.clipByValue(xh, -1, 1), x))); // () for PSNR
      aux = [tf.keep(rec), tf.keep(kl), tf.keep(mse)];
      return tf.add(rec, tf.mul(kl, train.beta_kl)) as tf.Scalar; // ()
    }, vars);
    const byName: Record<string, tf.Tensor> = {};
    for (const [vn, g] of Object.entries(grads)) byName[names.get(vn) ?? vn] = g;
    const gradNorm = globalNorm(byName);
    const clipped = clipByGlobalNorm(byName, gradNorm, train.clip_norm);
    tf.dispose(Object.values(byName));
    opt.apply(clipped, lr);
    tf.dispose(Object.values(clipped));
    const [rec, kl, mse] = aux.map((t) => t.dataSync()[0]);
    const loss = value.dataSync()[0];
    value.dispose();
    if (!Number.isFinite(loss)) throw new SpacetimeError(`VAE training diverged (loss ${loss}); lower train.lr`);
    return { loss, rec, kl, psnr: psnrFromMse(mse), gradNorm };
  } finally {
    tf.dispose([eps, ...aux]);
  }
}

export interface TrainVAEOptions {
  data: string;
  out: string;
  config: VAERunConfig;
  backend?: string;
  resume?: boolean;
  /** Called at every log step (default: progress line only). */
  log?: (step: number, m: StepMetrics & { lr: number; clipsPerSec: number }) => void;
  progress?: boolean;
}

export interface TrainVAEResult {
  step: number;
  ckpt: string;
  metrics: StepMetrics;
  clipsPerSec: number;
  seconds: number;
}

interface VAEState {
  step: number;
  rng: { s: RngState; spare: number | null };
  optimizer_step: number;
  metrics?: StepMetrics;
}

/** Train (or resume) a VAE on a clip dataset and write checkpoints into `out`. */
export async function trainVAE(opts: TrainVAEOptions): Promise<TrainVAEResult> {
  await selectBackend(opts.backend ?? 'auto');
  await ensureGradients();
  let { model, train } = opts.config;
  let start = 0;
  let rng = new Rng(train.seed);
  let resumeFrom: Awaited<ReturnType<typeof loadCheckpoint>> | null = null;
  if (opts.resume) {
    resumeFrom = await loadCheckpoint(opts.out, { files: ['model', 'optimizer'], configSchema: VAECheckpointConfigSchema });
    const cfg = resumeFrom.config as z.infer<typeof VAECheckpointConfigSchema>;
    model = cfg.model;
    train = { ...cfg.train, steps: opts.config.train.steps };
    const st = resumeFrom.state as unknown as VAEState;
    start = st.step;
    rng = Rng.fromState(st.rng);
    info(`vae train: resuming from ${resumeFrom.dir} (step ${start})`);
  }
  const vae = createVAE(model, train.seed);
  const opt = new AdamW(vae.params, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, clipNorm: train.clip_norm });
  try {
    if (resumeFrom) {
      assignParams(vae.params, resumeFrom.files.model, path.join(resumeFrom.dir, 'model.safetensors'));
      opt.loadState(resumeFrom.files.optimizer, (resumeFrom.state as unknown as VAEState).optimizer_step, path.join(resumeFrom.dir, 'optimizer.safetensors'));
    }
    const windows = await ClipWindows.open(opts.data, { frames: train.frames, crop: train.crop, cacheMb: train.cache_mb, progress: opts.progress });
    const nParams = [...vae.params.values()].reduce((s, v) => s + v.size, 0);
    info(`vae train: ${windows.size} clips, ${(nParams / 1e6).toFixed(2)}M params, windows ${train.batch}x${train.frames}x${train.crop}x${train.crop}, latent ${model.latent_channels}ch /${model.spatial_compression} /${model.temporal_compression}t`);
    const runCfg = { kind: 'spacetime-vae' as const, model, train, config_hash: configHash(model) };
    const save = async (step: number, metrics?: StepMetrics): Promise<string> => {
      const state: VAEState = { step, rng: rng.getState(), optimizer_step: opt.step, metrics };
      return saveCheckpoint(opts.out, step, { files: { model: paramsToTensors(vae.params), optimizer: opt.stateTensors() }, config: runCfg, state }, { keepLast: train.keep_last });
    };
    const bar = opts.progress === false ? null : new Progress('vae train', train.steps, { start });
    const lrCfg = { lr: train.lr, warmupSteps: train.warmup, schedule: train.schedule, minLrRatio: train.min_lr_ratio, totalSteps: train.steps };
    let metrics: StepMetrics = { loss: NaN, rec: NaN, kl: NaN, psnr: NaN, gradNorm: NaN };
    let ema: StepMetrics | null = null;
    let ckpt = '';
    const t0 = Date.now();
    let clips = 0;
    for (let step = start; step < train.steps; step++) {
      const lr = lrAt(step, lrCfg);
      const batch = await windows.sample(rng, train.batch);
      const x = tf.tensor5d(batch.data, batch.shape); // (B, T, crop, crop, 3)
      try {
        metrics = vaeTrainStep(vae, opt, x, train, lr, rng);
      } finally {
        x.dispose();
      }
      clips += train.batch;
      ema = ema ? (Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, 0.9 * ema![k as keyof StepMetrics] + 0.1 * v])) as unknown as StepMetrics) : { ...metrics };
      const clipsPerSec = clips / ((Date.now() - t0) / 1000);
      const done = step + 1;
      if (done % train.log_every === 0 || done === train.steps) {
        opts.log?.(done, { ...metrics, lr, clipsPerSec });
        bar?.update(done, `loss ${ema.loss.toFixed(4)} psnr ${ema.psnr.toFixed(1)}dB ${clipsPerSec.toFixed(2)} clips/s`);
      }
      if (done % train.ckpt_every === 0 || done === train.steps) ckpt = await save(done, metrics);
    }
    bar?.finish(`loss ${metrics.loss.toFixed(4)} psnr ${metrics.psnr.toFixed(1)}dB`);
    if (!ckpt) ckpt = await save(start, metrics);
    const seconds = (Date.now() - t0) / 1000;
    return { step: Math.max(start, train.steps), ckpt, metrics, clipsPerSec: clips / Math.max(seconds, 1e-9), seconds };
  } finally {
    opt.dispose();
    vae.dispose();
  }
}

/** Encode + decode (posterior mean) and return the PSNR in dB: x (B, T, H, W, 3) in [−1, 1]. */
export function reconstructionPsnr(vae: VAE, x: tf.Tensor5D): number {
  const mse = tf.tidy(() => {
    const xh = vae.decode(vae.encode(x).mean); // (B, T, H, W, 3)
    return tf.mean(tf.square(tf.sub(tf.clipByValue(xh, -1, 1), x))).dataSync()[0]; // () → number
  });
  return psnrFromMse(mse);
}
