// Fractional absolute position features (abspos.ts) against the closed form in float64, their
// resolution and duration independence, per-clip extents in packed rows, and the DiT parameter
// that uses them.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ABS_POS_FEATURES, ABS_POS_FREQS, fractionalPosFeatures } from '../../src/model/abspos.js';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { createDiT } from '../../src/model/dit.js';
import { DiTConfigSchema, resolveDiTConfig } from '../../src/model/presets.js';
import { gridPositions } from '../../src/model/patchify.js';

beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
  await ensureGradients();
});

/** One token's features, written out from the formula (float64). */
function expected(t: number, h: number, w: number, tc: number, hc: number, wc: number): number[] {
  const out: number[] = [];
  for (const f of [(t + 0.5) / tc, (h + 0.5) / hc, (w + 0.5) / wc]) for (let k = 1; k <= ABS_POS_FREQS; k++) out.push(Math.cos(Math.PI * k * f));
  return out;
}

const row = (f: Float32Array, i: number) => Array.from(f.subarray(i * ABS_POS_FEATURES, (i + 1) * ABS_POS_FEATURES));

describe('fractional position features', () => {
  it('match the closed form for every token of a 2 × 3 × 4 grid (1e-6)', () => {
    const f = fractionalPosFeatures(gridPositions([2, 3, 4]), null, 1, 24);
    let i = 0;
    for (let t = 0; t < 2; t++)
      for (let h = 0; h < 3; h++)
        for (let w = 0; w < 4; w++) {
          const want = expected(t, h, w, 2, 3, 4);
          row(f, i++).forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThan(1e-6));
        }
    // frame 0 and frame 1 of the same (h, w) differ in the time part only
    const K = ABS_POS_FREQS;
    expect(row(f, 5).slice(K)).toEqual(row(f, 12 + 5).slice(K));
    expect(row(f, 5)[0]).toBeGreaterThan(0); // first half of the clip
    expect(row(f, 12 + 5)[0]).toBeLessThan(0); // second half
  });

  it('depend on fractions only: the same place at two resolutions, and the same moment at two durations, get the same features', () => {
    const small = fractionalPosFeatures(gridPositions([2, 2, 2]), null, 1, 8); // token (1, 0, 1): ft ¾, fy ¼, fx ¾
    const large = fractionalPosFeatures(gridPositions([4, 6, 6]), null, 1, 144); // token (3, 1, 4): ft 7/8 — so compare space only
    const K = ABS_POS_FREQS;
    row(small, 4 + 1).slice(K).forEach((v, k) => expect(Math.abs(v - row(large, 3 * 36 + 1 * 6 + 4).slice(K)[k])).toBeLessThan(1e-6));
    const long = fractionalPosFeatures(gridPositions([6, 1, 1]), null, 1, 6); // frame 4 of 6: ft ¾, as frame 1 of 2
    row(long, 4).slice(0, K).forEach((v, k) => expect(Math.abs(v - row(small, 4 + 1)[k])).toBeLessThan(1e-6));
    // and left differs from right: the first column feature cos(π·fx) is positive on the left half, negative on the right
    expect(row(large, 0)[2 * K]).toBeGreaterThan(0);
    expect(row(large, 5)[2 * K]).toBeLessThan(0);
  });

  it('give every token of an 8 × 8 grid distinct features', () => {
    const f = fractionalPosFeatures(gridPositions([1, 8, 8]), null, 1, 64);
    const keys = new Set(Array.from({ length: 64 }, (_, i) => row(f, i).map((v) => v.toFixed(4)).join(',')));
    expect(keys.size).toBe(64);
  });

  it('use each packed clip’s own grid, with zeros for padding, equal to the clips alone', () => {
    const a = gridPositions([1, 2, 3]); // 6 tokens
    const b = gridPositions([2, 1, 2]); // 4 tokens
    const n = 12;
    const pos = new Int32Array(2 * n * 3);
    pos.set(a, 0);
    pos.set(b, 6 * 3);
    pos.set(a, n * 3); // row 1: clip a again, then padding
    const segment = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, -1, -1, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1]);
    const f = fractionalPosFeatures(pos, segment, 2, n);
    const fa = fractionalPosFeatures(a, null, 1, 6);
    const fb = fractionalPosFeatures(b, null, 1, 4);
    for (let i = 0; i < 6; i++) expect(row(f, i)).toEqual(row(fa, i));
    for (let i = 0; i < 4; i++) expect(row(f, 6 + i)).toEqual(row(fb, i));
    for (let i = 0; i < 6; i++) expect(row(f, n + i)).toEqual(row(fa, i));
    for (const i of [10, 11, 18, 19, 23]) expect(row(f, i).every((v) => v === 0)).toBe(true);
  });
});

describe('DiT absPos', () => {
  const cfg = (absPos?: 'none' | 'fractional') => resolveDiTConfig({ preset: 'DiT-T/2', hidden: 16, depth: 1, heads: 2, latentChannels: 2, textWidth: 8, freqDim: 16, ...(absPos ? { absPos } : {}) });

  it('defaults to none (configs and checkpoints without the key) and rejects an unknown mode', () => {
    const { absPos, ...rest } = cfg('fractional');
    expect(absPos).toBe('fractional');
    expect(DiTConfigSchema.parse(rest).absPos).toBe('none');
    expect(DiTConfigSchema.safeParse({ ...rest, absPos: 'learned' }).success).toBe(false);
    const m = createDiT(cfg(), 0);
    expect(m.params.has('pos_embed.weight')).toBe(false);
    m.dispose();
  });

  it('starts the position term at the scale of the patch embedding of pure noise (demo shape)', () => {
    // At t = 1 the input is ε; the layout must be read from the position term, so at init it must not
    // be buried: rms(φ·pos_embed) over the 3 × 8 × 8 grid ≥ 0.5 · rms(x_embed(ε)), the latter in
    // closed form: for ε ~ N(0, I), E[(ε·W)_j²] = Σ_i W_ij², so rms = sqrt(Σ W² / D). The first init
    // (normal 0.02) gave a ratio of ≈ 0.1.
    const m = createDiT(resolveDiTConfig({ preset: 'DiT-T/2', hidden: 128, depth: 1, heads: 4, latentChannels: 8, textWidth: 16, freqDim: 16, absPos: 'fractional' }), 7);
    const n = 3 * 8 * 8;
    const phi = tf.tensor2d(fractionalPosFeatures(gridPositions([3, 8, 8]), null, 1, n), [n, ABS_POS_FEATURES]);
    const pos = m.params.get('pos_embed.weight') as tf.Variable;
    const xw = m.params.get('x_embed.weight') as tf.Variable;
    const posRms = Math.sqrt(tf.mean(tf.square(tf.matMul(phi, pos))).dataSync()[0]);
    const noiseRms = Math.sqrt(tf.sum(tf.square(xw)).dataSync()[0] / 128);
    expect(posRms / noiseRms).toBeGreaterThan(0.5);
    expect(posRms / noiseRms).toBeLessThan(2);
    phi.dispose();
    m.dispose();
  });

  it('adds pos_embed.weight (3K, D), which changes the output and receives a gradient', () => {
    const m = createDiT(cfg('fractional'), 0);
    expect(m.params.get('pos_embed.weight')?.shape).toEqual([ABS_POS_FEATURES, 16]);
    let i = 0;
    for (const v of m.params.values()) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 3 + i++)));
    const xt = tf.randomNormal([1, 2, 4, 6, 2], 0, 1, 'float32', 9) as tf.Tensor5D;
    const t = tf.tensor1d([0.5]);
    const text = { emb: tf.randomNormal([1, 3, 8], 0, 1, 'float32', 4) as tf.Tensor3D, mask: tf.ones([1, 3]) as tf.Tensor2D };
    const w = m.params.get('pos_embed.weight') as tf.Variable;
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(m.grid({ xt, t, text }))) as tf.Scalar, [w]);
    expect(tf.max(tf.abs(Object.values(grads)[0])).dataSync()[0]).toBeGreaterThan(1e-4); // the only variable asked for
    const before = m.grid({ xt, t, text });
    tf.tidy(() => w.assign(tf.zerosLike(w)));
    const after = m.grid({ xt, t, text });
    expect(tf.max(tf.abs(tf.sub(before, after))).dataSync()[0]).toBeGreaterThan(1e-4);
    tf.dispose([xt, t, text.emb, text.mask, before, after, ...Object.values(grads)]);
    m.dispose();
  });
});
