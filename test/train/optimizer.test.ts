// Golden values: AdamW update, clipping, lr schedule, EMA decay; bucketing and its resumable order.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, clipByGlobalNorm, globalNorm } from '../../src/train/optimizer.js';
import { Ema, emaDecay } from '../../src/train/ema.js';
import { lr } from '../../src/train/schedule.js';
import { BucketSampler, epochPlan, planBuckets, tokenCount } from '../../src/train/bucket.js';
import type { ParamStore } from '../../src/model/types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('AdamW', () => {
  it('matches hand-computed updates (decoupled decay on matrices only) and round-trips its state', () => {
    const params: ParamStore = new Map([
      ['w', tf.variable(tf.tensor2d([[1, -2]]))],
      ['b', tf.variable(tf.tensor1d([1]))],
    ]);
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, clipNorm: 0 });
    const g = () => ({ w: tf.tensor2d([[0.5, 0.5]]), b: tf.tensor1d([0.5]) });
    opt.apply(g(), 0.1);
    // m̂ = 0.5, v̂ = 0.25 → update 1: w = w·(1 − 0.01) − 0.1
    expect(params.get('w')!.dataSync()[0]).toBeCloseTo(0.89, 6);
    expect(params.get('w')!.dataSync()[1]).toBeCloseTo(-2.08, 6);
    expect(params.get('b')!.dataSync()[0]).toBeCloseTo(0.9, 6); // no decay on vectors
    const saved = opt.stateTensors();
    const after1 = { w: Float32Array.from(params.get('w')!.dataSync()), b: Float32Array.from(params.get('b')!.dataSync()) };
    opt.apply(g(), 0.1);
    expect(params.get('w')!.dataSync()[0]).toBeCloseTo(0.89 * 0.99 - 0.1, 6);
    const w2 = [...params.get('w')!.dataSync()];
    // restore the weights and the saved state into a fresh optimizer, redo step 2: bit-identical
    params.get('w')!.assign(tf.tensor2d(after1.w, [1, 2]));
    params.get('b')!.assign(tf.tensor1d(after1.b));
    const opt2 = new AdamW(params, opt.cfg);
    opt2.loadState(saved, 1, 'optimizer.safetensors');
    opt2.apply(g(), 0.1);
    expect([...params.get('w')!.dataSync()]).toEqual(w2);
    expect(() => opt2.loadState({}, 1, 'optimizer.safetensors')).toThrow(/optimizer\.safetensors: m\.w: missing/);
    expect(w2[0]).toBeCloseTo(0.7811, 5);
  });

  it('lrScale: a factor scales the step and decay of one parameter (closed form); 0 leaves it bit for bit', () => {
    const params: ParamStore = new Map([
      ['w', tf.variable(tf.tensor2d([[1, -2]]))],
      ['frozen', tf.variable(tf.tensor2d([[0.3, 0.7]]))],
    ]);
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, clipNorm: 0 }, (n) => (n === 'w' ? 0.5 : 0));
    const g = () => ({ w: tf.tensor2d([[0.5, 0.5]]), frozen: tf.tensor2d([[0.5, -0.5]]) });
    opt.apply(g(), 0.1);
    // effective lr 0.05: w = w·(1 − 0.005) − 0.05
    expect(params.get('w')!.dataSync()[0]).toBeCloseTo(0.995 - 0.05, 6);
    expect(params.get('w')!.dataSync()[1]).toBeCloseTo(-2 * 0.995 - 0.05, 6);
    opt.apply(g(), 0.1);
    expect([...params.get('frozen')!.dataSync()]).toEqual([...Float32Array.from([0.3, 0.7])]);
    // its moments still follow the gradient (so a later unfreeze starts from them)
    expect(opt.stateTensors()['m.frozen'].data[0]).toBeCloseTo(0.5 * (1 - 0.9 ** 2), 6);
  });

  it('global-norm clipping', () => {
    const g = { a: tf.tensor1d([3, 4]) };
    expect(globalNorm(g)).toBeCloseTo(5, 6);
    expect([...clipByGlobalNorm(g, 5, 1).a.dataSync()].map((v) => +v.toFixed(5))).toEqual([0.6, 0.8]);
    expect([...clipByGlobalNorm(g, 5, 10).a.dataSync()]).toEqual([3, 4]);
  });
});

describe('schedules', () => {
  const cfg = { lr: 1, warmupSteps: 10, schedule: 'cosine' as const, minLrRatio: 0.1, totalSteps: 110 };
  it('warmup + cosine golden values', () => {
    expect(lr(0, cfg)).toBeCloseTo(0.1, 12);
    expect(lr(9, cfg)).toBeCloseTo(1, 12);
    expect(lr(10, cfg)).toBeCloseTo(1, 12);
    expect(lr(60, cfg)).toBeCloseTo(0.55, 12);
    expect(lr(110, cfg)).toBeCloseTo(0.1, 12);
    expect(lr(500, cfg)).toBeCloseTo(0.1, 12);
    expect(lr(60, { ...cfg, schedule: 'constant' })).toBe(1);
  });
  it('EMA decay warmup and update', () => {
    expect(emaDecay(0, 0.999, true)).toBeCloseTo(0.1, 12);
    expect(emaDecay(10000, 0.999, true)).toBe(0.999);
    expect(emaDecay(0, 0.999, false)).toBe(0.999);
    const p: ParamStore = new Map([['x', tf.variable(tf.tensor1d([0]))]]);
    const ema = new Ema(p);
    p.get('x')!.assign(tf.tensor1d([1]));
    ema.update(p, 0.9);
    expect(ema.shadow.get('x')!.dataSync()[0]).toBeCloseTo(0.1, 6);
  });
});

describe('buckets', () => {
  const shapes = [
    ...Array.from({ length: 10 }, () => [4, 8, 8, 4] as [number, number, number, number]),
    ...Array.from({ length: 5 }, () => [2, 8, 12, 4] as [number, number, number, number]),
  ];
  const bcfg = { targetTokens: 64, maxBatch: 8, patch: [1, 2, 2] as const, dropLast: false };
  it('per-bucket batch sizes hit the token target', () => {
    const b = planBuckets(shapes, bcfg);
    expect(b.map((x) => [x.key, x.tokens, x.batch])).toEqual([
      ['2x8x12x4', 48, 1],
      ['4x8x8x4', 64, 1],
    ]);
    const b2 = planBuckets(shapes, { ...bcfg, targetTokens: 256 });
    expect(b2.map((x) => x.batch)).toEqual([5, 4]);
    expect(tokenCount([3, 5, 5], [2, 2, 2])).toBe(18);
  });
  it('an epoch visits every row once, seeded; the sampler resumes mid-epoch', () => {
    const b = planBuckets(shapes, { ...bcfg, targetTokens: 192 });
    const plan = epochPlan(b, 7, 0, false);
    expect(plan.flatMap((p) => p.rows).sort((x, y) => x - y)).toEqual(shapes.map((_, i) => i));
    expect(epochPlan(b, 7, 0, false)).toEqual(plan);
    expect(epochPlan(b, 7, 1, false)).not.toEqual(plan);
    const s = new BucketSampler(b, 7, false);
    for (let i = 0; i < 5; i++) s.next();
    const st = s.state();
    const rest = Array.from({ length: 9 }, () => s.next());
    const s2 = new BucketSampler(b, 7, false, st);
    expect(Array.from({ length: 9 }, () => s2.next())).toEqual(rest);
    expect(s2.state().epoch).toBeGreaterThan(0);
  });
});
