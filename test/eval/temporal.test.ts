// Temporal metrics: hand-computable cases and the stated formulas checked on tiny examples.
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/data/video.js';
import { builtinFlow } from '../../src/eval/flow-source.js';
import { builtinFeatures } from '../../src/eval/features.js';
import {
  consistency,
  cosPlus,
  dynamicDegree,
  dynamicStride,
  flicker,
  motionSmoothness,
  occlusionMask,
  pairWarpError,
  roundHalfEven,
  smoothnessTargets,
  topMotion,
  warpError,
} from '../../src/eval/temporal.js';
import { scoreFrames } from '../../src/eval/temporal-video.js';
import type { Flow } from '../../src/eval/warp.js';
import { Rng } from '../../src/util/rng.js';
import { movingSquare } from '../helpers.js';
import { constantFlow, translatingVideo } from './synthetic.js';

const solid = (w: number, h: number, rgb: [number, number, number]): Frame => {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, 3 * i);
  return { width: w, height: h, data };
};
const constantVideo = (n: number) => Array.from({ length: n }, () => solid(32, 32, [90, 140, 200]));
const opts = { flow: builtinFlow(), subject: builtinFeatures('subject'), background: builtinFeatures('background') };

describe('flicker (VBench temporal_flickering)', () => {
  it('is 1 for a constant video', () => {
    expect(flicker(constantVideo(5))?.score).toBe(1);
  });
  it('matches (255 − mean MAE)/255 for a flickering video with known MAE', () => {
    const frames = [solid(4, 4, [100, 100, 100]), solid(4, 4, [110, 100, 90]), solid(4, 4, [100, 100, 100])];
    // each pair: |Δ| = (10 + 0 + 10)/3 = 20/3 per element
    const r = flicker(frames)!;
    expect(r.maes).toEqual([20 / 3, 20 / 3]);
    expect(r.score).toBeCloseTo((255 - 20 / 3) / 255, 12);
  });
  it('agrees with an independent computation on random frames', () => {
    const rng = new Rng(3);
    const frames = Array.from({ length: 4 }, () => ({ width: 3, height: 2, data: Uint8Array.from({ length: 18 }, () => rng.int(256)) }));
    let total = 0;
    for (let i = 0; i < 3; i++) total += frames[i].data.reduce((s, v, k) => s + Math.abs(v - frames[i + 1].data[k]), 0) / 18;
    expect(flicker(frames)!.score).toBeCloseTo((255 - total / 3) / 255, 12);
  });
  it('is undefined for a single frame', () => {
    expect(flicker(constantVideo(1))).toBeNull();
  });
});

describe('warp error (Lai et al. 2018)', () => {
  it('occlusion: consistent constant flow has no occlusion, inconsistent flow is all occluded', () => {
    expect(occlusionMask(constantFlow(5, 5, 1, 0), constantFlow(5, 5, -1, 0)).every((m) => m === 0)).toBe(true);
    // |F + B|² = 4 > 0.01 (1 + 1) + 0.5
    expect(occlusionMask(constantFlow(5, 5, 1, 0), constantFlow(5, 5, 1, 0)).every((m) => m === 1)).toBe(true);
  });
  it('occlusion: the motion-boundary test marks the column before a flow jump', () => {
    const w = 5;
    const F = constantFlow(w, 3, 0, 0);
    const B = constantFlow(w, 3, 0, 0);
    for (let y = 0; y < 3; y++)
      for (let x = 2; x < w; x++) {
        F.u[y * w + x] = 3;
        B.u[y * w + x] = -3;
      }
    // column 1: (u1 − u2)² = 9 > 0.01·0 + 0.002; column 2 lands (clamped) on column 4 where B = −3: consistent
    const occ = occlusionMask(F, B);
    for (let y = 0; y < 3; y++) expect([...occ.subarray(y * w, y * w + w)]).toEqual([0, 1, 0, 0, 0]);
  });
  it('pair error is Σ_x M‖Δ‖² (summed over RGB) / Σ_x M, the stated formula', () => {
    const a = solid(3, 3, [0, 0, 0]);
    const b = solid(3, 3, [51, 102, 0]); // 0.2, 0.4, 0 in [0, 1]
    const zero = constantFlow(3, 3, 0, 0);
    expect(pairWarpError(a, b, zero, zero).error).toBeCloseTo(0.04 + 0.16 + 0, 6);
    // all occluded → divided by H·W and every difference masked → error 0
    expect(pairWarpError(a, b, constantFlow(3, 3, 1, 0), constantFlow(3, 3, 1, 0)).error).toBe(0);
  });
  it('is 0 for a constant video', async () => {
    const s = await scoreFrames(constantVideo(4), 24, opts);
    expect(s.warp_error).toBe(0);
  });
  it('is small for a translating texture with the true flow and with the estimated flow', async () => {
    const frames = translatingVideo(4, 48, 48, 1.5, -0.5);
    const truth = warpError(frames, frames.slice(1).map(() => constantFlow(48, 48, 1.5, -0.5)), frames.slice(1).map(() => constantFlow(48, 48, -1.5, 0.5)))!;
    expect(truth.error).toBeLessThan(5e-4);
    const s = await scoreFrames(frames, 24, opts);
    expect(s.warp_error!).toBeLessThan(2e-3);
    // with no motion compensation the error is much larger
    const zero = frames.slice(1).map(() => constantFlow(48, 48, 0, 0));
    expect(warpError(frames, zero, zero)!.error).toBeGreaterThan(10 * s.warp_error!);
  });
});

describe('motion smoothness (VBench, flow interpolation)', () => {
  it('predicts odd frames 1, 3, … that have two neighbours', () => {
    expect(smoothnessTargets(16)).toEqual([1, 3, 5, 7, 9, 11, 13]);
    expect(smoothnessTargets(5)).toEqual([1, 3]);
    expect(smoothnessTargets(2)).toEqual([]);
  });
  it('with zero flow the prediction is the rounded average of the neighbours', () => {
    const frames = [solid(3, 3, [10, 10, 10]), solid(3, 3, [50, 50, 50]), solid(3, 3, [31, 31, 31])];
    const z = constantFlow(3, 3, 0, 0);
    // pred = round((10 + 31)/2) = round(20.5) = 21 → MAE 29
    expect(motionSmoothness(frames, [[z, z]])!.score).toBeCloseTo((255 - 29) / 255, 12);
  });
  it('is 1 for a constant video and high for smooth motion, lower when odd frames jump', async () => {
    expect((await scoreFrames(constantVideo(5), 24, opts)).motion_smoothness).toBe(1);
    const frames = translatingVideo(7, 48, 48, 1, 0.5);
    const smooth = (await scoreFrames(frames, 24, opts)).motion_smoothness!;
    expect(smooth).toBeGreaterThan(0.99);
    const jumpy = frames.map((f, i) => (i % 2 ? translatingVideo(1, 48, 48, 0, 0, 99)[0] : f));
    expect((await scoreFrames(jumpy, 24, opts)).motion_smoothness!).toBeLessThan(smooth - 0.03);
  });
});

describe('dynamic degree (VBench)', () => {
  it('rounds like Python and samples frames like VBench', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.25].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2]);
    expect([24, 30, 8, 12, 0].map(dynamicStride)).toEqual([3, 4, 1, 2, 1]);
  });
  it('top-5% motion is the mean of the largest int(0.05·H·W) magnitudes', () => {
    const F = constantFlow(20, 20, 0, 1);
    for (let i = 0; i < 20; i++) [F.u[i * 7], F.v[i * 7]] = [3, 4]; // 20 = 0.05·400 pixels of magnitude 5
    expect(topMotion(F)).toBeCloseTo(5, 6);
  });
  it('threshold 6·min(H,W)/256 (×8/fps below 8 fps) and round(4n/16) pairs', () => {
    const flows: Flow[] = [constantFlow(64, 128, 2, 0), constantFlow(64, 128, 1, 0), constantFlow(64, 128, 0, 1.6)];
    const d = dynamicDegree(flows, 64, 128, 4, 24, 1);
    expect(d.threshold).toBeCloseTo(1.5, 12);
    expect(d.needed).toBe(1);
    expect(d.pairs.map((p) => +p.toFixed(5))).toEqual([2, 1, 1.6]);
    expect(d.dynamic).toBe(true);
    const slow = dynamicDegree(flows, 64, 128, 4, 4, 1); // factor 2 → threshold 3
    expect(slow.threshold).toBeCloseTo(3, 12);
    expect(slow.dynamic).toBe(false);
  });
  it('is false for a constant video and true for a texture moving 3 px per frame', async () => {
    const still = await scoreFrames(constantVideo(16), 8, opts);
    expect(still.dynamic_degree).toBe(false);
    expect(still.dynamic_pairs.every((p) => p === 0)).toBe(true);
    const moving = await scoreFrames(translatingVideo(8, 64, 64, 3, 0), 8, opts);
    expect(moving.dynamic_degree).toBe(true);
    for (const p of moving.dynamic_pairs) expect(p).toBeGreaterThan(2.5);
  });
});

describe('subject / background consistency (VBench formula)', () => {
  it('S = 1/(N−1) Σ ½[cos⁺(e_{i−1}, e_i) + cos⁺(e_0, e_i)]', () => {
    const e = [new Float32Array([1, 0]), new Float32Array([0, 1]), new Float32Array([1, 1])];
    // i=1: ½(0 + 0); i=2: ½(1/√2 + 1/√2)
    expect(consistency(e)).toBeCloseTo(Math.SQRT1_2 / 2, 6);
    expect(cosPlus(new Float32Array([1, 0]), new Float32Array([-1, 0.1]))).toBe(0);
    expect(consistency([e[0], e[0], e[0]])).toBeCloseTo(1, 6);
  });
  it('built-in features: 1 for a constant video; a colour change of the subject lowers subject consistency', async () => {
    const still = await scoreFrames(constantVideo(6), 24, opts);
    expect(still.subject_consistency).toBeCloseTo(1, 6);
    expect(still.background_consistency).toBeCloseTo(1, 6);
    const same = movingSquare(12, 48, 48, { size: 10, dx: 2, dy: 1 });
    const recolour = movingSquare(12, 48, 48, { size: 10, dx: 2, dy: 1 }).map((f, t) => (t < 6 ? f : movingSquare(12, 48, 48, { size: 10, dx: 2, dy: 1, color: [40, 200, 60] })[t]));
    const a = await scoreFrames(same, 24, opts);
    const b = await scoreFrames(recolour, 24, opts);
    expect(a.subject_consistency!).toBeGreaterThan(0.97);
    expect(b.subject_consistency!).toBeLessThan(a.subject_consistency! - 0.1);
  });
  it('built-in features: a background that changes lowers background consistency', async () => {
    const frames = movingSquare(12, 48, 48, { size: 10, dx: 2 });
    const changed = frames.map((f, t) => ({ ...f, data: t < 6 ? f.data : f.data.map((v) => (v === 128 ? 60 : v)) }));
    const a = await scoreFrames(frames, 24, opts);
    const b = await scoreFrames(changed, 24, opts);
    expect(a.background_consistency!).toBeGreaterThan(0.97);
    expect(b.background_consistency!).toBeLessThan(a.background_consistency! - 0.05);
  });
});
