// One DiT block with adaLN-Zero (Peebles & Xie 2023, §3.2), extended for text-to-video as in
// PixArt-α (Chen et al. 2023) with an ungated cross-attention to the caption tokens between the
// self-attention and the MLP, QK-norm (RMSNorm of q and k per head; Dehghani et al. 2023, SD3)
// and 3-D RoPE on the self-attention (rope.ts). With c the conditioning vector of the token's clip:
//   [β₁, γ₁, α₁, β₂, γ₂, α₂] = Linear(SiLU(c))                      (blocks.i.adaLN, zero-init)
//   h += α₁ · Proj(SelfAttn(RoPE(QKNorm(Q, K)), V)) on LN(h)·(1+γ₁)+β₁   (blocks.i.attn.*)
//   h += Proj(CrossAttn(QKNorm(Q(LN(h)), K(y)), V(y)))                   (blocks.i.cross.*)
//   h += α₂ · FC2(GELU(FC1(LN(h)·(1+γ₂)+β₂)))                            (blocks.i.mlp.*)
// Rows are flattened: activations are (B·N, D) so every linear is one 2-D product.
import * as tf from '@tensorflow/tfjs-core';
import { attend } from './attention.js';
import { expandSlots } from './embed.js';
import { linear } from './linear.js';
import { geluTanh, layerNorm, modulate, rmsNorm } from './norm.js';
import { param } from './params.js';
import { applyRope } from './rope.js';
import type { ParamStore } from './types.js';

/** Everything a block needs besides its parameters and input; built once per forward pass. */
export interface BlockContext {
  b: number; // rows
  n: number; // tokens per row
  heads: number;
  qkNorm: boolean;
  cos: tf.Tensor2D; // (B·N, dh) RoPE tables
  sin: tf.Tensor2D; // (B·N, dh)
  selfBias: tf.Tensor4D | null; // (B, 1, N, N) segment / padding mask, null = all attend
  crossBias: tf.Tensor4D; // (B, 1, N or 1, K) text mask, K = S·L
  y: tf.Tensor3D; // (B, K, D) projected caption tokens of every slot of the row
  onehot: tf.Tensor2D; // (B·N, B·S) token → clip slot
  cs: tf.Tensor2D; // (B·S, D) SiLU(c) per clip slot
}

/** Split x (B·n, H·dh) into heads, RMS-normalised per head when a gain is given: → (B, n, H, dh). */
function toHeads(x: tf.Tensor2D, b: number, n: number, heads: number, norm: tf.Tensor | null): tf.Tensor4D {
  const h4 = tf.reshape(x, [b, n, heads, x.shape[1] / heads]) as tf.Tensor4D; // (B, n, H, dh)
  return norm ? rmsNorm(h4, norm) : h4; // (B, n, H, dh)
}

/** Merge heads back: (B, H, n, dh) → (B·n, H·dh). */
function fromHeads(o: tf.Tensor4D): tf.Tensor2D {
  const [b, h, n, dh] = o.shape;
  return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b * n, h * dh]) as tf.Tensor2D; // (B·n, D)
}

/** Per-token adaLN chunks: Linear(SiLU(c)) (B·S, k·D) split into k parts, each expanded to (B·N, D). */
export function adaLNChunks(p: ParamStore, prefix: string, ctx: BlockContext, k: number): tf.Tensor2D[] {
  const mod = linear(ctx.cs, param(p, `${prefix}.weight`), param(p, `${prefix}.bias`)); // (B·S, k·D)
  return tf.split(mod, k, 1).map((m) => expandSlots(ctx.onehot, m as tf.Tensor2D)); // k × (B·N, D)
}

/** Self-attention over all tokens of a row with RoPE, QK-norm and the segment mask. */
function selfAttention(p: ParamStore, pre: string, x: tf.Tensor2D, ctx: BlockContext): tf.Tensor2D {
  const { b, n, heads } = ctx;
  const w = (name: string) => param(p, `${pre}.${name}`);
  const q = toHeads(linear(x, w('q.weight'), w('q.bias')), b, n, heads, ctx.qkNorm ? w('q_norm.weight') : null); // (B, N, H, dh)
  const k = toHeads(linear(x, w('k.weight'), w('k.bias')), b, n, heads, ctx.qkNorm ? w('k_norm.weight') : null); // (B, N, H, dh)
  const v = tf.reshape(linear(x, w('v.weight'), w('v.bias')), [b, n, heads, -1]) as tf.Tensor4D; // (B, N, H, dh)
  const qr = tf.transpose(applyRope(q, ctx.cos, ctx.sin), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, N, dh)
  const kr = tf.transpose(applyRope(k, ctx.cos, ctx.sin), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, N, dh)
  const vt = tf.transpose(v, [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, N, dh)
  const o = attend(qr, kr, vt, ctx.selfBias); // (B, H, N, dh)
  return linear(fromHeads(o), w('proj.weight'), w('proj.bias')); // (B·N, D)
}

/** Cross-attention from the tokens to the caption tokens of their own clip (text mask in crossBias). */
function crossAttention(p: ParamStore, pre: string, x: tf.Tensor2D, ctx: BlockContext): tf.Tensor2D {
  const { b, n, heads } = ctx;
  const kLen = ctx.y.shape[1];
  const w = (name: string) => param(p, `${pre}.${name}`);
  const y2 = tf.reshape(ctx.y, [b * kLen, -1]) as tf.Tensor2D; // (B·K, D)
  const q = toHeads(linear(x, w('q.weight'), w('q.bias')), b, n, heads, ctx.qkNorm ? w('q_norm.weight') : null); // (B, N, H, dh)
  const k = toHeads(linear(y2, w('k.weight'), w('k.bias')), b, kLen, heads, ctx.qkNorm ? w('k_norm.weight') : null); // (B, K, H, dh)
  const v = tf.reshape(linear(y2, w('v.weight'), w('v.bias')), [b, kLen, heads, -1]) as tf.Tensor4D; // (B, K, H, dh)
  const o = attend(
    tf.transpose(q, [0, 2, 1, 3]) as tf.Tensor4D, // (B, H, N, dh)
    tf.transpose(k, [0, 2, 1, 3]) as tf.Tensor4D, // (B, H, K, dh)
    tf.transpose(v, [0, 2, 1, 3]) as tf.Tensor4D, // (B, H, K, dh)
    ctx.crossBias,
  ); // (B, H, N, dh)
  return linear(fromHeads(o), w('proj.weight'), w('proj.bias')); // (B·N, D)
}

/** Block i: h (B·N, D) → (B·N, D). */
export function ditBlock(p: ParamStore, i: number, h: tf.Tensor2D, ctx: BlockContext): tf.Tensor2D {
  return tf.tidy(() => {
    const pre = `blocks.${i}`;
    const [shiftA, scaleA, gateA, shiftM, scaleM, gateM] = adaLNChunks(p, `${pre}.adaLN`, ctx, 6); // 6 × (B·N, D)
    const a = selfAttention(p, `${pre}.attn`, modulate(layerNorm(h), shiftA, scaleA), ctx); // (B·N, D)
    let x = tf.add(h, tf.mul(gateA, a)) as tf.Tensor2D; // (B·N, D)
    x = tf.add(x, crossAttention(p, `${pre}.cross`, layerNorm(x), ctx)) as tf.Tensor2D; // (B·N, D)
    const u = geluTanh(linear(modulate(layerNorm(x), shiftM, scaleM), param(p, `${pre}.mlp.fc1.weight`), param(p, `${pre}.mlp.fc1.bias`))); // (B·N, r·D)
    const m = linear(u, param(p, `${pre}.mlp.fc2.weight`), param(p, `${pre}.mlp.fc2.bias`)); // (B·N, D)
    return tf.add(x, tf.mul(gateM, m)) as tf.Tensor2D; // (B·N, D)
  });
}
