// Scaled dot-product attention, softmax(q·kᵀ/√dh + bias)·v (Vaswani et al. 2017), over a batch of
// heads, with an additive bias that carries the masks (key padding, NaViT block-diagonal segments,
// text padding). Two implementations of the same function:
//  - 'batched': rank-4 matMuls and autodiff. Fast on tfjs-node (TensorFlow kernels) and on wasm
//    with our matmul kernels (wasm-gemm.ts: batched and transposed products at full speed); used as
//    the reference in tests.
//  - 'looped': a tf.customGrad whose forward and backward passes are loops of untransposed 2-D
//    matMuls, one per (batch, head), on operands transposed explicitly (ENGINE-NOTES.md: tfjs-wasm's
//    own kernel runs rank-3/4 and transposed matMuls at ~2 GFLOP/s, plain 2-D ones at ~25). Per-head operands are
//    cut from one host copy of the batched tensor (the wasm Slice/Split/Gather kernels copy the
//    whole input per piece and cost ~0.5 ms each); softmax runs per head so the probabilities
//    never need cutting. Backward pass, with P = softmax(S):
//      dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = dS·K/√dh,
//      dK = dSᵀ·(Q/√dh),  dV = Pᵀ·dO  (as dKᵀ = (Q/√dh)ᵀ·dS, dVᵀ = dOᵀ·P when Nk ≤ dh).
// 'auto' picks 'batched' on the tensorflow/webgl/webgpu backends and on wasm with our kernels
// (DiT-bench step 970 vs 1058 ms looped), 'looped' elsewhere (wasm with SPACETIME_GEMM=tfjs, cpu).
import * as tf from '@tensorflow/tfjs-core';
import { SpacetimeError } from '../util/errors.js';
import { checkShape } from '../util/shape.js';
import { wasmGemmActive } from './wasm-gemm.js';

export type AttentionImpl = 'looped' | 'batched';
let chosen: AttentionImpl | 'auto' = 'auto';

/** Force an implementation (tests, benchmarks) or return to 'auto'. */
export function setAttentionImpl(impl: AttentionImpl | 'auto'): void {
  chosen = impl;
}

/** The implementation that runs now. */
export function attentionImpl(): AttentionImpl {
  if (chosen !== 'auto') return chosen;
  const be = tf.getBackend();
  return be === 'tensorflow' || be === 'webgl' || be === 'webgpu' || wasmGemmActive() ? 'batched' : 'looped';
}

/** A large negative bias: masked logits underflow to 0 after softmax without −∞ arithmetic. */
export const MASKED = -1e9;

/** Cut x (G·r·c values, group-major) into G tensors (r, c) from one host copy. */
function groups(x: tf.Tensor, g: number, r: number, c: number): tf.Tensor2D[] {
  const data = x.dataSync() as Float32Array;
  const n = r * c;
  const out: tf.Tensor2D[] = [];
  for (let i = 0; i < g; i++) out.push(tf.tensor2d(data.subarray(i * n, (i + 1) * n), [r, c]));
  return out;
}

/** Per-group 2-D products a[i]·b[i], stacked: (G, r, c). */
function loopMatMul(a: tf.Tensor2D[], b: tf.Tensor2D[]): tf.Tensor3D {
  return tf.tidy(() => tf.stack(a.map((ai, i) => tf.matMul(ai, b[i]))) as tf.Tensor3D);
}

function batchedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D | null): tf.Tensor4D {
  const dh = q.shape[3];
  return tf.tidy(() => {
    let s = tf.matMul(tf.mul(q, 1 / Math.sqrt(dh)), k, false, true) as tf.Tensor4D; // (B, H, Nq, Nk)
    if (bias) s = tf.add(s, bias); // (B, H, Nq, Nk)
    return tf.matMul(tf.softmax(s), v) as tf.Tensor4D; // (B, H, Nq, dh)
  });
}

function loopedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D | null): tf.Tensor4D {
  const [b, h, nq, dh] = q.shape;
  const nk = k.shape[2];
  const g = b * h;
  const scale = 1 / Math.sqrt(dh);
  const f = tf.customGrad(((qi: tf.Tensor4D, ki: tf.Tensor4D, vi: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const qs = tf.mul(qi, scale) as tf.Tensor4D; // (B, H, Nq, dh)
    const qp = groups(qs, g, nq, dh); // G × (Nq, dh)
    const ktp = groups(tf.transpose(ki, [0, 1, 3, 2]), g, dh, nk); // G × (dh, Nk)
    const vp = groups(vi, g, nk, dh); // G × (Nk, dh)
    const bp = bias ? groups(bias, b, bias.shape[2], nk) : null; // B × (Nq or 1, Nk)
    // Softmax per group: the probabilities stay as G pieces (saved for the backward pass), so the
    // (G, Nq, Nk) tensor is never cut on the host.
    const pp = qp.map((qg, i) => {
      const sg = tf.matMul(qg, ktp[i]); // (Nq, Nk)
      return tf.softmax(bp ? tf.add(sg, bp[Math.floor(i / h)]) : sg) as tf.Tensor2D; // (Nq, Nk)
    });
    const o = tf.reshape(loopMatMul(pp, vp), [b, h, nq, dh]) as tf.Tensor4D; // (B, H, Nq, dh)
    save([qs, ki, vi, ...pp]);
    const gradFunc = (dO: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sq, sk, sv, ...sp] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, ...tf.Tensor2D[]];
      // dK and dV: the wasm matMul packs its right operand afresh per call, so the product
      // whose right operand is smaller wins: dK = dSᵀ·Q packs Q (Nq·dh), dKᵀ = Qᵀ·dS packs dS
      // (Nq·Nk); measured at Nq = Nk = 256, dh = 64: ~23 vs ~10 GF/s. Same for dV = Pᵀ·dO.
      const keyMajor = nk > dh;
      const dOp = groups(dO, g, nq, dh); // G × (Nq, dh)
      const vtp = groups(tf.transpose(sv, [0, 1, 3, 2]), g, dh, nk); // G × (dh, Nk)
      const kp = groups(sk, g, nk, dh); // G × (Nk, dh)
      const qp2 = keyMajor ? groups(sq, g, nq, dh) : groups(tf.transpose(sq, [0, 1, 3, 2]), g, dh, nq); // G × (Nq, dh) or (dh, Nq)
      const dOtp = keyMajor ? [] : groups(tf.transpose(dO, [0, 1, 3, 2]), g, dh, nq); // G × (dh, Nq)
      const dq: tf.Tensor2D[] = [];
      const dk: tf.Tensor2D[] = [];
      const dv: tf.Tensor2D[] = [];
      for (let i = 0; i < g; i++) {
        const dP = tf.matMul(dOp[i], vtp[i]); // (Nq, Nk)
        const dS = tf.mul(sp[i], tf.sub(dP, tf.sum(tf.mul(dP, sp[i]), -1, true))) as tf.Tensor2D; // (Nq, Nk)
        dq.push(tf.matMul(dS, kp[i])); // (Nq, dh)
        if (keyMajor) {
          dk.push(tf.matMul(tf.transpose(dS), qp2[i])); // (Nk, Nq)·(Nq, dh) → (Nk, dh)
          dv.push(tf.matMul(tf.transpose(sp[i]), dOp[i])); // (Nk, Nq)·(Nq, dh) → (Nk, dh)
        } else {
          dk.push(tf.matMul(qp2[i], dS)); // (dh, Nq)·(Nq, Nk) → (dh, Nk)
          dv.push(tf.matMul(dOtp[i], sp[i])); // (dh, Nq)·(Nq, Nk) → (dh, Nk)
        }
      }
      const dQ = tf.mul(tf.reshape(tf.stack(dq), [b, h, nq, dh]), scale); // (B, H, Nq, dh)
      const fromKeys = (xs: tf.Tensor2D[]) => (keyMajor ? tf.reshape(tf.stack(xs), [b, h, nk, dh]) : tf.transpose(tf.reshape(tf.stack(xs), [b, h, dh, nk]), [0, 1, 3, 2])); // (B, H, Nk, dh)
      const dK = fromKeys(dk);
      const dV = fromKeys(dv);
      return [dQ, dK, dV];
    };
    return { value: o, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(q, k, v) as tf.Tensor4D;
}

/**
 * Multi-head attention core. q (B, H, Nq, dh), k and v (B, H, Nk, dh), bias (B, 1, Nq, Nk) or
 * (B, 1, 1, Nk) added to the logits (0 = attend, MASKED = masked), or null. → (B, H, Nq, dh).
 */
export function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D | null, impl: AttentionImpl = attentionImpl()): tf.Tensor4D {
  const env = checkShape('attention q', q.shape, ['B', 'H', 'Nq', 'dh']);
  checkShape('attention k', k.shape, ['B', 'H', 'Nk', 'dh'], env);
  checkShape('attention v', v.shape, ['B', 'H', 'Nk', 'dh'], env);
  if (bias) {
    checkShape('attention bias', bias.shape, ['B', 1, null, 'Nk'], env);
    if (bias.shape[2] !== 1 && bias.shape[2] !== env.Nq) throw new SpacetimeError(`attention bias: query axis ${bias.shape[2]} must be 1 or ${env.Nq}`);
  }
  return impl === 'looped' ? loopedAttention(q, k, v, bias) : batchedAttention(q, k, v, bias);
}
