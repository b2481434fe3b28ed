// Synthetic frames with known motion for flow and temporal-metric tests.
import type { Frame } from '../../src/data/video.js';
import { sampleBilinear, type Flow, type Plane } from '../../src/eval/warp.js';
import { Rng } from '../../src/util/rng.js';

/** A smooth random texture in 0..1: sum of random sinusoids (band-limited, so bilinear shifts are exact enough). */
export function texture(w: number, h: number, seed = 1, waves = 12): Plane {
  const rng = new Rng(seed);
  const comps = Array.from({ length: waves }, () => ({ fx: rng.range(-0.35, 0.35), fy: rng.range(-0.35, 0.35), ph: rng.range(0, 2 * Math.PI), a: rng.range(0.5, 1) }));
  const data = new Float32Array(w * h);
  const norm = comps.reduce((s, c) => s + c.a, 0);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (const c of comps) s += c.a * Math.cos(c.fx * x + c.fy * y + c.ph);
      data[y * w + x] = 0.5 + (0.45 * s) / Math.sqrt(norm * 2);
    }
  return { width: w, height: h, data };
}

/** Sample a plane at positions given by a map (x, y) → source position. */
export function resample(p: Plane, src: (x: number, y: number) => [number, number], w = p.width, h = p.height): Plane {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [sx, sy] = src(x, y);
      out[y * w + x] = sampleBilinear(p.data, p.width, p.height, sx, sy);
    }
  return { width: w, height: h, data: out };
}

/** A plane as an 8-bit grey RGB frame. */
export function toFrame(p: Plane): Frame {
  const data = new Uint8Array(p.width * p.height * 3);
  for (let i = 0; i < p.width * p.height; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = Math.round(Math.min(1, Math.max(0, p.data[i])) * 255);
  return { width: p.width, height: p.height, data };
}

/** A constant flow field. */
export function constantFlow(w: number, h: number, u: number, v: number): Flow {
  return { width: w, height: h, u: new Float32Array(w * h).fill(u), v: new Float32Array(w * h).fill(v) };
}

/** Mask of pixels at least `m` px from the border. */
export function interior(w: number, h: number, m: number): Uint8Array {
  const mask = new Uint8Array(w * h);
  for (let y = m; y < h - m; y++) for (let x = m; x < w - m; x++) mask[y * w + x] = 1;
  return mask;
}

/** A video of a texture translating by (dx, dy) per frame, as 8-bit frames (size w×h). */
export function translatingVideo(n: number, w: number, h: number, dx: number, dy: number, seed = 3): Frame[] {
  const base = texture(w + 64, h + 64, seed);
  return Array.from({ length: n }, (_, t) => toFrame(resample(base, (x, y) => [x + 32 - dx * t, y + 32 - dy * t], w, h)));
}
