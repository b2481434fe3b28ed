// Conditioning embeddings of the DiT (Peebles & Xie 2023, §3.2 "adaLN-Zero"): the timestep goes
// through sinusoidal features (Vaswani et al. 2017; DiT's TimestepEmbedder, t scaled to [0, 1000])
// and a two-layer SiLU MLP; the optional pooled text embedding (a masked mean of the caption
// tokens, linearly projected, as SD3's pooled vector, Esser et al. 2024; and/or the first token's
// output, as CLIP's and GLIDE's single-token summaries, Radford et al. 2021, Nichol et al. 2022)
// is added to it. Caption tokens are projected to the model width by a GELU MLP (PixArt-α's
// caption projection, Chen et al. 2023) before cross-attention.
import * as tf from '@tensorflow/tfjs-core';
import { linear, transpose2d } from './linear.js';
import { geluTanh, silu } from './norm.js';
import { param } from './params.js';
import { textPoolParts, type TextPool } from './presets.js';
import type { ParamStore, TextCond } from './types.js';

/** Sinusoidal features [cos(1000·t·f), sin(1000·t·f)], f_i = 10000^(−i/half). t (M,) → (M, F). */
export function timestepFeatures(t: tf.Tensor1D, freqDim: number): tf.Tensor2D {
  const half = freqDim / 2;
  const f = new Float32Array(half);
  for (let i = 0; i < half; i++) f[i] = Math.exp((-Math.log(10000) * i) / half);
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.mul(t, 1000), [-1, 1]), tf.tensor2d(f, [1, half])); // (M, F/2)
    return tf.concat([tf.cos(args), tf.sin(args)], 1) as tf.Tensor2D; // (M, F)
  });
}

/** Timestep embedding: MLP(features(t)). t (M,) → (M, D). */
export function timestepEmbed(p: ParamStore, t: tf.Tensor1D, freqDim: number): tf.Tensor2D {
  return tf.tidy(() => {
    const h = silu(linear(timestepFeatures(t, freqDim), param(p, 't_embed.fc1.weight'), param(p, 't_embed.fc1.bias'))); // (M, D)
    return linear(h, param(p, 't_embed.fc2.weight'), param(p, 't_embed.fc2.bias')); // (M, D)
  });
}

/**
 * Pooled text vector: the masked mean over the text tokens (mode 'mean'), the first token times
 * its mask entry ('first'), or the sum of both projections ('mean+first'), each through its own
 * linear layer (text_pool, text_first). emb (M, L, E), mask (M, L) → (M, D).
 */
export function pooledTextEmbed(p: ParamStore, text: TextCond, mode: TextPool = 'mean'): tf.Tensor2D {
  const pool = textPoolParts(mode);
  return tf.tidy(() => {
    const [mm, , e] = text.emb.shape;
    const parts: tf.Tensor2D[] = [];
    if (pool.mean) {
      const m = tf.expandDims(text.mask, -1); // (M, L, 1)
      const sum = tf.sum(tf.mul(text.emb, m), 1); // (M, E)
      const cnt = tf.maximum(tf.sum(m, 1), 1); // (M, 1)
      parts.push(linear(tf.div(sum, cnt) as tf.Tensor2D, param(p, 'text_pool.weight'), param(p, 'text_pool.bias'))); // (M, D)
    }
    if (pool.first) {
      const first = tf.mul(tf.reshape(tf.slice(text.emb, [0, 0, 0], [mm, 1, e]), [mm, e]), tf.slice(text.mask, [0, 0], [mm, 1])) as tf.Tensor2D; // (M, E)
      parts.push(linear(first, param(p, 'text_first.weight'), param(p, 'text_first.bias'))); // (M, D)
    }
    return parts.length === 1 ? parts[0] : (tf.add(parts[0], parts[1]) as tf.Tensor2D);
  });
}

/** Caption projection: GELU MLP on each text token. emb (M, L, E) → (M, L, D). */
export function captionEmbed(p: ParamStore, emb: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const h = geluTanh(linear(emb, param(p, 'y_embed.fc1.weight'), param(p, 'y_embed.fc1.bias'))); // (M, L, D)
    return linear(h, param(p, 'y_embed.fc2.weight'), param(p, 'y_embed.fc2.bias')); // (M, L, D)
  });
}

/**
 * Per-token copies of per-slot vectors: a one-hot (B·N, B·S) selection times v (B·S, X) → (B·N, X).
 * One 2-D product instead of a gather (whose gradient needs a scatter the wasm backend lacks).
 * Gradient (only v's; the selection is a constant): dvᵀ = dyᵀ·onehot. The right operand of a wasm
 * matMul is packed afresh per tensor: onehotᵀ·dy packs all of dy (~1.4 ms at 1024×256), while
 * packing the (B·N, B·S) selection is nearly free and the tiled transpose of dy costs ~0.3 ms.
 */
export function expandSlots(onehot: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((vi: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([onehot]); // the caller may dispose it before the backward pass
    const gradFunc = (dy: tf.Tensor2D, saved: tf.Tensor[]) => [tf.transpose(tf.matMul(transpose2d(dy), saved[0] as tf.Tensor2D))]; // (X, B·N)·(B·N, B·S) → (B·S, X)
    return { value: tf.matMul(onehot, vi), gradFunc }; // (B·N, X)
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (f as unknown as (x: tf.Tensor2D) => tf.Tensor2D)(v);
}

/** The one-hot token→slot matrix for B rows of N tokens with segment ids (−1 → slot 0). */
export function slotOneHot(segment: Int32Array, b: number, n: number, s: number): tf.Tensor2D {
  const oh = new Float32Array(b * n * b * s);
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < n; i++) {
      const seg = Math.max(0, segment[r * n + i]);
      oh[(r * n + i) * (b * s) + r * s + seg] = 1;
    }
  }
  return tf.tensor2d(oh, [b * n, b * s]);
}
