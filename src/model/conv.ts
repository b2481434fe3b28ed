// 2-D convolution with a hand-written gradient that runs on every tfjs backend (ENGINE-NOTES.md:
// the wasm backend has no Conv2DBackpropFilter kernel). Gradients follow the standard
// convolution backward pass (Dumoulin & Visin, "A guide to convolution arithmetic for deep
// learning", 2016):
//   dx = conv2d(dilate(dy), rot180(w)ᵀ) as a full correlation (faster on wasm than its
//        Conv2DBackpropInput kernel)
//   dw = conv2d(xᵀ, dyᵀ) with batch and channels swapped and dy dilated by the stride (the
//        classic "filter gradient is a convolution of input and output gradient" identity)
// Padding is explicit (zeros, any amount per side) and applied outside the custom gradient so
// its gradient (a slice) comes from autodiff. Layouts: x NHWC, w HWIO (kh, kw, Ci, Co).
import * as tf from '@tensorflow/tfjs-core';
import { SpacetimeError } from '../util/errors.js';
import { checkShape } from '../util/shape.js';

/** Zero padding per side: [[top, bottom], [left, right]]. */
export type Pad2 = readonly [readonly [number, number], readonly [number, number]];

export interface Conv2dOptions {
  /** Stride (sh, sw); default (1, 1). */
  stride?: readonly [number, number];
  /** Zero padding; default none ("valid"). */
  pad?: Pad2;
}

/** Output size of a valid convolution along one axis. */
export function convOut(size: number, k: number, stride: number): number {
  return Math.floor((size - k) / stride) + 1;
}

/**
 * The filter gradient dw (kh, kw, Ci, Co) as one more convolution: channels and batch swap
 * roles, so the input becomes Ci images of N channels (Ci, Hp, Wp, N) and the output gradient
 * becomes the filter (OH, OW, N, Co), dilated by the stride; the valid correlation of the two is
 * dw with its axes as (Ci, kh, kw, Co). dw[i, j, c, o] = Σ_{n, p, q} x[n, i + p·sh, j + q·sw, c] ·
 * dy[n, p, q, o]. On wasm this runs through the fast Conv2D kernel (1.2–2x faster than
 * per-offset slices and matMuls).
 */
function filterGrad(xp: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, sh: number, sw: number): tf.Tensor4D {
  return tf.tidy(() => {
    const ci = xp.shape[3];
    const co = dy.shape[3];
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // (Ci, Hp, Wp, N)
    const f = tf.transpose(dy, [1, 2, 0, 3]); // (OH, OW, N, Co)
    let g = tf.conv2d(xt, f, 1, 'valid', 'NHWC', [sh, sw]); // (Ci, ≥kh, ≥kw, Co)
    if (g.shape[1] !== kh || g.shape[2] !== kw) g = tf.slice(g, [0, 0, 0, 0], [ci, kh, kw, co]); // (Ci, kh, kw, Co)
    return tf.transpose(g, [1, 2, 0, 3]); // (kh, kw, Ci, Co)
  });
}

/**
 * The input gradient: dx (N, Hp, Wp, Ci) as a full correlation of the zero-dilated output
 * gradient with the 180°-rotated, in/out-swapped kernel. Written with conv2d because wasm's
 * Conv2DBackpropInput runs ~50x slower than its conv2d.
 */
function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[], sh: number, sw: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, oh, ow, co] = dy.shape;
    const [kh, kw] = w.shape;
    const rh = (xShape[1] - kh) % sh; // input rows the strided windows never reached
    const rw = (xShape[2] - kw) % sw;
    let g: tf.Tensor4D = dy; // (N, OH, OW, Co)
    if (sh > 1) {
      const z = tf.zeros([n, oh, sh - 1, ow, co]); // (N, OH, sh−1, OW, Co)
      g = tf.reshape(tf.concat([tf.reshape(g, [n, oh, 1, ow, co]), z], 2), [n, oh * sh, ow, co]); // (N, OH·sh, OW, Co)
      g = tf.slice(g, [0, 0, 0, 0], [n, (oh - 1) * sh + 1, ow, co]); // (N, (OH−1)·sh+1, OW, Co)
    }
    if (sw > 1) {
      const h = g.shape[1];
      const z = tf.zeros([n, h, ow, sw - 1, co]); // (N, H', OW, sw−1, Co)
      g = tf.reshape(tf.concat([tf.reshape(g, [n, h, ow, 1, co]), z], 3), [n, h, ow * sw, co]); // (N, H', OW·sw, Co)
      g = tf.slice(g, [0, 0, 0, 0], [n, h, (ow - 1) * sw + 1, co]); // (N, H', (OW−1)·sw+1, Co)
    }
    const gp = tf.pad(g, [[0, 0], [kh - 1, kh - 1 + rh], [kw - 1, kw - 1 + rw], [0, 0]]); // (N, Hp+kh−1, Wp+kw−1, Co)
    const wf = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]); // (kh, kw, Co, Ci)
    return tf.conv2d(gp, wf as tf.Tensor4D, 1, 'valid'); // (N, Hp, Wp, Ci)
  });
}

type Conv = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
const cache = new Map<string, Conv>();

/** A valid, strided conv2d whose gradient uses only ops that exist on cpu, wasm and tensorflow. */
function validConv(sh: number, sw: number): Conv {
  const key = `${sh}x${sw}`;
  let f = cache.get(key);
  if (!f) {
    f = tf.customGrad((x, w, save) => {
      const xp = x as tf.Tensor4D; // (N, Hp, Wp, Ci)
      const wt = w as tf.Tensor4D; // (kh, kw, Ci, Co)
      (save as tf.GradSaveFunc)([xp, wt]);
      const y = tf.conv2d(xp, wt, [sh, sw], 'valid'); // (N, OH, OW, Co)
      return {
        value: y,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const [sx, sk] = saved as [tf.Tensor4D, tf.Tensor4D];
          const g = dy as tf.Tensor4D; // (N, OH, OW, Co)
          const dx = inputGrad(g, sk, sx.shape, sh, sw); // (N, Hp, Wp, Ci)
          const dw = filterGrad(sx, g, sk.shape[0], sk.shape[1], sh, sw); // (kh, kw, Ci, Co)
          return [dx, dw];
        },
      };
    }) as unknown as Conv;
    cache.set(key, f);
  }
  return f;
}

/**
 * Stride-1 conv with symmetric 'same' zero padding (odd kernels): no padded copy in the forward
 * pass, and the input gradient is again a 'same' conv (with the rotated kernel); only the filter
 * gradient pads the saved input.
 */
const sameConv: Conv = tf.customGrad((x, w, save) => {
  const xs = x as tf.Tensor4D; // (N, H, W, Ci)
  const wt = w as tf.Tensor4D; // (kh, kw, Ci, Co)
  (save as tf.GradSaveFunc)([xs, wt]);
  return {
    value: tf.conv2d(xs, wt, 1, 'same'), // (N, H, W, Co)
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [sx, sk] = saved as [tf.Tensor4D, tf.Tensor4D];
      const g = dy as tf.Tensor4D; // (N, H, W, Co)
      const [kh, kw] = sk.shape;
      const dx = tf.tidy(() => tf.conv2d(g, tf.transpose(tf.reverse(sk, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same')); // (N, H, W, Ci)
      const dw = tf.tidy(() => {
        const ph = (kh - 1) / 2;
        const pw = (kw - 1) / 2;
        const xp = tf.pad(sx, [[0, 0], [ph, ph], [pw, pw], [0, 0]]); // (N, H+kh−1, W+kw−1, Ci)
        return filterGrad(xp, g, kh, kw, 1, 1); // (kh, kw, Ci, Co)
      });
      return [dx, dw];
    },
  };
}) as unknown as Conv;

/**
 * conv2d(x (N, H, W, Ci), w (kh, kw, Ci, Co)) → (N, OH, OW, Co) with OH = (H + top + bottom − kh)
 * / sh + 1 (floored), likewise OW. Differentiable on every backend.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, opts: Conv2dOptions = {}): tf.Tensor4D {
  const [sh, sw] = opts.stride ?? [1, 1];
  const pad = opts.pad ?? [
    [0, 0],
    [0, 0],
  ];
  checkShape('conv2d input', x.shape, [null, null, null, w.shape[2]]);
  const [kh, kw] = w.shape;
  if (sh === 1 && sw === 1 && kh % 2 === 1 && kw % 2 === 1 && pad[0][0] === (kh - 1) / 2 && pad[0][1] === pad[0][0] && pad[1][0] === (kw - 1) / 2 && pad[1][1] === pad[1][0]) {
    return sameConv(x, w); // (N, H, W, Co)
  }
  return tf.tidy(() => {
    const padded = pad[0][0] || pad[0][1] || pad[1][0] || pad[1][1];
    const xp = padded ? tf.pad(x, [[0, 0], [pad[0][0], pad[0][1]], [pad[1][0], pad[1][1]], [0, 0]]) : x; // (N, Hp, Wp, Ci)
    if (convOut(xp.shape[1], kh, sh) < 1 || convOut(xp.shape[2], kw, sw) < 1) {
      throw new SpacetimeError(`conv2d: padded input (${xp.shape.join(', ')}) is smaller than the kernel (${kh}, ${kw})`);
    }
    return validConv(sh, sw)(xp, w); // (N, OH, OW, Co)
  });
}
