import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeVideo, type Frame } from '../../src/data/video.js';
import { comparePhysicsIQ, maskIoU, motionMasks, physicsIQScore, spatialMask, weightedIoU, weightedSpatialMask } from '../../src/eval/physics-iq.js';
import { gaussianBlur5, open, resizeLinear, toGray } from '../../src/eval/morphology.js';
import { movingSquare, runCli, tmpDir } from '../helpers.js';

const flat = (w: number, h: number, v: number): Frame => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) });
const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);

describe('Physics-IQ motion masks', () => {
  it('follows the running background: bg ← 0.7·bg + 0.3·g before |g − bg| > 10', () => {
    // frame 0 at 100, then 200 for good: bg = 130, 151, 165.7, 176, 183.2, 188.2, 191.8 → diffs 70, 49, 34, 24, 17, 12, 8
    const frames = [flat(12, 10, 100), ...Array.from({ length: 8 }, () => flat(12, 10, 200))];
    const on = motionMasks(frames).map((m) => count(m) / m.length);
    expect(on).toEqual([0, 1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('frame 0 is empty and a static clip has no motion', () => {
    const ms = motionMasks(Array.from({ length: 5 }, () => flat(16, 16, 77)));
    expect(ms.every((m) => count(m) === 0)).toBe(true);
  });

  it('opening with a 5x5 square removes specks smaller than the kernel', () => {
    const w = 24;
    const speck = new Uint8Array(w * w);
    for (let y = 10; y < 13; y++) for (let x = 10; x < 13; x++) speck[y * w + x] = 1; // 3x3
    expect(count(open(speck, w, w))).toBe(0);
    const block = new Uint8Array(w * w);
    for (let y = 5; y < 12; y++) for (let x = 5; x < 12; x++) block[y * w + x] = 1; // 7x7
    expect(count(open(block, w, w))).toBe(49);
  });

  it('grey and blur follow OpenCV (BT.601 luma, binomial 5x5)', () => {
    const f: Frame = { width: 1, height: 1, data: new Uint8Array([255, 0, 0]) };
    expect(toGray(f).data[0]).toBe(76); // round(0.299 · 255)
    const g = { width: 5, height: 1, data: new Uint8Array([0, 0, 160, 0, 0]) };
    // one row: only the horizontal pass acts; reflect-101 folds the taps at the ends (x=0 sees 160 twice)
    expect(Array.from(gaussianBlur5(g).data)).toEqual([20, 40, 60, 40, 20]);
  });

  it('resizes like INTER_LINEAR', () => {
    const d = new Uint8Array([0, 100, 200, 255]);
    expect(Array.from(resizeLinear(d, 4, 1, 1, 2, 1))).toEqual([50, 228]);
  });
});

describe('Physics-IQ metrics', () => {
  it('identical clips: every IoU is 1 and MSE is 0', async () => {
    const v = movingSquare(10, 32, 32, { size: 8, dx: 2 });
    for (const downscale of [1, 4]) {
      const r = await comparePhysicsIQ(v, v, v, { downscale });
      expect(r.spatial_iou).toBe(1);
      expect(r.spatiotemporal_iou).toBe(1);
      expect(r.weighted_spatial_iou).toBe(1);
      expect(r.mse).toBe(0);
      expect(physicsIQScore([r])).toBe(100);
    }
  });

  it('hand-computed IoUs', () => {
    const a = Uint8Array.from([1, 1, 0, 0]);
    const b = Uint8Array.from([1, 0, 1, 0]);
    expect(maskIoU(a, b)).toBeCloseTo(1 / 3);
    expect(maskIoU(new Uint8Array(4), new Uint8Array(4))).toBe(1);
    expect(Array.from(spatialMask([a, b]))).toEqual([1, 1, 1, 0]);
    const wa = weightedSpatialMask([a, a]); // [1,1,0,0]
    const wb = weightedSpatialMask([a, b]); // [1,.5,.5,0]
    expect(weightedIoU(wa, wb)).toBeCloseTo((1 + 0.5) / (1 + 1 + 0.5));
  });

  it('motion in a different place scores lower than the same motion', async () => {
    const real = movingSquare(10, 32, 32, { size: 8, dx: 2, y0: 4 });
    const other = movingSquare(10, 32, 32, { size: 8, dx: 2, y0: 20 });
    const same = await comparePhysicsIQ(real, real, undefined, { downscale: 1 });
    const diff = await comparePhysicsIQ(other, real, undefined, { downscale: 1 });
    expect(diff.spatial_iou).toBeLessThan(0.2);
    expect(diff.mse).toBeGreaterThan(0);
    expect(same.spatial_iou).toBe(1);
  });

  it('CLI: pairs by file name, writes JSON with the variance-normalised score', async () => {
    const dir = tmpDir();
    for (const d of ['gen', 'real', 'realb']) mkdirSync(path.join(dir, d));
    const v = movingSquare(8, 32, 32, { size: 8, dx: 3 });
    await writeVideo(path.join(dir, 'gen', 'a.mp4'), v);
    await writeVideo(path.join(dir, 'real', 'a.mp4'), v);
    await writeVideo(path.join(dir, 'realb', 'a.mp4'), v);
    const json = path.join(dir, 'piq.json');
    const r = runCli(['eval', 'physics-iq', '--generated', path.join(dir, 'gen'), '--real', path.join(dir, 'real'), '--real-b', path.join(dir, 'realb'), '--json', json, '--downscale', '1']);
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    expect(out.videos[0].spatial_iou).toBe(1);
    expect(out.physics_iq_score).toBe(100);
    const bad = runCli(['eval', 'physics-iq', '--generated', path.join(dir, 'nope'), '--real', path.join(dir, 'real')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/error: --generated: .*no such directory/);
  });
});
