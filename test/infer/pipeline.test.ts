// The generation modes on analytic engines: a block-pooling "VAE" (exactly invertible on
// blocky frames) and the closed-form optimal RF denoiser for N(0, σ²) data. This checks the
// mechanics (shapes, windows, conditioning frames reproduced, determinism, bad flags) without
// any training; prompt following is the trained model's job (bench/demo).
import { describe, expect, it } from 'vitest';
import { generate, latentFrames, type Engines, type Shape5 } from '../../src/infer/pipeline.js';
import type { Frame } from '../../src/data/video.js';

const ST = 2; // temporal compression
const S = 4; // spatial compression
const C = 3;
const SIGMA = 0.5;

function pool(f: Frame): Float32Array {
  const H = f.height / S;
  const W = f.width / S;
  const z = new Float32Array(H * W * C);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let j = 0; j < S; j++) for (let i = 0; i < S; i++) s += f.data[((y * S + j) * f.width + x * S + i) * 3 + c];
        z[(y * W + x) * C + c] = s / (S * S) / 127.5 - 1;
      }
  return z;
}

function unpool(z: Float32Array, H: number, W: number): Frame {
  const data = new Uint8Array(H * S * W * S * 3);
  for (let y = 0; y < H * S; y++)
    for (let x = 0; x < W * S; x++)
      for (let c = 0; c < C; c++) data[(y * W * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round((z[(Math.floor(y / S) * W + Math.floor(x / S)) * C + c] + 1) * 127.5)));
  return { width: W * S, height: H * S, data };
}

export const analytic: Engines = {
  geometry: { temporal: ST, spatial: S, channels: C },
  objective: { kind: 'rf', shift: () => 1 },
  async encodeText(prompts) {
    return { emb: new Float32Array(prompts.length * 2 * 4), mask: new Float32Array(prompts.length * 2).fill(1), batch: prompts.length, length: 2, width: 4 };
  },
  async denoise(x, shape, t) {
    const per = x.length / shape[0];
    const out = new Float32Array(x.length);
    for (let b = 0; b < shape[0]; b++) {
      const tb = t[b];
      const v = (1 - tb) ** 2 * SIGMA ** 2 + tb ** 2;
      const k = (tb - (1 - tb) * SIGMA ** 2) / v;
      for (let i = b * per; i < (b + 1) * per; i++) out[i] = k * x[i];
    }
    return out;
  },
  async encode(frames) {
    const H = frames[0].height / S;
    const W = frames[0].width / S;
    const T = 1 + (frames.length - 1) / ST;
    const z = new Float32Array(T * H * W * C);
    for (let j = 0; j < T; j++) z.set(pool(frames[j * ST]), j * H * W * C);
    return { z, shape: [1, T, H, W, C] as Shape5 };
  },
  async decode(z, shape) {
    const [, T, H, W] = shape;
    const per = H * W * C;
    const out: Frame[] = [];
    for (let j = 0; j < T; j++) {
      const cur = z.subarray(j * per, (j + 1) * per);
      if (j > 0) {
        const prev = z.subarray((j - 1) * per, j * per);
        out.push(unpool(cur.map((v, i) => (v + prev[i]) / 2), H, W));
      }
      out.push(unpool(cur, H, W));
    }
    return out;
  },
};

/** Blocky frames (constant on S×S blocks) so pooling is exact. */
function blocky(n: number, w: number, h: number, seed: number): Frame[] {
  const out: Frame[] = [];
  for (let t = 0; t < n; t++) {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = (37 * (Math.floor(x / S) + seed) + 53 * Math.floor(y / S) + 91 * c + 11 * t) % 256;
    out.push({ width: w, height: h, data });
  }
  return out;
}

function maxDiff(a: Frame, b: Frame): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

const base = { prompt: 'a red ball bounces', width: 16, height: 12, steps: 6, cfg: 1, seed: 3, sampler: 'euler' as const };

describe('generate pipeline modes (analytic engines)', () => {
  it('t2v: shape, determinism per seed, and the closed-form denoiser gives data-scale samples', async () => {
    const a = await generate(analytic, { ...base, frames: 9, mode: { kind: 't2v' } });
    expect(a.frames).toHaveLength(9);
    expect(a.latentShape).toEqual([1, 5, 3, 4, 3]);
    expect(a.frames[0]).toMatchObject({ width: 16, height: 12 });
    const b = await generate(analytic, { ...base, frames: 9, mode: { kind: 't2v' } });
    expect(Buffer.from(b.frames[4].data).equals(Buffer.from(a.frames[4].data))).toBe(true);
    const c = await generate(analytic, { ...base, seed: 4, frames: 9, mode: { kind: 't2v' } });
    expect(Buffer.from(c.frames[4].data).equals(Buffer.from(a.frames[4].data))).toBe(false);
    expect(a.modelEvals).toBe(6);
    const heun = await generate(analytic, { ...base, sampler: 'heun', frames: 1, mode: { kind: 't2v' } });
    expect(heun.frames).toHaveLength(1);
    expect(heun.modelEvals).toBe(11);
  });

  it('i2v keeps the image as the first frame', async () => {
    const [img] = blocky(1, 16, 12, 5);
    const r = await generate(analytic, { ...base, frames: 5, mode: { kind: 'i2v', image: img } });
    expect(r.frames).toHaveLength(5);
    expect(maxDiff(r.frames[0], img)).toBeLessThanOrEqual(1);
  });

  it('extend forward chains windows and reproduces the input; backward puts the input last', async () => {
    const video = blocky(10, 16, 12, 2); // fitted to 9 frames (the last 9)
    const r = await generate(analytic, { ...base, frames: 12, window: 5, overlap: 1, mode: { kind: 'extend', video, direction: 'forward' } });
    // input: 9 frames → 5 latents; +6 latents (12 frames); a 5-frame window is 3 latents,
    // 1 of them the overlap, so 2 fresh latents per window → 3 chained windows
    expect(r.latentShape[1]).toBe(11);
    expect(r.frames).toHaveLength(21);
    expect(r.windows).toBe(3);
    for (const i of [0, 2, 4, 6, 8]) expect(maxDiff(r.frames[i], video[i + 1])).toBeLessThanOrEqual(1);
    const back = await generate(analytic, { ...base, frames: 4, window: 5, mode: { kind: 'extend', video, direction: 'backward' } });
    expect(back.latentShape[1]).toBe(7);
    const n = back.frames.length;
    for (const i of [0, 2, 4, 6, 8]) expect(maxDiff(back.frames[n - 9 + i], video[i])).toBeLessThanOrEqual(1);
  });

  it('connect: starts with A and ends with B; loop: the transition ends on the first frame', async () => {
    const a = blocky(5, 16, 12, 1);
    const b = blocky(5, 16, 12, 9);
    const r = await generate(analytic, { ...base, frames: 9, mode: { kind: 'connect', a, b } });
    // A 3 latents + middle (5 − 2·1) + B 3 latents = 9 latents → 17 frames
    expect(r.latentShape[1]).toBe(9);
    expect(maxDiff(r.frames[0], a[0])).toBeLessThanOrEqual(1);
    expect(maxDiff(r.frames[r.frames.length - 1], b[4])).toBeLessThanOrEqual(1);
    const loop = await generate(analytic, { ...base, frames: 9, mode: { kind: 'loop' } });
    expect(loop.windows).toBe(2);
    expect(loop.latentShape[1]).toBe(5 + 3);
  });

  it('edit: low strength stays close to the source, full strength does not', async () => {
    const video = blocky(5, 16, 12, 4);
    const near = await generate(analytic, { ...base, steps: 20, frames: 5, mode: { kind: 'edit', video, strength: 0.1 } });
    const far = await generate(analytic, { ...base, steps: 20, frames: 5, mode: { kind: 'edit', video, strength: 1 } });
    const d = (r: typeof near) => r.frames.reduce((s, f, i) => s + maxDiff(f, video[i]), 0) / r.frames.length;
    expect(d(near)).toBeLessThan(d(far));
    expect(near.modelEvals).toBe(2);
  });

  it('rejects bad frames, sizes, samplers, strengths and empty prompts with the flag named', async () => {
    await expect(generate(analytic, { ...base, frames: 8, mode: { kind: 't2v' } })).rejects.toThrow(/--frames: 8 frames do not fit .* \(e\.g\. 7 or 9\)/);
    await expect(generate(analytic, { ...base, width: 15, frames: 5, mode: { kind: 't2v' } })).rejects.toThrow(/--size: 15x12 must be positive multiples of 4/);
    await expect(generate(analytic, { ...base, sampler: 'ddim', frames: 5, mode: { kind: 't2v' } })).rejects.toThrow(/--sampler: ddim needs a DDPM model/);
    await expect(generate(analytic, { ...base, prompt: '  ', frames: 5, mode: { kind: 't2v' } })).rejects.toThrow(/--prompt: empty prompt/);
    await expect(generate(analytic, { ...base, frames: 5, mode: { kind: 'edit', video: blocky(5, 16, 12, 0), strength: 0 } })).rejects.toThrow(/--strength/);
    expect(latentFrames(1, 4)).toBe(1);
    expect(latentFrames(17, 4)).toBe(5);
  });
});
