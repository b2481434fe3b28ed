// The flat, sharded AdamW of the data-parallel workers equals the tensor AdamW of optimizer.ts
// (float32 state in both; tolerance 1e-6 absolute on O(1) weights after 5 steps), whether one
// shard covers everything or three shards cut through parameters.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from '../../src/train/optimizer.js';
import { adamwShard, flatLayout, shardRange } from '../../src/train/flat-adamw.js';
import type { ParamStore } from '../../src/model/types.js';
import { Rng } from '../../src/util/rng.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('flat sharded AdamW', () => {
  it.each([1, 3])('matches AdamW over 5 steps with %i shard(s), decay on matrices only', (world) => {
    const shapes = [[3, 4], [4], [2, 5], [7]];
    const rng = new Rng(3);
    const init = shapes.map((s) => rng.normals(s.reduce((a, b) => a * b, 1)));
    const params: ParamStore = new Map(shapes.map((s, i) => [`p${i}`, tf.variable(tf.tensor(init[i], s))]));
    const cfg = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, clipNorm: 0 };
    const opt = new AdamW(params, cfg);
    const layout = flatLayout(shapes);
    const flat = new Float32Array(layout.total);
    init.forEach((v, i) => flat.set(v, layout.offsets[i]));
    const ranges = Array.from({ length: world }, (_, r) => shardRange(layout.total, r, world));
    const state = ranges.map(([lo, hi]) => ({ m: new Float32Array(hi - lo), v: new Float32Array(hi - lo) }));
    expect(ranges.at(-1)![1]).toBe(layout.total);
    for (let step = 1; step <= 5; step++) {
      const g = rng.normals(layout.total);
      const scale = 0.5; // e.g. averaging over two workers
      const grads = Object.fromEntries(shapes.map((s, i) => [`p${i}`, tf.tensor(g.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i]), s)]));
      const scaled = Object.fromEntries(Object.entries(grads).map(([k, t]) => [k, tf.mul(t, scale)]));
      opt.apply(scaled, 0.05);
      ranges.forEach(([lo, hi], r) => adamwShard(layout, lo, hi, flat, g, state[r].m, state[r].v, step, 0.05, scale, cfg));
      tf.dispose([...Object.values(grads), ...Object.values(scaled)]);
    }
    let maxErr = 0;
    shapes.forEach((_, i) => {
      const ref = params.get(`p${i}`)!.dataSync();
      for (let j = 0; j < ref.length; j++) maxErr = Math.max(maxErr, Math.abs(ref[j] - flat[layout.offsets[i] + j]));
    });
    expect(maxErr).toBeLessThan(1e-6);
    // and the update did something (a test that cannot fail is a defect)
    expect(Math.abs(flat[0] - init[0][0])).toBeGreaterThan(1e-3);
    opt.dispose();
    for (const v of params.values()) v.dispose();
  });
});
