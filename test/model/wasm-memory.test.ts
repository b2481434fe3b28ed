// Zero-copy access to the wasm heap (src/model/wasm-memory.ts): clones share their data under a
// reference count (not copied, a clone outlives its source, assigning a variable leaves earlier
// clones of it unchanged); readView gives a tensor's values as a view of the heap.
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
});
