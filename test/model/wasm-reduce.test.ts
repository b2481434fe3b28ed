// Column sums on the wasm backend (src/model/wasm-reduce.ts): tf.sum over every axis but the
// last, against a float64 sum, for fewer and more rows than one 256-row block and with keepDims;
// other reductions (tfjs-wasm's kernel) unchanged. Tolerance 1e-5 relative to Σ|x| (blocked
// float32 summation of ≤ 5000 O(1) terms); the gradient of a broadcast bias through it.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';

beforeAll(async () => {
  await selectBackend('wasm', { quiet: true });
  await ensureGradients();
});

describe('wasm column sums', () => {
  it('match float64 sums for every block layout, with and without keepDims', () => {
    for (const shape of [[3, 8], [2, 9, 4, 16], [5000, 12], [2, 3, 5, 7, 4]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const c = shape[shape.length - 1];
      const vals = Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.5);
      const x = tf.tensor(vals, shape);
      const axes = shape.slice(0, -1).map((_, a) => a);
      for (const keep of [false, true]) {
        const y = tf.sum(x, axes, keep);
        expect(y.shape).toEqual(keep ? [...new Array(shape.length - 1).fill(1), c] : [c]);
        const got = y.dataSync();
        for (let j = 0; j < c; j++) {
          let s = 0;
          let abs = 0;
          for (let i = j; i < n; i += c) {
            s += vals[i];
            abs += Math.abs(vals[i]);
          }
          expect(Math.abs(got[j] - s), `${shape} col ${j}`).toBeLessThan(1e-5 * abs);
        }
        y.dispose();
      }
      x.dispose();
    }
  });

  it('leaves other reductions to tfjs and gives a bias its gradient', () => {
    const x = tf.tensor3d(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
    expect(Array.from(tf.sum(x, [1]).dataSync())).toEqual([12, 15, 18, 21, 48, 51, 54, 57]);
    expect(Array.from(tf.sum(x, -1).dataSync())).toEqual([6, 22, 38, 54, 70, 86]);
    const b = tf.tensor1d([1, 2, 3, 4]);
    const g = tf.grad((bi: tf.Tensor) => tf.sum(tf.mul(tf.add(x, bi), x)))(b); // d/db = Σ over (2, 3) of x
    expect(Array.from(g.dataSync())).toEqual([60, 66, 72, 78]);
    tf.dispose([x, b, g]);
  });
});
