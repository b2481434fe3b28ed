// Building blocks of the (2+1)-D causal video VAE (vae.ts): per-frame group norm, SiLU,
// spatial 3×3 conv on (B·T, H, W, C), causal temporal conv as a (k, 1) conv2d over
// (B, T, H·W, C), residual block, and the spatial / temporal down- and up-samplers.
// Factorised spatial + temporal convolutions follow R(2+1)D (Tran et al., "A Closer Look at
// Spatiotemporal Convolutions for Action Recognition", CVPR 2018); causal time padding, so an
// image is a one-frame video, follows MAGVIT-v2 (Yu et al., "Language Model Beats Diffusion —
// Tokenizer is Key to Visual Generation", ICLR 2024); the block layout follows the LDM
// autoencoder (Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion Models",
// CVPR 2022). Only ONNX-exportable ops: conv, add, mul, reshape, transpose, sigmoid, mean, pad,
// slice, concat.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from './types.js';
import { Rng } from '../util/rng.js';
import { conv2d } from './conv.js';

/** Creates parameters in a ParamStore under dotted names (the safetensors keys). */
export class ParamBuilder {
  constructor(
    readonly params: ParamStore,
    private readonly rng: Rng,
  ) {}

  /** A conv with weight (kh, kw, Ci, Co) ~ N(0, 1/fan_in)·gain and zero bias (`<name>.weight`, `<name>.bias`). */
  conv(name: string, kh: number, kw: number, ci: number, co: number, gain = 1): void {
    const fanIn = kh * kw * ci;
    const w = this.rng.normals(kh * kw * ci * co);
    const std = gain / Math.sqrt(fanIn);
    for (let i = 0; i < w.length; i++) w[i] *= std;
    this.add(`${name}.weight`, tf.tensor4d(w, [kh, kw, ci, co]));
    this.add(`${name}.bias`, tf.zeros([co]));
  }

  /** A group norm's affine parameters: `<name>.weight` = 1, `<name>.bias` = 0, both (C,). */
  norm(name: string, c: number): void {
    this.add(`${name}.weight`, tf.ones([c]));
    this.add(`${name}.bias`, tf.zeros([c]));
  }

  private add(name: string, t: tf.Tensor): void {
    if (this.params.has(name)) throw new Error(`duplicate parameter ${name}`);
    // tfjs variable names are process-global, so two models may coexist: keep tfjs's own
    // unique name and use the ParamStore key as the parameter's name.
    this.params.set(name, tf.variable(t, true));
    t.dispose();
  }
}

/** Structural settings the blocks need. */
export interface BlockSettings {
  groups: number;
  temporalKernel: number;
  eps: number;
}

function p(params: ParamStore, name: string): tf.Variable {
  const v = params.get(name);
  if (!v) throw new Error(`missing VAE parameter ${name}`);
  return v;
}

/** SiLU(x) = x·σ(x) (Elfwing et al., 2018). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

/** Bias add over the last axis. */
function addBias<T extends tf.Tensor>(x: T, params: ParamStore, name: string): T {
  return tf.add(x, p(params, `${name}.bias`));
}

/**
 * Group norm computed per frame (Wu & He, "Group Normalization", 2018): statistics over
 * (H, W, C/G) of each (b, t), never across time, so the encoder stays causal.
 * y = (x − mean) / sqrt(var + eps) · weight + bias, var = mean((x − mean)²).
 */
export function groupNorm(x: tf.Tensor5D, params: ParamStore, name: string, s: BlockSettings): tf.Tensor5D {
  const [b, t, h, w, c] = x.shape;
  const g = Math.min(s.groups, c);
  const xg = tf.reshape(x, [b * t, h * w, g, c / g]); // (B·T, H·W, G, C/G)
  const mean = tf.mean(xg, [1, 3], true); // (B·T, 1, G, 1)
  const d = tf.sub(xg, mean); // (B·T, H·W, G, C/G)
  const v = tf.mean(tf.mul(d, d), [1, 3], true); // (B·T, 1, G, 1)
  const y = tf.reshape(tf.mul(d, tf.rsqrt(tf.add(v, s.eps))), [b, t, h, w, c]); // (B, T, H, W, C)
  return tf.add(tf.mul(y, p(params, `${name}.weight`)), p(params, `${name}.bias`)); // (B, T, H, W, C)
}

/** Spatial k×k conv on every frame, 'same' zero padding (stride 1) or LDM-style (0, 1) padding (stride 2). */
export function spatialConv(x: tf.Tensor5D, params: ParamStore, name: string, stride = 1): tf.Tensor5D {
  const [b, t, h, w, c] = x.shape;
  const k = p(params, `${name}.weight`) as tf.Variable<tf.Rank.R4>; // (k, k, Ci, Co)
  const kk = k.shape[0];
  const lo = stride === 1 ? (kk - 1) >> 1 : 0;
  const hi = stride === 1 ? kk - 1 - lo : 1;
  const y = conv2d(tf.reshape(x, [b * t, h, w, c]), k, { stride: [stride, stride], pad: [[lo, hi], [lo, hi]] }); // (B·T, H/s, W/s, Co)
  return addBias(tf.reshape(y, [b, t, y.shape[1], y.shape[2], y.shape[3]]), params, name); // (B, T, H/s, W/s, Co)
}

/**
 * Causal temporal conv: a (k, 1) conv2d over (B, T, H·W, C) with k−1 zero frames padded in
 * the past only, so output frame i sees input frames ≤ i·stride. T → floor((T − 1)/stride) + 1.
 */
export function temporalConv(x: tf.Tensor5D, params: ParamStore, name: string, stride = 1): tf.Tensor5D {
  const [b, t, h, w, c] = x.shape;
  const k = p(params, `${name}.weight`) as tf.Variable<tf.Rank.R4>; // (kt, 1, Ci, Co)
  const kt = k.shape[0];
  const y = conv2d(tf.reshape(x, [b, t, h * w, c]), k, { stride: [stride, 1], pad: [[kt - 1, 0], [0, 0]] }); // (B, T', H·W, Co)
  return addBias(tf.reshape(y, [b, y.shape[1], h, w, y.shape[3]]), params, name); // (B, T', H, W, Co)
}

/** Declare a residual block's parameters. */
export function declareResBlock(pb: ParamBuilder, name: string, ci: number, co: number, s: BlockSettings): void {
  pb.norm(`${name}.norm1`, ci);
  pb.conv(`${name}.conv1`, 3, 3, ci, co);
  pb.norm(`${name}.norm2`, co);
  pb.conv(`${name}.tconv`, s.temporalKernel, 1, co, co, 0.5);
  if (ci !== co) pb.conv(`${name}.skip`, 1, 1, ci, co);
}

/**
 * Residual (2+1)-D block:
 *   h = conv1(silu(norm1(x)))            spatial 3×3, Ci → Co
 *   h = tconv(silu(norm2(h)))            causal temporal (kt, 1), Co → Co
 *   y = skip(x) + h                      skip = 1×1 conv when Ci ≠ Co, identity otherwise
 */
export function resBlock(x: tf.Tensor5D, params: ParamStore, name: string, s: BlockSettings): tf.Tensor5D {
  let h = spatialConv(silu(groupNorm(x, params, `${name}.norm1`, s)), params, `${name}.conv1`); // (B, T, H, W, Co)
  h = temporalConv(silu(groupNorm(h, params, `${name}.norm2`, s)), params, `${name}.tconv`); // (B, T, H, W, Co)
  const skip = params.has(`${name}.skip.weight`) ? spatialConv(x, params, `${name}.skip`) : x; // (B, T, H, W, Co)
  return tf.add(skip, h); // (B, T, H, W, Co)
}

/**
 * Sum of the s equal parts of axis 1 of a (A, s·K, R) tensor → (A, K, R), written as contiguous
 * slices and adds (the gradient of repeat-style upsampling; autodiff of concat would use a
 * strided split, which is slow on wasm).
 */
function foldSum(x: tf.Tensor3D, s: number): tf.Tensor3D {
  const [a, sk, r] = x.shape;
  const k = sk / s;
  const x4 = tf.reshape(x, [a, k, s, r]); // (A, K, s, R)
  let acc = tf.slice(x4, [0, 0, 0, 0], [a, k, 1, r]); // (A, K, 1, R)
  for (let i = 1; i < s; i++) acc = tf.add(acc, tf.slice(x4, [0, 0, i, 0], [a, k, 1, r])); // (A, K, 1, R)
  return tf.reshape(acc, [a, k, r]); // (A, K, R)
}

type Up = (x: tf.Tensor5D) => tf.Tensor5D;

/**
 * Nearest-neighbour ×2 spatial upsampling with reshape + concat (exportable). Its gradient sums
 * each 2×2 block of dy (custom, see foldSum).
 */
export const upsampleNearest2x: Up = tf.customGrad((xIn) => {
  const x = xIn as tf.Tensor5D;
  const [b, t, h, w, c] = x.shape;
  const n = b * t;
  const x1 = tf.reshape(x, [n, h, w, 1, c]); // (B·T, H, W, 1, C)
  const xw = tf.reshape(tf.concat([x1, x1], 3), [n, h, 1, 2 * w, c]); // (B·T, H, 1, 2W, C)
  const xh = tf.concat([xw, xw], 2); // (B·T, H, 2, 2W, C)
  return {
    value: tf.reshape(xh, [b, t, 2 * h, 2 * w, c]), // (B, T, 2H, 2W, C)
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      const gh = foldSum(tf.reshape(dy as tf.Tensor, [n, 2 * h, 2 * w * c]), 2); // (B·T, H, 2W·C)
      const gw = foldSum(tf.reshape(gh, [n * h, 2 * w, c]), 2); // (B·T·H, W, C)
      return [tf.reshape(gw, [b, t, h, w, c])]; // (B, T, H, W, C)
    },
  };
}) as unknown as Up;

const timeUp = new Map<number, Up>();

/**
 * Causal nearest ×s temporal upsampling: each frame repeated s times, then the first s − 1
 * dropped, so T latent frames give 1 + (T − 1)·s frames (frame 0 stays a single frame).
 */
export function upsampleTimeCausal(x: tf.Tensor5D, s: number): tf.Tensor5D {
  let f = timeUp.get(s);
  if (!f) {
    f = tf.customGrad((xIn) => {
      const v = xIn as tf.Tensor5D;
      const [b, t, h, w, c] = v.shape;
      const x1 = tf.reshape(v, [b, t, 1, h * w * c]); // (B, T, 1, H·W·C)
      const rep = tf.concat(Array.from({ length: s }, () => x1), 2); // (B, T, s, H·W·C)
      const flat = tf.reshape(rep, [b, t * s, h, w, c]) as tf.Tensor5D; // (B, T·s, H, W, C)
      return {
        value: tf.slice(flat, [0, s - 1, 0, 0, 0], [b, (t - 1) * s + 1, h, w, c]), // (B, 1+(T−1)·s, H, W, C)
        gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
          const g = tf.reshape(dy as tf.Tensor, [b, (t - 1) * s + 1, h * w * c]); // (B, 1+(T−1)·s, H·W·C)
          const gp = tf.pad(g, [[0, 0], [s - 1, 0], [0, 0]]) as tf.Tensor3D; // (B, T·s, H·W·C)
          return [tf.reshape(foldSum(gp, s), [b, t, h, w, c])]; // (B, T, H, W, C)
        },
      };
    }) as unknown as Up;
    timeUp.set(s, f);
  }
  return f(x);
}
