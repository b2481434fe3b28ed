// Zero-copy access to the wasm heap (src/model/wasm-memory.ts): clones share their data under a
// reference count (not copied, a clone outlives its source, assigning a variable leaves earlier
// clones of it unchanged); slices of every rank 1–5, cut on any axes, equal an index-by-index
// copy (exact); readView gives a tensor's values as a view of the heap.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { readView } from '../../src/model/wasm-memory.js';

interface WasmBackend {
  refCount(dataId: object): number;
}

beforeAll(async () => {
  await selectBackend('wasm', { quiet: true });
});

describe('wasm Identity', () => {
  it('shares the data of the cloned tensor, which survives its source', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const c = tf.clone(x);
    const be = tf.backend() as unknown as WasmBackend;
    expect(be.refCount(c.dataId)).toBe(2); // one buffer, two tensors (a copy would have its own at 1)
    expect(c.dataId).toBe(x.dataId);
    x.dispose();
    expect(be.refCount(c.dataId)).toBe(1);
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    c.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a clone of a variable keeps its value when the variable is assigned', () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const c = tf.clone(v);
    const y = tf.tensor1d([5, 6]);
    v.assign(y);
    expect(Array.from(c.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([5, 6]);
    tf.dispose([v, c, y]);
  });

  it('gradients that keep their inputs (customGrad save) are unchanged', () => {
    const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return { value: tf.square(x), gradFunc: (dy: tf.Tensor, [sx]: tf.Tensor[]) => tf.mul(dy, tf.mul(sx, 2)) };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const x = tf.tensor1d([1, -2, 3]);
    const g = tf.grad((a: tf.Tensor) => f(a) as tf.Tensor)(x);
    expect(Array.from(g.dataSync())).toEqual([2, -4, 6]);
    tf.dispose([x, g]);
  });

  it('readView reads a tensor in place', () => {
    const t = tf.tensor2d([
      [1.5, -2],
      [3, 4.25],
    ]);
    const v = readView(t);
    expect(Array.from(v)).toEqual([1.5, -2, 3, 4.25]);
    expect(v.buffer).toBe((tf.backend() as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32.buffer); // no copy
    t.dispose();
  });

  it('slices equal an element-by-element copy for ranks 1 to 5, float32 and int32', () => {
    const cases: [number[], number[], number[]][] = [
      [[7], [2], [4]],
      [[5, 6], [1, 0], [3, 6]],
      [[5, 6], [0, 2], [5, 3]],
      [[2, 10, 4, 3, 8], [0, 1, 0, 0, 0], [2, 9, 4, 3, 8]], // the VAE's causal trim: two runs
      [[3, 4, 5, 6], [1, 1, 2, 3], [2, 2, 3, 2]],
      [[4, 3, 2, 5], [0, 0, 0, 0], [4, 3, 2, 5]], // everything: one run
      [[4, 3, 2, 5], [1, 0, 0, 0], [0, 3, 2, 5]], // empty
    ];
    for (const dtype of ['float32', 'int32'] as const) {
      for (const [shape, begin, size] of cases) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = tf.tensor(Array.from({ length: n }, (_, i) => i * 3 - 7), shape, dtype);
        const y = tf.slice(x, begin, size);
        const src = x.dataSync();
        const want: number[] = [];
        const strides = shape.map((_, a) => shape.slice(a + 1).reduce((p, q) => p * q, 1));
        const idx = new Array(shape.length).fill(0);
        const total = size.reduce((a, b) => a * b, 1);
        for (let k = 0; k < total; k++) {
          want.push(src[idx.reduce((p, v, a) => p + (v + begin[a]) * strides[a], 0)]);
          for (let a = shape.length - 1; a >= 0; a--) {
            if (++idx[a] < size[a]) break;
            idx[a] = 0;
          }
        }
        expect(y.shape).toEqual(size);
        expect(y.dtype).toBe(dtype);
        expect(Array.from(y.dataSync()), `${shape} ${begin} ${size}`).toEqual(want);
        tf.dispose([x, y]);
      }
    }
  });
});
