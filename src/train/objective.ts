// Training objectives (STYLE.md §2: the model is an argument; the objective knows nothing of its
// insides, after DiT's `training_losses(model, …)`).
// - Rectified flow (Liu et al. 2022; SD3, Esser et al. 2024): x_t = (1 − t)·x0 + t·ε, target
//   v = ε − x0, t = shift(sigmoid(u)), u ~ N(m, s) (logit-normal), shift = base·sqrt(N/N_ref) over
//   the clip's spacetime token count N (SD3 §5.3.2 resolution shift, applied to duration × area as
//   in Open-Sora 2.0).
// - DDPM (Ho et al. 2020): x_k = √ᾱ·x0 + √(1−ᾱ)·ε with target ε, or v = √ᾱ·ε − √(1−ᾱ)·x0
//   (Salimans & Ho 2022); ᾱ from schedule.ts (linear, cosine, zero terminal SNR).
// - Weighting: uniform, or min-SNR-γ (Hang et al. 2023) expressed on each target: the x0-space
//   weight min(SNR, γ) converted to ε (÷SNR), DDPM v (÷(SNR+1)) or RF v (×t²).
// - Frame-mask conditioning: per sample a set of clean latent frames (none / first / last /
//   first+last / random prefix / random suffix) that stay clean in x_t and are excluded from the
//   loss; caption dropout and a separate conditioning dropout train the unconditional branches
//   for classifier-free guidance. Padding (`valid` = 0) is excluded from the loss.
// - Motion weighting (optional, `motionWeight` α): a per-position weight 1 + α·max(0, d − m_t)/s
//   from the clean latents: d = the position's RMS (over channels) distance from its temporal mean,
//   m_t = the median of d over frame t's positions (the static background's level; it also absorbs
//   the causal VAE's single-image first latent frame, which differs from the others everywhere),
//   s = the clip's RMS distance from its per-channel mean. Background gets weight 1, the cells that
//   moving objects cover or pass through more; each sample's loss is the weighted mean over its loss
//   positions. (Our own heuristic for small moving objects that are a few % of the positions; with
//   α = 0 the loss is exactly the unweighted one.)
// All randomness is drawn in plain JS from the serialisable Rng (bit-exact resume).
import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser, TextCond } from '../model/types.js';
import type { Rng } from '../util/rng.js';
import { checkShape } from '../util/shape.js';
import type { CondModes, ObjectiveConfig } from './objective-config.js';
import { alphaBars, ddpmModelTime, shiftTime, tokenShift } from './schedule.js';

/** One sample's noise-process draw: x_t = a·x0 + b·ε, target = ca·x0 + cb·ε, model time t. */
export interface Draw {
  t: number;
  a: number;
  b: number;
  ca: number;
  cb: number;
  /** Loss weight (1 for uniform). */
  w: number;
}

/** Everything random about one batch. */
export interface BatchDraw {
  draws: Draw[]; // (B)
  noise: Float32Array; // (B·T·H·W·C) standard normal
  condMask: Float32Array; // (B·T) 1 = clean conditioning frame
  dropText: Float32Array; // (B) 1 = use the empty caption
}

const cache = new Map<string, Float64Array>();
function abFor(cfg: ObjectiveConfig): Float64Array {
  const key = JSON.stringify(cfg.ddpm);
  let ab = cache.get(key);
  if (!ab) {
    ab = alphaBars(cfg.ddpm);
    cache.set(key, ab);
  }
  return ab;
}

/** The RF shift for a clip of `tokens` spacetime tokens. */
export function rfShift(tokens: number, cfg: ObjectiveConfig): number {
  return cfg.rf.shiftByTokens ? tokenShift(tokens, cfg.rf.shiftBase, cfg.rf.shiftRefTokens) : cfg.rf.shiftBase;
}

/** The draw at a given noise level: RF time t ∈ [0, 1], or for DDPM the timestep nearest t·T. */
export function drawAt(level: number, cfg: ObjectiveConfig): Draw {
  const gamma = cfg.minSnrGamma;
  const minSnr = cfg.weighting === 'min-snr';
  if (cfg.kind === 'rf') {
    const t = Math.min(Math.max(level, 1e-5), 1 - 1e-5);
    const snr = ((1 - t) / t) ** 2;
    return { t, a: 1 - t, b: t, ca: -1, cb: 1, w: minSnr ? t * t * Math.min(snr, gamma) : 1 };
  }
  const T = cfg.ddpm.trainSteps;
  const k = Math.min(T - 1, Math.max(0, Math.round(level * T) - 1));
  const ab = abFor(cfg)[k];
  const a = Math.sqrt(ab);
  const b = Math.sqrt(1 - ab);
  const snr = ab / Math.max(1 - ab, 1e-12);
  const v = cfg.ddpm.prediction === 'v';
  const w = !minSnr ? 1 : v ? Math.min(snr, gamma) / (snr + 1) : Math.min(snr, gamma) / Math.max(snr, 1e-12);
  return { t: ddpmModelTime(k, T), a, b, ca: v ? -b : 0, cb: v ? a : 1, w };
}

/** Draw a noise level for one clip of `tokens` tokens. */
export function drawLevel(tokens: number, rng: Rng, cfg: ObjectiveConfig): Draw {
  if (cfg.kind === 'rf') {
    // The mixture draw comes first and only when uniformMix > 0, so runs without it keep their stream.
    const uniform = cfg.rf.uniformMix > 0 && rng.uniform() < cfg.rf.uniformMix;
    const t0 = uniform ? rng.uniform() : 1 / (1 + Math.exp(-(cfg.rf.logitMean + cfg.rf.logitStd * rng.normal())));
    const t = shiftTime(t0, rfShift(tokens, cfg));
    return drawAt(t, cfg);
  }
  const T = cfg.ddpm.trainSteps;
  return drawAt((rng.int(T) + 1) / T, cfg);
}

/**
 * Motion weights (T·H·W) of one clip x0 (T, H, W, C): 1 + α·max(0, d − m_t)/s (see the header).
 * All ones for α = 0, a single frame or a constant clip.
 */
export function motionWeights(x0: ArrayLike<number>, shape: readonly number[], alpha: number): Float32Array {
  const [T, H, W, C] = shape;
  const P = H * W;
  const w = new Float32Array(T * P).fill(1);
  if (!(alpha > 0) || T < 2) return w;
  const chanMean = new Float64Array(C);
  const mu = new Float64Array(P * C); // temporal mean per (h, w, c)
  for (let t = 0; t < T; t++)
    for (let q = 0; q < P * C; q++) {
      const v = x0[t * P * C + q];
      mu[q] += v / T;
      chanMean[q % C] += v / (T * P);
    }
  let spread = 0;
  for (let i = 0; i < T * P * C; i++) spread += (x0[i] - chanMean[i % C]) ** 2;
  const s = Math.sqrt(spread / (T * P * C));
  if (!(s > 0)) return w;
  const d = new Float64Array(P);
  for (let t = 0; t < T; t++) {
    for (let p = 0; p < P; p++) {
      let acc = 0;
      for (let c = 0; c < C; c++) acc += (x0[(t * P + p) * C + c] - mu[p * C + c]) ** 2;
      d[p] = Math.sqrt(acc / C);
    }
    const m = median(d);
    for (let p = 0; p < P; p++) w[t * P + p] = 1 + (alpha * Math.max(0, d[p] - m)) / s;
  }
  return w;
}

/** The median of a sample (the lower middle value for an even count). */
function median(v: Float64Array): number {
  const sorted = Float64Array.from(v).sort();
  return sorted[(sorted.length - 1) >> 1];
}

/** motionWeights for every clip of a batch (B, T, H, W, C) → (B·T·H·W). */
export function batchMotionWeights(x0: Float32Array, shape: readonly number[], alpha: number): Float32Array {
  const [B, T, H, W, C] = shape;
  const per = T * H * W * C;
  const out = new Float32Array(B * T * H * W);
  for (let b = 0; b < B; b++) out.set(motionWeights(x0.subarray(b * per, (b + 1) * per), [T, H, W, C], alpha), b * T * H * W);
  return out;
}

const MODES = ['none', 'first', 'last', 'firstLast', 'prefix', 'suffix'] as const;

/** A per-frame conditioning mask (T) drawn from the mode probabilities; never all frames. */
export function sampleCondMask(T: number, rng: Rng, modes: CondModes, dropout: number): Float32Array {
  const m = new Float32Array(T);
  const total = MODES.reduce((s, k) => s + modes[k], 0);
  let u = rng.uniform() * total;
  let mode: (typeof MODES)[number] = 'none';
  for (const k of MODES) {
    if (u < modes[k]) {
      mode = k;
      break;
    }
    u -= modes[k];
  }
  const drop = rng.uniform() < dropout;
  if (T < 2 || drop) return m;
  switch (mode) {
    case 'first':
      m[0] = 1;
      break;
    case 'last':
      m[T - 1] = 1;
      break;
    case 'firstLast':
      if (T >= 3) m[0] = m[T - 1] = 1;
      else m[0] = 1;
      break;
    case 'prefix':
      m.fill(1, 0, 1 + rng.int(T - 1));
      break;
    case 'suffix':
      m.fill(1, T - 1 - rng.int(T - 1));
      break;
    case 'none':
      break;
  }
  return m;
}

/** Draw everything random for a grid batch of shape (B, T, H, W, C) with `tokens` tokens per clip. */
export function drawBatch(shape: readonly number[], tokens: number, rng: Rng, cfg: ObjectiveConfig): BatchDraw {
  const [B, T] = shape;
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const draws: Draw[] = [];
  const condMask = new Float32Array(B * T);
  const dropText = new Float32Array(B);
  for (let i = 0; i < B; i++) {
    draws.push(drawLevel(tokens, rng, cfg));
    condMask.set(sampleCondMask(T, rng, cfg.condModes, cfg.condDropout), i * T);
    dropText[i] = rng.uniform() < cfg.captionDropout ? 1 : 0;
  }
  return { draws, noise: rng.normals(B * per), condMask, dropText };
}

/** Replace the text of samples with dropText = 1 by the (1, L, E) empty-caption embedding. */
export function dropCaptions(text: TextCond, nullText: TextCond | undefined, dropText: Float32Array): TextCond {
  if (!dropText.some((d) => d > 0)) return text;
  if (!nullText) throw new RangeError('caption dropout needs the empty-caption embedding (nullText)');
  const [B, L, E] = text.emb.shape;
  checkShape('nullText.emb', nullText.emb.shape, [1, L, E]);
  return tf.tidy(() => {
    const d = tf.tensor1d(dropText);
    const emb = tf.add(tf.mul(text.emb, tf.reshape(tf.sub(1, d), [B, 1, 1])), tf.mul(nullText.emb, tf.reshape(d, [B, 1, 1]))) as tf.Tensor3D; // (B, L, E)
    const mask = tf.add(tf.mul(text.mask, tf.reshape(tf.sub(1, d), [B, 1])), tf.mul(nullText.mask, tf.reshape(d, [B, 1]))) as tf.Tensor2D; // (B, L)
    return { emb, mask };
  });
}

export interface GridBatch {
  x0: tf.Tensor5D; // (B, T, H, W, C) clean latents
  text: TextCond; // (B, L, E)
  /** Empty-caption embedding (1, L, E), needed when captionDropout > 0. */
  nullText?: TextCond;
  /** 1 = real latent position, 0 = padding. Absent = all valid. */
  valid?: tf.Tensor4D; // (B, T, H, W)
  /** Per-position loss weights (motionWeights). Absent = uniform. */
  posWeight?: tf.Tensor4D; // (B, T, H, W)
}

export interface LossOut {
  loss: tf.Scalar;
  /** Per-sample mean squared error on its loss positions (unweighted). */
  perSample: tf.Tensor1D; // (B)
}

/**
 * The loss for a drawn batch. Call inside tf.variableGrads; tensors are tidied by the caller.
 * Conditioning frames are clean in x_t and masked out of the loss, as is padding.
 */
export function lossFromDraw(model: Denoiser, batch: GridBatch, draw: BatchDraw): LossOut {
  const env = checkShape('x0', batch.x0.shape, ['B', 'T', 'H', 'W', 'C']);
  const { B, T, H, W } = env;
  if (batch.valid) checkShape('valid', batch.valid.shape, [B, T, H, W]);
  const col = (k: 'a' | 'b' | 'ca' | 'cb' | 'w') => tf.tensor1d(draw.draws.map((d) => d[k]));
  const b5 = (x: tf.Tensor) => tf.reshape(x, [B, 1, 1, 1, 1]);
  const eps = tf.tensor(draw.noise, batch.x0.shape) as tf.Tensor5D; // (B, T, H, W, C)
  const m = tf.tensor2d(draw.condMask, [B, T]); // (B, T)
  const m5 = tf.reshape(m, [B, T, 1, 1, 1]);
  const noisy = tf.add(tf.mul(b5(col('a')), batch.x0), tf.mul(b5(col('b')), eps)); // (B, T, H, W, C)
  const xt = tf.add(tf.mul(noisy, tf.sub(1, m5)), tf.mul(batch.x0, m5)) as tf.Tensor5D; // clean cond frames
  const target = tf.add(tf.mul(b5(col('ca')), batch.x0), tf.mul(b5(col('cb')), eps)); // (B, T, H, W, C)
  const text = dropCaptions(batch.text, batch.nullText, draw.dropText);
  const t = tf.tensor1d(draw.draws.map((d) => d.t)); // (B)
  const pred = model.grid({ xt, t, text, condMask: m });
  checkShape('model output', pred.shape, [B, T, H, W, env.C]);
  const se = tf.mean(tf.square(tf.sub(pred, target)), -1); // (B, T, H, W)
  let lossMask: tf.Tensor = tf.tile(tf.reshape(tf.sub(1, m), [B, T, 1, 1]), [1, 1, H, W]); // (B, T, H, W)
  if (batch.valid) lossMask = tf.mul(lossMask, batch.valid);
  const count = tf.sum(lossMask, [1, 2, 3]); // (B)
  const perSample = tf.div(tf.sum(tf.mul(se, lossMask), [1, 2, 3]), tf.maximum(count, 1)) as tf.Tensor1D; // (B)
  const has = tf.cast(tf.greater(count, 0), 'float32'); // (B)
  let weighted: tf.Tensor = perSample; // (B) each sample's (weighted) mean over its loss positions
  if (batch.posWeight) {
    checkShape('posWeight', batch.posWeight.shape, [B, T, H, W]);
    const wm = tf.mul(lossMask, batch.posWeight); // (B, T, H, W)
    weighted = tf.div(tf.sum(tf.mul(se, wm), [1, 2, 3]), tf.maximum(tf.sum(wm, [1, 2, 3]), 1e-12));
  }
  const loss = tf.div(tf.sum(tf.mul(tf.mul(weighted, col('w')), has)), tf.maximum(tf.sum(has), 1)) as tf.Scalar;
  return { loss, perSample };
}

/** Draw and compute the loss: trainingLoss(model, batch, rng, cfg). */
export function trainingLoss(model: Denoiser, batch: GridBatch, tokens: number, rng: Rng, cfg: ObjectiveConfig): LossOut & { draw: BatchDraw } {
  const draw = drawBatch(batch.x0.shape, tokens, rng, cfg);
  return { ...lossFromDraw(model, batch, draw), draw };
}

/**
 * A batch draw at a fixed noise level with no conditioning frames and no caption dropout: the
 * validation loss per timestep of Open-Sora (evaluated at fixed t so curves are comparable).
 */
export function fixedLevelDraw(shape: readonly number[], level: number, rng: Rng, cfg: ObjectiveConfig): BatchDraw {
  const [B, T] = shape;
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const d = { ...drawAt(level, cfg), w: 1 };
  return { draws: Array.from({ length: B }, () => d), noise: rng.normals(B * per), condMask: new Float32Array(B * T), dropText: new Float32Array(B) };
}
