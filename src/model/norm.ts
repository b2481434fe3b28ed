// Normalisations and adaLN modulation. LayerNorm (Ba et al. 2016) without affine parameters as in
// DiT's adaLN-Zero blocks (Peebles & Xie 2023, §3.2), where scale/shift come from the
// conditioning; LayerNorm with affine parameters for the text encoder; RMSNorm (Zhang & Sennrich
// 2019) as the per-head QK-norm of ViT-22B (Dehghani et al. 2023) and SD3 (Esser et al. 2024).
// Built from mean / sub / mul / sqrt / reciprocal / sigmoid only, so an ONNX exporter maps them one to one.
import * as tf from '@tensorflow/tfjs-core';
import { biasLastAxis, columnSums, scaleLastAxis } from './linear.js';
import { GELU_A, GELU_C2, fusedGelu, fusedNorm, geluArg, geluGrad, layerNormFused, layerNormGradFused, rmsNormFused, rmsNormGradFused } from './wasm-fused.js';

type CustomFn = Parameters<typeof tf.customGrad>[0];
type CustomFn1 = (x: tf.Tensor) => tf.Tensor;

/**
 * 1/√x as reciprocal(sqrt(x)): the same value as rsqrt, but its gradient avoids the Pow kernel
 * that tfjs uses for rsqrt's gradient (slow on wasm).
 */
function invSqrt(x: tf.Tensor): tf.Tensor {
  return tf.reciprocal(tf.sqrt(x)); // (..., 1)
}

/** x̂ = (x − mean) / sqrt(var + eps) and r = 1/sqrt(var + eps) over the last axis. */
function normalise(x: tf.Tensor, eps: number): { xh: tf.Tensor; r: tf.Tensor } {
  const mu = tf.mean(x, -1, true); // (..., 1)
  const xc = tf.sub(x, mu); // (..., D)
  const r = invSqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)); // (..., 1)
  return { xh: tf.mul(xc, r), r }; // (..., D)
}

const layerNorms = new Map<number, CustomFn1>();

/**
 * LayerNorm over the last axis, no affine: (x − mean) / sqrt(var + eps). x (..., D) → (..., D).
 * Hand-written gradient (ENGINE-NOTES.md: every taped op clones its saved inputs on wasm):
 *   dx = r · (dy − mean(dy) − x̂ · mean(dy ⊙ x̂)).
 * On wasm (rows of a multiple of 4), forward and backward are one fused pass each (wasm-fused.ts).
 */
export function layerNorm<R extends tf.Rank>(x: tf.Tensor<R>, eps = 1e-6): tf.Tensor<R> {
  let f = layerNorms.get(eps);
  if (!f) {
    f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
      if (fusedNorm(xi.shape[xi.rank - 1])) {
        // wasm: one pass each way over every row (wasm-fused.ts), the same formulas
        const [fxh, fr] = layerNormFused(xi, eps);
        save([fxh, fr]);
        return { value: fxh, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [layerNormGradFused(dy, saved[0], saved[1])] };
      }
      const { xh, r } = normalise(xi, eps);
      save([xh, r]);
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxh, sr] = saved;
        const c = tf.add(tf.mean(dy, -1, true), tf.mul(sxh, tf.mean(tf.mul(dy, sxh), -1, true))); // (..., D)
        return [tf.mul(tf.sub(dy, c), sr)]; // (..., D)
      };
      return { value: xh, gradFunc };
    }) as unknown as CustomFn) as unknown as CustomFn1;
    layerNorms.set(eps, f);
  }
  return f(x) as tf.Tensor<R>;
}

/** LayerNorm with learned gain γ (D,) and bias β (D,). x (..., D) → (..., D). */
export function layerNormAffine<R extends tf.Rank>(x: tf.Tensor<R>, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-6): tf.Tensor<R> {
  return tf.tidy(() => tf.add(scaleLastAxis(layerNorm(x, eps), gamma as tf.Tensor1D), biasLastAxis(beta as tf.Tensor1D, x.shape)) as tf.Tensor<R>); // (..., D)
}

/**
 * RMSNorm over the last axis with learned gain g (d,): x / sqrt(mean(x²) + eps) · g.
 * Hand-written gradient, with x̂ = x·r, r = 1/sqrt(mean(x²) + eps), e = dy ⊙ g:
 *   dx = r · (e − x̂ · mean(e ⊙ x̂)),  dg = Σ_rows dy ⊙ x̂.
 * On wasm (rows of a multiple of 4), forward and backward are one fused pass each (wasm-fused.ts).
 */
export function rmsNorm<R extends tf.Rank>(x: tf.Tensor<R>, g: tf.Tensor, eps = 1e-6): tf.Tensor<R> {
  const f = tf.customGrad(((xi: tf.Tensor, gi: tf.Tensor1D, save: tf.GradSaveFunc) => {
    if (fusedNorm(gi.shape[0])) {
      // wasm: one pass each way over every row (wasm-fused.ts), the same formulas
      const [y, fr] = rmsNormFused(xi, gi, eps);
      save([xi, fr, gi]);
      return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => rmsNormGradFused(dy, saved[0], saved[1], saved[2]) };
    }
    const r = invSqrt(tf.add(tf.mean(tf.square(xi), -1, true), eps)); // (..., 1)
    const xh = tf.mul(xi, r); // (..., d)
    save([xh, r, gi]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sxh, sr, sg] = saved;
      const e = tf.mul(dy, sg); // (..., d)
      const dx = tf.mul(tf.sub(e, tf.mul(sxh, tf.mean(tf.mul(e, sxh), -1, true))), sr); // (..., d)
      const dg = columnSums(tf.reshape(tf.mul(dy, sxh), [-1, sg.shape[0]]) as tf.Tensor2D); // (d,)
      return [dx, dg];
    };
    return { value: tf.mul(xh, gi), gradFunc }; // (..., d)
  }) as unknown as CustomFn);
  return (f as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(x, g) as tf.Tensor<R>;
}

/**
 * adaLN modulation x·(1 + scale) + shift, all (..., D) (DiT eq. "modulate"), with a hand-written
 * gradient: dx = dy ⊙ (1 + scale), dscale = dy ⊙ x, dshift = dy.
 */
export function modulate<R extends tf.Rank>(x: tf.Tensor<R>, shift: tf.Tensor, scale: tf.Tensor): tf.Tensor<R> {
  // the gradient returns dy as dshift: no broadcasting (the adaLN chunks are expanded to x's shape)
  if (!tf.util.arraysEqual(shift.shape, x.shape) || !tf.util.arraysEqual(scale.shape, x.shape)) throw new Error(`modulate: shift ${JSON.stringify(shift.shape)} and scale ${JSON.stringify(scale.shape)} must have x's shape ${JSON.stringify(x.shape)}`);
  return modulateSame(x, shift, scale);
}

const modulateSame: <R extends tf.Rank>(x: tf.Tensor<R>, shift: tf.Tensor, scale: tf.Tensor) => tf.Tensor<R> = tf.customGrad(((x: tf.Tensor, shift: tf.Tensor, scale: tf.Tensor, save: tf.GradSaveFunc) => {
  const s1 = tf.add(scale, 1); // (..., D)
  save([x, s1]);
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [sx, ss1] = saved;
    return [tf.mul(dy, ss1), tf.reshape(dy, dy.shape), tf.mul(dy, sx)]; // reshape: a zero-copy alias
  };
  return { value: tf.add(tf.mul(x, s1), shift), gradFunc }; // (..., D)
}) as unknown as CustomFn) as unknown as <R extends tf.Rank>(x: tf.Tensor<R>, shift: tf.Tensor, scale: tf.Tensor) => tf.Tensor<R>;

/**
 * GELU, tanh approximation (Hendrycks & Gimpel 2016): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
 * Written with the identity 0.5·(1 + tanh(u)) = sigmoid(2u): the same function, but the wasm
 * sigmoid kernel is ~15× faster than its tanh kernel (measured 1.2 ms vs 22 ms per 1M values).
 * Hand-written gradient with s = sigmoid(2u), 2u = 2c(x + a·x³):
 *   dx = dy · (s + x·s·(1 − s)·2c(1 + 3a·x²)).
 * On wasm, 2u and dx are one fused pass each (wasm-fused.ts).
 */
export const geluTanh: <R extends tf.Rank>(x: tf.Tensor<R>) => tf.Tensor<R> = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  if (fusedGelu()) {
    // wasm: 2u and the gradient as single passes (wasm-fused.ts), the same formulas
    const s = tf.sigmoid(geluArg(x)); // (...) = sigmoid(2u)
    save([x, s]);
    return { value: tf.mul(x, s), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [geluGrad(dy, saved[0], saved[1])] }; // (...)
  }
  const c2 = GELU_C2;
  const x2 = tf.mul(x, x); // (...)
  const s = tf.sigmoid(tf.mul(tf.mul(x, tf.add(tf.mul(x2, GELU_A), 1)), c2)); // (...) = sigmoid(2u)
  save([x, s]);
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [sx, ss] = saved;
    const du = tf.add(tf.mul(tf.mul(sx, sx), 3 * GELU_A * c2), c2); // (...) d(2u)/dx
    const ds = tf.mul(tf.mul(ss, tf.sub(1, ss)), tf.mul(sx, du)); // (...) x·s'(2u)·d(2u)/dx
    return [tf.mul(dy, tf.add(ss, ds))];
  };
  return { value: tf.mul(x, s), gradFunc }; // (...)
}) as unknown as CustomFn) as unknown as <R extends tf.Rank>(x: tf.Tensor<R>) => tf.Tensor<R>;

/** SiLU x·sigmoid(x) (Elfwing et al. 2018), used before every adaLN projection as in DiT. */
export function silu<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as tf.Tensor<R>); // (...)
}
