// Built-in Farnebäck flow against synthetic frames with known motion (end-point error, px).
import { describe, expect, it } from 'vitest';
import { farneback, polyExpand } from '../../src/eval/flow.js';
import { builtinFlow } from '../../src/eval/flow-source.js';
import { boxFilter, endPointError, warpImage, type Flow } from '../../src/eval/warp.js';
import { constantFlow, interior, resample, texture, toFrame } from './synthetic.js';

const W = 64;
const H = 64;
const base = texture(W, H, 5);
const inner = interior(W, H, 6);

describe('Farnebäck flow', () => {
  it.each([
    [0.5, 0],
    [1.3, -0.7],
    [2.5, 1.5],
    [4, -3],
    [-3.7, 2.2],
  ])('recovers a subpixel translation (%f, %f) with EPE < 0.15 px', (dx, dy) => {
    const moved = resample(base, (x, y) => [x - dx, y - dy]);
    const epe = endPointError(farneback(base, moved), constantFlow(W, H, dx, dy), inner);
    expect(epe).toBeLessThan(0.15);
  });

  it('recovers a 3° rotation about the centre with EPE < 0.3 px', () => {
    const th = (3 * Math.PI) / 180;
    const [cx, cy] = [31.5, 31.5];
    const rotated = resample(base, (x, y) => {
      const [X, Y] = [x - cx, y - cy];
      return [cx + Math.cos(th) * X + Math.sin(th) * Y, cy - Math.sin(th) * X + Math.cos(th) * Y];
    });
    const truth: Flow = constantFlow(W, H, 0, 0);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const [X, Y] = [x - cx, y - cy];
        truth.u[y * W + x] = Math.cos(th) * X - Math.sin(th) * Y - X;
        truth.v[y * W + x] = Math.sin(th) * X + Math.cos(th) * Y - Y;
      }
    expect(endPointError(farneback(base, rotated), truth, inner)).toBeLessThan(0.3);
  });

  it('gives zero flow for identical frames and for a flat image', () => {
    const f = farneback(base, base);
    expect(Math.max(...f.u.map(Math.abs), ...f.v.map(Math.abs))).toBeLessThan(1e-6);
    const flat = { width: 16, height: 16, data: new Float32Array(256).fill(0.4) };
    expect(farneback(flat, flat).u.every((x) => x === 0)).toBe(true);
  });

  it('on 8-bit frames, the cached estimator matches the direct one, and warping by the flow aligns the frames', async () => {
    const a = toFrame(base);
    const b = toFrame(resample(base, (x, y) => [x - 2, y - 1]));
    const est = builtinFlow();
    const f1 = await est.flow(a, b);
    const f2 = await est.flow(a, b); // second call uses cached expansions
    expect(endPointError(f1, f2)).toBe(0);
    expect(endPointError(f1, constantFlow(W, H, 2, 1), inner)).toBeLessThan(0.15);
    const warped = warpImage(Float32Array.from(b.data), 3, f1).data;
    let err = 0;
    let n = 0;
    for (let i = 0; i < W * H; i++) if (inner[i]) for (let c = 0; c < 3; c++, n++) err += Math.abs(warped[3 * i + c] - a.data[3 * i + c]);
    expect(err / n).toBeLessThan(2); // 0..255 scale
  });

  it('polynomial expansion recovers a quadratic exactly', () => {
    // f = 0.01 x² − 0.02 xy + 0.03 y² + 0.1 x − 0.2 y + 0.5 → A = [[0.01, −0.01], [−0.01, 0.03]], b = (0.1, −0.2) at the origin
    const n = 21;
    const data = new Float32Array(n * n);
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const [X, Y] = [x - 10, y - 10];
        data[y * n + x] = 0.01 * X * X - 0.02 * X * Y + 0.03 * Y * Y + 0.1 * X - 0.2 * Y + 0.5;
      }
    const e = polyExpand({ width: n, height: n, data }, 3, 1.2);
    const c = 10 * n + 10;
    expect(e.a11[c]).toBeCloseTo(0.01, 5);
    expect(e.a12[c]).toBeCloseTo(-0.01, 5);
    expect(e.a22[c]).toBeCloseTo(0.03, 5);
    expect(e.b1[c]).toBeCloseTo(0.1, 5);
    expect(e.b2[c]).toBeCloseTo(-0.2, 5);
  });

  it('box filter is the (2r+1)² mean with replicated borders', () => {
    const src = Float32Array.from({ length: 12 }, (_, i) => i); // 4 × 3
    const out = boxFilter(src, 4, 3, 1);
    // centre (1, 1): mean of rows 0..2, cols 0..2
    expect(out[5]).toBeCloseTo((0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9, 5);
    // corner (0, 0): replicated → rows {0,0,1}, cols {0,0,1}
    expect(out[0]).toBeCloseTo((0 + 0 + 1 + 0 + 0 + 1 + 4 + 4 + 5) / 9, 5);
  });
});
