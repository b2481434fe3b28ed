// 3-D rotary position embedding over (t, h, w) patch positions (RoFormer, Su et al. 2021,
// extended to three axes as in video DiTs). The head dimension dh is seen as dh/2 rotation pairs,
// "half-split" layout (GPT-NeoX): pair i rotates dims (i, i + dh/2). The pairs are divided among
// the axes by `split = [nt, nh, nw]` (nt + nh + nw = dh/2): pairs [0, nt) rotate by the time
// position, the next nh by the row, the last nw by the column. Inside an axis with n pairs, pair j
// has frequency θ^(−j/n) (RoFormer's θ^(−2j/d) with d = 2n). Positions are multiplied by
// `scale = [st, sh, sw]` first (position interpolation, Chen et al. 2023, for clips longer or
// larger than those seen in training).
//
// Rotation as x·cos + rot(x)·sin with rot(x) = (−x₂, x₁): the halves are swapped by a product with
// a fixed (dh, dh) permutation matrix Π (its own transpose, so the gradient is dy·Π) and the sign
// lives in the sin table: only matMul, reshape, mul and add. (The wasm Reverse kernel that would
// swap the halves directly measured ~20× slower than this product.)
import * as tf from '@tensorflow/tfjs-core';
import { SpacetimeError } from '../util/errors.js';

export interface RopeConfig {
  split: readonly [number, number, number];
  theta: number;
  scale: readonly [number, number, number];
}

/** Per-pair (axis, frequency) for a head of `2·sum(split)` dims. */
export function ropeFrequencies(cfg: RopeConfig): { axis: Int32Array; freq: Float64Array } {
  const half = cfg.split[0] + cfg.split[1] + cfg.split[2];
  const axis = new Int32Array(half);
  const freq = new Float64Array(half);
  let i = 0;
  for (let a = 0; a < 3; a++) {
    const n = cfg.split[a];
    for (let j = 0; j < n; j++, i++) {
      axis[i] = a;
      freq[i] = Math.pow(cfg.theta, -j / n);
    }
  }
  return { axis, freq };
}

/**
 * cos and signed-sin tables for M tokens with positions `pos` (M·3, (t, h, w) per token), as host
 * arrays (the ONNX pipeline feeds them to the exported graph):
 * cos (M, dh) = [cos φ, cos φ], sin (M, dh) = [−sin φ, sin φ], φ (M, dh/2) the pair angles.
 */
export function ropeTablesData(pos: Int32Array, headDim: number, cfg: RopeConfig): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  if (cfg.split[0] + cfg.split[1] + cfg.split[2] !== half) {
    throw new SpacetimeError(`rope.split [${cfg.split.join(', ')}] must sum to head dim / 2 = ${half}`);
  }
  const m = pos.length / 3;
  const { axis, freq } = ropeFrequencies(cfg);
  const c = new Float32Array(m * headDim);
  const s = new Float32Array(m * headDim);
  for (let n = 0; n < m; n++) {
    for (let i = 0; i < half; i++) {
      const a = axis[i];
      const phi = pos[n * 3 + a] * cfg.scale[a] * freq[i];
      const cv = Math.cos(phi);
      const sv = Math.sin(phi);
      c[n * headDim + i] = cv;
      c[n * headDim + half + i] = cv;
      s[n * headDim + i] = -sv;
      s[n * headDim + half + i] = sv;
    }
  }
  return { cos: c, sin: s };
}

/** ropeTablesData as tensors: cos, sin (M, dh). */
export function ropeTables(pos: Int32Array, headDim: number, cfg: RopeConfig): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const { cos, sin } = ropeTablesData(pos, headDim, cfg);
  const m = pos.length / 3;
  return { cos: tf.tensor2d(cos, [m, headDim]), sin: tf.tensor2d(sin, [m, headDim]) };
}

/**
 * Rotate x (B, N, H, dh) by per-token tables cos, sin (B·N, dh) from ropeTables.
 * out = x·cos + swap(x)·sin, swap(x) = (x₂, x₁) (the sign lives in the sin table).
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const [b, n, h, dh] = x.shape;
  return tf.tidy(() => {
    const c = tf.reshape(cos, [b, n, 1, dh]); // (B, N, 1, dh)
    const s = tf.reshape(sin, [b, n, 1, dh]); // (B, N, 1, dh)
    const swapped = tf.reshape(swapHalves(tf.reshape(x, [b * n * h, dh]) as tf.Tensor2D), [b, n, h, dh]); // (B, N, H, dh) = (x₂, x₁)
    return tf.add(tf.mul(x, c), tf.mul(swapped, s)) as tf.Tensor4D; // (B, N, H, dh)
  });
}

const swaps = new Map<number, Float32Array>();

/** The (dh, dh) permutation that swaps the two halves of a row: (x₁, x₂)·Π = (x₂, x₁). */
function swapMatrix(dh: number): tf.Tensor2D {
  let m = swaps.get(dh);
  if (!m) {
    m = new Float32Array(dh * dh);
    const half = dh / 2;
    for (let i = 0; i < half; i++) {
      m[i * dh + half + i] = 1;
      m[(half + i) * dh + i] = 1;
    }
    swaps.set(dh, m);
  }
  return tf.tensor2d(m, [dh, dh]);
}

/** (x₁, x₂) → (x₂, x₁) per row: x (M, dh) · Π; gradient dy·Π (Π is symmetric). */
const swapHalves: (x: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(((x: tf.Tensor2D) => {
  const pm = swapMatrix(x.shape[1]);
  const value = tf.matMul(x, pm); // (M, dh)
  pm.dispose();
  const gradFunc = (dy: tf.Tensor2D) => {
    const p2 = swapMatrix(dy.shape[1]);
    const dx = tf.matMul(dy, p2); // (M, dh)
    p2.dispose();
    return [dx];
  };
  return { value, gradFunc };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
