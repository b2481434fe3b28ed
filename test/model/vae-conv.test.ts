import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { conv2d } from '../../src/model/conv.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { Rng } from '../../src/util/rng.js';

function rand(shape: number[], rng: Rng): tf.Tensor {
  return tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1)), shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

const cases: { name: string; x: number[]; w: number[]; stride: [number, number]; pad: [[number, number], [number, number]] }[] = [
  { name: '3x3 same', x: [2, 7, 6, 3], w: [3, 3, 3, 5], stride: [1, 1], pad: [[1, 1], [1, 1]] },
  { name: '3x3 stride 2, (0,1) pad', x: [2, 8, 6, 4], w: [3, 3, 4, 3], stride: [2, 2], pad: [[0, 1], [0, 1]] },
  { name: '3x3 stride 2 odd size', x: [1, 9, 7, 2], w: [3, 3, 2, 3], stride: [2, 2], pad: [[1, 1], [1, 1]] },
  { name: 'causal temporal (3,1)', x: [2, 5, 12, 4], w: [3, 1, 4, 4], stride: [1, 1], pad: [[2, 0], [0, 0]] },
  { name: 'causal temporal stride (2,1)', x: [2, 9, 10, 3], w: [3, 1, 3, 4], stride: [2, 1], pad: [[2, 0], [0, 0]] },
  { name: '1x1', x: [3, 4, 4, 6], w: [1, 1, 6, 2], stride: [1, 1], pad: [[0, 0], [0, 0]] },
];

const cpuGrads = new Map<string, { dx: Float32Array; dw: Float32Array; x: tf.TensorLike; w: tf.TensorLike; g: tf.TensorLike }>();

describe('conv2d with custom gradient', () => {
  beforeAll(async () => {
    await selectBackend('cpu', { quiet: true });
    await ensureGradients();
  });

  for (const c of cases) {
    it(`matches tf autodiff on cpu: ${c.name} (tol 1e-4)`, () => {
      const rng = new Rng(7);
      const x = rand(c.x, rng) as tf.Tensor4D;
      const w = rand(c.w, rng) as tf.Tensor4D;
      // a non-uniform upstream gradient so that every output position counts differently
      const ref = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(tf.pad(a, [[0, 0], c.pad[0], c.pad[1], [0, 0]]), b, c.stride, 'valid');
      const yRef = ref(x, w);
      const g = rand(yRef.shape, rng);
      const y = conv2d(x, w, { stride: c.stride, pad: c.pad });
      expect(y.shape).toEqual(yRef.shape);
      expect(maxAbsDiff(y, yRef)).toBeLessThan(1e-4);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: c.stride, pad: c.pad }), g)))([x, w]);
      const [dxRef, dwRef] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ref(a as tf.Tensor4D, b as tf.Tensor4D), g)))([x, w]);
      expect(dx.shape).toEqual(c.x);
      expect(dw.shape).toEqual(c.w);
      expect(maxAbsDiff(dx, dxRef)).toBeLessThan(1e-4);
      expect(maxAbsDiff(dw, dwRef)).toBeLessThan(1e-4);
      cpuGrads.set(c.name, { dx: dxRef.dataSync() as Float32Array, dw: dwRef.dataSync() as Float32Array, x: x.dataSync() as Float32Array, w: w.dataSync() as Float32Array, g: g.dataSync() as Float32Array });
      tf.dispose([x, w, yRef, g, y, dx, dw, dxRef, dwRef]);
    });
  }

  it('rejects a kernel larger than the padded input and a channel mismatch', () => {
    const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    expect(() => conv2d(x, tf.zeros([3, 3, 3, 1]) as tf.Tensor4D)).toThrow(/smaller than the kernel/);
    expect(() => conv2d(x, tf.zeros([1, 1, 4, 1]) as tf.Tensor4D)).toThrow(/conv2d input: expected shape/);
  });

  it('gives the cpu reference gradients on wasm too (tol 1e-3)', async () => {
    await selectBackend('wasm', { quiet: true });
    try {
      for (const c of cases) {
        const ref = cpuGrads.get(c.name)!;
        const x = tf.tensor4d(ref.x as Float32Array, c.x as [number, number, number, number]);
        const w = tf.tensor4d(ref.w as Float32Array, c.w as [number, number, number, number]);
        const yShape = conv2d(x, w, { stride: c.stride, pad: c.pad }).shape;
        const g = tf.tensor(ref.g as Float32Array, yShape);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: c.stride, pad: c.pad }), g)))([x, w]);
        expect(maxAbsDiff(dx, tf.tensor(ref.dx, dx.shape)), c.name).toBeLessThan(1e-3);
        expect(maxAbsDiff(dw, tf.tensor(ref.dw, dw.shape)), c.name).toBeLessThan(1e-3);
      }
    } finally {
      await selectBackend('cpu', { quiet: true });
    }
  });

  it('trains on wasm (where Conv2DBackpropFilter has no kernel): loss falls, no leaked tensors', async () => {
    await selectBackend('wasm', { quiet: true });
    try {
      const rng = new Rng(3);
      const x = rand([2, 8, 8, 3], rng) as tf.Tensor4D;
      const target = rand([2, 4, 4, 4], rng);
      const w = tf.variable(tf.mul(rand([3, 3, 3, 4], rng), 0.1));
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(conv2d(x, w as unknown as tf.Tensor4D, { stride: [2, 2], pad: [[0, 1], [0, 1]] }), target))) as tf.Scalar, [w]);
        losses.push(value.dataSync()[0]);
        tf.tidy(() => w.assign(tf.sub(w, tf.mul(grads[w.name], 0.05))));
        tf.dispose([value, grads[w.name]]);
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(losses[29]).toBeLessThan(0.8 * losses[0]);
      tf.dispose([x, target, w]);
    } finally {
      await selectBackend('cpu', { quiet: true });
    }
  });
});
