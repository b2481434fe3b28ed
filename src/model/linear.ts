// Linear layer y = x·W + b with a hand-written gradient (ENGINE-NOTES.md "What follows"). The
// backward pass of a matrix product (e.g. Goodfellow et al., Deep Learning, §6.5) is
//   dA = dY·Bᵀ,  dB = Aᵀ·dY,  db = 1ᵀ·dY,
// which autodiff computes with transposed matMul flags and axis-0 reductions (a transpose plus a
// sum), paths the wasm backend runs 10–20× slower than a plain product. Here every gradient is an
// untransposed 2-D product on operands transposed explicitly first; the bias gradient is the
// product of a ones row with dY. Weights are stored (in, out). Where transposed operands cost
// nothing extra (wasm with our kernels, wasm-gemm.ts, which reads them with strides; tfjs-node),
// the products take transpose flags instead of transposed copies.
import * as tf from '@tensorflow/tfjs-core';
import { checkShape } from '../util/shape.js';
import { wasmGemmActive } from './wasm-gemm.js';

type CustomFn = Parameters<typeof tf.customGrad>[0];

/**
 * xᵀ for a 2-D tensor, tiled. The wasm Transpose kernel walks a full 2-D transpose element by
 * element with a row stride (1024×256: ~2–4 ms; 1024×1024: ~8 ms). Cut into 32×32 tiles, the same
 * permutation runs as 4-D transposes whose strides stay inside a tile (measured 4–7× faster):
 *  - narrow rows (C ≤ 256): one pass (R/b, b, C/b, b) → (C/b, b, R/b, b);
 *  - wide rows: three passes (tile rows together, transpose each tile, tiles into place), which
 *    avoids the 4 KiB-aliasing strides of a 1024-float row.
 * Shapes not divisible by the tile fall back to tf.transpose. Exact (a permutation).
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [r, c] = x.shape;
  const b = 32;
  if (r % b !== 0 || c % b !== 0 || r * c <= 1 << 16) return tf.transpose(x); // small: the plain kernel is as fast
  return tf.tidy(() => {
    const tiles = tf.reshape(x, [r / b, b, c / b, b]); // (R/b, b, C/b, b)
    if (c <= 256) return tf.reshape(tf.transpose(tiles, [2, 3, 0, 1]), [c, r]) as tf.Tensor2D; // (C, R)
    const grouped = tf.transpose(tiles, [0, 2, 1, 3]); // (R/b, C/b, b, b)
    const flipped = tf.transpose(tf.reshape(grouped, [(r / b) * (c / b), b, b]), [0, 2, 1]); // (R/b·C/b, b, b) each tile transposed
    return tf.reshape(tf.transpose(tf.reshape(flipped, [r / b, c / b, b, b]), [1, 2, 0, 3]), [c, r]) as tf.Tensor2D; // (C, R)
  });
}

/** Column sums of a 2-D tensor as a product with a ones row: (M, N) → (N,). */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.reshape(tf.matMul(tf.ones([1, x.shape[0]]), x), [x.shape[1]]) as tf.Tensor1D); // (N,)
}

/**
 * Column sums of a tall 2-D tensor, (M, N) → (N,). The ones-row product packs all of x as a fresh
 * weight matrix (slow for M ≫ N: 4096×64 takes ~1 ms); for tall x, a tiled transpose and a product
 * with a ones column is cheaper. sumRows stays the choice where x is already packed (affine2d).
 */
export function columnSums(x: tf.Tensor2D): tf.Tensor1D {
  const [m, n] = x.shape;
  if (m < 1024 || m % 32 !== 0 || n % 32 !== 0) return sumRows(x);
  return tf.tidy(() => tf.reshape(tf.matMul(transpose2d(x), tf.ones([m, 1])), [n]) as tf.Tensor1D); // (N,)
}

/** Whether matMul's transpose flags run at full speed on the active backend. */
function flagsFast(): boolean {
  return tf.getBackend() !== 'wasm' || wasmGemmActive();
}

/** dY·Bᵀ: (M, N)·(N, K) → (M, K). */
function timesTransposed(dy: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return flagsFast() ? tf.matMul(dy, b, false, true) : tf.matMul(dy, transpose2d(b));
}

/** Aᵀ·dY: (K, M)·(M, N) → (K, N). */
function transposedTimes(a: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  return flagsFast() ? tf.matMul(a, dy, true, false) : tf.matMul(transpose2d(a), dy);
}

/**
 * C = A·B for 2-D operands, differentiable in both with fast 2-D products (see the file comment).
 * A (M, K), B (K, N) → (M, N).
 */
export const matmul2d: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  const value = tf.matMul(a, b); // (M, N)
  const gradFunc = (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
    const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
    const da = timesTransposed(dy, sb); // (M, N)·(N, K) → (M, K)
    const db = transposedTimes(sa, dy); // (K, M)·(M, N) → (K, N)
    return [da, db];
  };
  return { value, gradFunc };
}) as unknown as CustomFn) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** y = x·W + b with the same fast gradients, b's gradient as a ones-row product. */
const affine2d: (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, w]);
  const value = tf.add(tf.matMul(x, w), b); // (M, N)
  const gradFunc = (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
    const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
    const dx = timesTransposed(dy, sw); // (M, N)·(N, K) → (M, K)
    const dw = transposedTimes(sx, dy); // (K, M)·(M, N) → (K, N)
    return [dx, dw, sumRows(dy)]; // db (N,)
  };
  return { value, gradFunc };
}) as unknown as CustomFn) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/**
 * Apply a linear layer to the last axis of any-rank input: x (..., K) · W (K, N) + b (N,) → (..., N).
 * The leading axes are flattened into rows so the product is one 2-D matMul.
 */
export function linear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor, b?: tf.Tensor): tf.Tensor<R> {
  const [k, n] = w.shape;
  checkShape('linear input', [x.shape[x.rank - 1]], [k]);
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -1);
    const rows = lead.reduce((p, d) => p * d, 1);
    const x2 = tf.reshape(x, [rows, k]) as tf.Tensor2D; // (M, K)
    const y = b ? affine2d(x2, w as tf.Tensor2D, b as tf.Tensor1D) : matmul2d(x2, w as tf.Tensor2D); // (M, N)
    const out: tf.Tensor = tf.reshape(y, [...lead, n] as number[]); // (..., N)
    return out as tf.Tensor<R>;
  });
}

/**
 * x ⊙ g for a gain g (d,) over the last axis of x (..., d), with g's gradient as a ones-row
 * product (autodiff would reduce over the leading axes with a transpose and a sum).
 */
export const scaleLastAxis: <R extends tf.Rank>(x: tf.Tensor<R>, g: tf.Tensor1D) => tf.Tensor<R> = tf.customGrad(((x: tf.Tensor, g: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, g]);
  const value = tf.mul(x, g); // (..., d)
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [sx, sg] = saved;
    const d = sg.shape[0];
    const dx = tf.mul(dy, sg); // (..., d)
    const dg = columnSums(tf.reshape(tf.mul(dy, sx), [-1, d]) as tf.Tensor2D); // (d,)
    return [dx, dg];
  };
  return { value, gradFunc };
}) as unknown as CustomFn) as unknown as <R extends tf.Rank>(x: tf.Tensor<R>, g: tf.Tensor1D) => tf.Tensor<R>;

/**
 * A bias b (d,) broadcast to `shape` (..., d) whose gradient is a ones-row product of dy.
 * Adding the result to x gives x + b with the fast gradient for b.
 */
export function biasLastAxis(b: tf.Tensor1D, shape: readonly number[]): tf.Tensor {
  const d = b.shape[0];
  const rows = shape.slice(0, -1).reduce((p, q) => p * q, 1);
  return tf.tidy(() => tf.reshape(matmul2d(tf.ones([rows, 1]) as tf.Tensor2D, tf.reshape(b, [1, d]) as tf.Tensor2D), [...shape] as number[])); // (..., d)
}
