// The hand-written gradients of the normalisations, GELU, modulation and slot expansion, and the
// tiled transpose, against plain autodiff of the same formulas on the cpu backend (tolerance 1e-4
// on gradients of O(1) values; the transpose is exact).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { columnSums, transpose2d } from '../../src/model/linear.js';
import { geluTanh, layerNorm, modulate, rmsNorm } from '../../src/model/norm.js';
import { expandSlots, slotOneHot } from '../../src/model/embed.js';

beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
  await ensureGradients();
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** The textbook compositions, differentiated by tfjs. */
const ref = {
  layerNorm: (x: tf.Tensor) => {
    const xc = tf.sub(x, tf.mean(x, -1, true));
    return tf.div(xc, tf.sqrt(tf.add(tf.mean(tf.square(xc), -1, true), 1e-6)));
  },
  rmsNorm: (x: tf.Tensor, g: tf.Tensor) => tf.mul(tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), g),
  gelu: (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))))),
};

describe('hand-written gradients match autodiff (cpu, 1e-4)', () => {
  it('layerNorm and modulate', () => {
    const x = tf.add(tf.mul(tf.randomNormal([3, 5, 8], 0, 1, 'float32', 1), 2), 0.5);
    const sh = tf.randomNormal([3, 5, 8], 0, 1, 'float32', 2);
    const sc = tf.randomNormal([3, 5, 8], 0, 1, 'float32', 3);
    const dy = tf.randomNormal([3, 5, 8], 0, 1, 'float32', 4);
    expect(maxAbs(layerNorm(x), ref.layerNorm(x))).toBeLessThan(1e-5);
    const mine = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.mul(modulate(layerNorm(a), b, c), dy))([x, sh, sc]);
    const theirs = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.mul(tf.add(tf.mul(ref.layerNorm(a), tf.add(c, 1)), b), dy))([x, sh, sc]);
    mine.forEach((g, i) => expect(maxAbs(g, theirs[i])).toBeLessThan(1e-4));
    tf.dispose([x, sh, sc, dy, ...mine, ...theirs]);
  });

  it('rmsNorm with its gain, including the tall column-sum path', () => {
    for (const shape of [[2, 3, 4, 8], [2, 512, 2, 32]]) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 5);
      const g = tf.randomNormal([shape[3]], 1, 0.3, 'float32', 6);
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 7);
      expect(maxAbs(rmsNorm(x, g), ref.rmsNorm(x, g))).toBeLessThan(1e-5);
      const mine = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(rmsNorm(a, b), dy))([x, g]);
      const theirs = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(ref.rmsNorm(a, b), dy))([x, g]);
      // the gain gradient sums 2048 rows: the tolerance scales with the sum's magnitude
      mine.forEach((t, i) => expect(maxAbs(t, theirs[i])).toBeLessThan(i === 1 ? 1e-3 : 1e-4));
      tf.dispose([x, g, dy, ...mine, ...theirs]);
    }
  });

  it('geluTanh', () => {
    const x = tf.mul(tf.randomNormal([4, 33], 0, 1, 'float32', 8), 3);
    const dy = tf.randomNormal([4, 33], 0, 1, 'float32', 9);
    expect(maxAbs(geluTanh(x), ref.gelu(x))).toBeLessThan(1e-5);
    const [mine] = tf.grads((a: tf.Tensor) => tf.mul(geluTanh(a), dy))([x]);
    const [theirs] = tf.grads((a: tf.Tensor) => tf.mul(ref.gelu(a), dy))([x]);
    expect(maxAbs(mine, theirs)).toBeLessThan(1e-4);
    tf.dispose([x, dy, mine, theirs]);
  });

  it('expandSlots: value and gradient of the per-slot vectors', () => {
    const seg = new Int32Array([0, 0, 1, -1, 1, 0, 0, 0]); // 2 rows of 4 tokens, 2 slots
    const oh = slotOneHot(seg, 2, 4, 2); // (8, 4)
    const v = tf.randomNormal([4, 6], 0, 1, 'float32', 10) as tf.Tensor2D;
    const dy = tf.randomNormal([8, 6], 0, 1, 'float32', 11);
    expect(maxAbs(expandSlots(oh, v), tf.matMul(oh, v))).toBeLessThan(1e-6);
    const [mine] = tf.grads((a: tf.Tensor) => tf.mul(expandSlots(oh, a as tf.Tensor2D), dy))([v]);
    const [theirs] = tf.grads((a: tf.Tensor) => tf.mul(tf.matMul(oh, a), dy))([v]);
    expect(maxAbs(mine, theirs)).toBeLessThan(1e-5);
    tf.dispose([oh, v, dy, mine, theirs]);
  });
});

describe('tiled transpose and column sums', () => {
  it.each([[1024, 96], [64, 2048], [96, 64], [50, 70]])('transpose2d %i×%i is exact', (r, c) => {
    const x = tf.randomNormal([r, c], 0, 1, 'float32', 12) as tf.Tensor2D;
    expect(maxAbs(transpose2d(x), tf.transpose(x))).toBe(0);
    tf.dispose(x);
  });

  it('columnSums of a tall matrix', () => {
    const x = tf.randomNormal([2048, 64], 0, 1, 'float32', 13) as tf.Tensor2D;
    expect(maxAbs(columnSums(x), tf.sum(x, 0))).toBeLessThan(1e-3);
    tf.dispose(x);
  });
});
