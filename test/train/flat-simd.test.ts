// The SIMD kernels of the data-parallel workers (src/train/flat-simd.ts) against flat-adamw.ts's
// float64 JavaScript: AdamW over 4 steps on parameters longer than one 16 Ki-float chunk and of
// lengths not divisible by 4, cut into 3 shards, decay on matrices only (tolerance 1e-6 absolute
// on O(1) weights and on the moments of O(1) gradients); the slot sum exactly (the same float32
// additions in the same order) and its squared norm to 1e-4 relative (float32 lane sums of 1 Ki
// terms: bound 1024·2⁻²⁴ ≈ 6e-5). Shared buffers as in the workers.
import { describe, expect, it } from 'vitest';
import { adamwShard, flatLayout, shardRange } from '../../src/train/flat-adamw.js';
import { FlatSimd } from '../../src/train/flat-simd.js';
import { Rng } from '../../src/util/rng.js';

const shared = (n: number) => new Float32Array(new SharedArrayBuffer(4 * n));

describe('FlatSimd', () => {
  it('AdamW matches the float64 reference across chunks, tails and shards', () => {
    const shapes = [[130, 150], [7], [3, 5], [40001]];
    const layout = flatLayout(shapes);
    const rng = new Rng(5);
    const init = rng.normals(layout.total);
    const ref = Float32Array.from(init);
    const mine = shared(layout.total);
    mine.set(init);
    const ranges = [0, 1, 2].map((r) => shardRange(layout.total, r, 3));
    const state = ranges.map(([lo, hi]) => ({ m: new Float32Array(hi - lo), v: new Float32Array(hi - lo), ms: shared(hi - lo), vs: shared(hi - lo) }));
    const simd = new FlatSimd();
    const cfg = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 };
    for (let step = 1; step <= 4; step++) {
      const g = shared(layout.total);
      g.set(rng.normals(layout.total));
      ranges.forEach(([lo, hi], r) => {
        adamwShard(layout, lo, hi, ref, g, state[r].m, state[r].v, step, 0.05, 0.5, cfg);
        simd.adamwShard(layout, lo, hi, mine, g, state[r].ms, state[r].vs, step, 0.05, 0.5, cfg);
      });
    }
    let err = 0;
    for (let j = 0; j < layout.total; j++) err = Math.max(err, Math.abs(ref[j] - mine[j]));
    expect(err).toBeLessThan(1e-6);
    let moments = 0;
    for (const s of state) for (let j = 0; j < s.m.length; j++) moments = Math.max(moments, Math.abs(s.m[j] - s.ms[j]), Math.abs(s.v[j] - s.vs[j]));
    expect(moments).toBeLessThan(1e-6);
    // the weights moved (by up to 4·lr)
    expect(Math.abs(mine[0] - init[0])).toBeGreaterThan(1e-2);
  });

  it('sums the slots of a shard and returns its squared norm', () => {
    const total = 50003;
    const rng = new Rng(9);
    const slots = [0, 1, 2].map(() => {
      const s = shared(total);
      s.set(rng.normals(total));
      return s;
    });
    const [lo, hi] = [7, 41000]; // not chunk- or vector-aligned
    const want = new Float32Array(total);
    let sq = 0;
    for (let j = lo; j < hi; j++) {
      want[j] = slots[0][j];
      want[j] += slots[1][j];
      want[j] += slots[2][j];
      sq += want[j] * want[j];
    }
    const before = Float32Array.from(slots[0]);
    const got = new FlatSimd().sumSlots(slots[0], slots, lo, hi); // in place into slot 0, as the training workers do
    for (let j = lo; j < hi; j++) expect(slots[0][j]).toBe(want[j]);
    expect(slots[0][lo - 1]).toBe(before[lo - 1]);
    expect(slots[0][hi]).toBe(before[hi]);
    expect(Math.abs(got - sq) / sq).toBeLessThan(1e-4);
  });
});
