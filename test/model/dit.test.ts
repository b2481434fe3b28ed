// Model-level checks of the DiT on tiny configs (cpu backend): presets and config errors, shapes on
// shapes that do not divide by the patch, adaLN-Zero init, packed = grid for clips of different
// shapes, checkpoint round trip and its errors, no tensor leaks across forward + backward, the same
// gradients with either attention implementation, and an overfit-one-batch run.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { setAttentionImpl } from '../../src/model/attention.js';
import { createDiT, loadDiT, type DiTModel } from '../../src/model/dit.js';
import { DIT_PRESETS, DiTConfigSchema, resolveDiTConfig, type DiTConfig } from '../../src/model/presets.js';
import { packClips, unpackClips } from '../../src/model/packing.js';
import { FlagError } from '../../src/util/errors.js';
import type { TextCond } from '../../src/model/types.js';

beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
  await ensureGradients();
});
afterEach(() => setAttentionImpl('auto'));

const tiny = (extra: Partial<DiTConfig> = {}): DiTConfig =>
  resolveDiTConfig({ preset: 'DiT-T/2', hidden: 16, depth: 1, heads: 2, latentChannels: 2, textWidth: 8, freqDim: 16, ...extra });

/** Give every parameter random values so that no path is zero (adaLN-Zero starts at 0). */
function randomize(m: DiTModel, seed = 1): void {
  let i = 0;
  for (const v of m.params.values()) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed + i++)));
}

function text(b: number, l: number, e: number, valid: number[], seed: number): TextCond {
  const mask = tf.tensor2d(valid.flatMap((n) => Array.from({ length: l }, (_, j) => (j < n ? 1 : 0))), [b, l]);
  return { emb: tf.randomNormal([b, l, e], 0, 1, 'float32', seed) as tf.Tensor3D, mask };
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('DiT config', () => {
  it('has the named presets and refuses an unknown one by listing them', () => {
    expect(Object.keys(DIT_PRESETS)).toEqual(expect.arrayContaining(['DiT-T/2', 'DiT-S/2', 'DiT-B/2', 'DiT-bench']));
    expect(DIT_PRESETS['DiT-bench']).toMatchObject({ hidden: 256, depth: 6, heads: 4, mlpRatio: 4, patch: [1, 2, 2], latentChannels: 4 });
    expect(() => resolveDiTConfig('DiT-XXL')).toThrow(FlagError);
    expect(() => resolveDiTConfig('DiT-XXL')).toThrow(/known: DiT-T\/2, DiT-S\/2, DiT-B\/2, DiT-bench/);
  });

  it('validates partial configs with a message naming the field', () => {
    expect(tiny().rope.split.reduce((a, b) => a + b)).toBe(4);
    expect(() => resolveDiTConfig({ preset: 'DiT-T/2', hidden: 30, heads: 4 })).toThrow(/heads/);
    expect(() => resolveDiTConfig({ preset: 'DiT-T/2', rope: { split: [1, 1, 1], theta: 1e4, scale: [1, 1, 1] } })).toThrow(/rope\.split.*must be head dim \/ 2 = 16/);
    const { textPool, ...before } = tiny({ textPool: 'first' }); // a stored config written before the option
    expect(textPool).toBe('first');
    expect(DiTConfigSchema.parse(before).textPool).toBe('mean');
    expect(() => resolveDiTConfig({ preset: 'DiT-T/2', textPool: 'max' as 'mean' })).toThrow(/model\.textPool/);
  });
});

describe('DiT forward', () => {
  it('is exactly zero at init (adaLN-Zero) and keeps the input shape when it does not divide by the patch', () => {
    const m = createDiT(tiny(), 0);
    const xt = tf.randomNormal([2, 3, 5, 7, 2]) as tf.Tensor5D;
    const t = tf.tensor1d([0.2, 0.9]);
    const tc = text(2, 4, 8, [4, 2], 3);
    const y = m.grid({ xt, t, text: tc });
    expect(y.shape).toEqual([2, 3, 5, 7, 2]);
    expect(tf.max(tf.abs(y)).dataSync()[0]).toBe(0);
    randomize(m);
    const y2 = m.grid({ xt, t, text: tc });
    expect(tf.max(tf.abs(y2)).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([xt, t, tc.emb, tc.mask, y, y2]);
    m.dispose();
  });

  it.each(['channel', 'embedding'] as const)('uses the clean-frame mask (condMode %s) and the timestep', (condMode) => {
    const m = createDiT(tiny({ condMode }), 0);
    randomize(m);
    const xt = tf.randomNormal([1, 2, 4, 4, 2]) as tf.Tensor5D;
    const tc = text(1, 3, 8, [3], 5);
    const t = tf.tensor1d([0.5]);
    const a = m.grid({ xt, t, text: tc });
    const cm = tf.tensor2d([[1, 0]]);
    const b = m.grid({ xt, t, text: tc, condMask: cm });
    const t2 = tf.tensor1d([0.1]);
    const c = m.grid({ xt, t: t2, text: tc });
    expect(maxAbs(a, b)).toBeGreaterThan(1e-4);
    expect(maxAbs(a, c)).toBeGreaterThan(1e-4);
    tf.dispose([xt, tc.emb, tc.mask, t, a, cm, b, t2, c]);
    m.dispose();
  });

  it.each([
    ['channel', 'none'],
    ['embedding', 'none'],
    ['channel', 'fractional'],
  ] as const)('packed output for clips of different shapes equals each clip alone through grid() (condMode %s, absPos %s)', (condMode, absPos) => {
    const cfg = tiny({ condMode, absPos, patch: [2, 2, 2] });
    const m = createDiT(cfg, 0);
    randomize(m, 7);
    const a = tf.randomNormal([3, 4, 6, 2], 0, 1, 'float32', 11) as tf.Tensor4D; // 2·2·3 = 12 tokens
    const b = tf.randomNormal([2, 5, 4, 2], 0, 1, 'float32', 12) as tf.Tensor4D; // 1·3·2 = 6 tokens
    const c = tf.randomNormal([1, 2, 2, 2], 0, 1, 'float32', 13) as tf.Tensor4D; // 1 token
    const condA = [1, 0, 0];
    const packed = packClips([[{ latent: a, condFrames: condA }, { latent: b }], [{ latent: c }]], cfg.patch, { length: 21 });
    expect(packed.tokens.shape).toEqual([2, 21, 16]);
    const l = 4;
    const tEach = [0.3, 0.8, 0.55];
    const txt = text(3, l, 8, [4, 2, 0], 21); // clip c has no valid text tokens
    // slots: row 0 = [a, b], row 1 = [c, (empty)]
    const slotOf = [0, 1, 2, -1];
    const emb = tf.tidy(() => tf.concat([tf.slice(txt.emb, [0, 0, 0], [3, l, 8]), tf.zeros([1, l, 8])], 0)) as tf.Tensor3D;
    const mask = tf.tidy(() => tf.concat([txt.mask, tf.zeros([1, l])], 0)) as tf.Tensor2D;
    const tp = tf.tensor2d([tEach[0], tEach[1], tEach[2], 0], [2, 2]);
    const out = m.packed({ ...packed, t: tp, text: { emb, mask } });
    const clips = unpackClips(out, packed.clips, cfg.patch);
    [a, b, c].forEach((x, i) => {
      const tc = { emb: tf.slice(txt.emb, [slotOf[i], 0, 0], [1, l, 8]) as tf.Tensor3D, mask: tf.slice(txt.mask, [slotOf[i], 0], [1, l]) as tf.Tensor2D };
      const cm = i === 0 ? tf.tensor2d([condA]) : undefined;
      const t1 = tf.tensor1d([tEach[i]]);
      const g = m.grid({ xt: tf.expandDims(x, 0) as tf.Tensor5D, t: t1, text: tc, condMask: cm });
      expect(maxAbs(tf.squeeze(g, [0]), clips[i])).toBeLessThan(1e-4);
      tf.dispose([tc.emb, tc.mask, t1, g]);
      cm?.dispose();
    });
    tf.dispose([a, b, c, packed.tokens, packed.cond, txt.emb, txt.mask, emb, mask, tp, out, ...clips]);
    m.dispose();
  });

  it('rejects malformed packed input with the name of the bad field', () => {
    const cfg = tiny();
    const m = createDiT(cfg, 0);
    const tokens = tf.zeros([1, 4, 8]) as tf.Tensor3D;
    const cond = tf.zeros([1, 4, 1]) as tf.Tensor3D;
    const tc = text(1, 2, 8, [2], 1);
    const t = tf.zeros([1, 1]) as tf.Tensor2D;
    const base = { tokens, cond, t, text: tc, slots: 1, pos: new Int32Array(12), segment: new Int32Array(4) };
    expect(() => m.packed({ ...base, pos: new Int32Array(5) })).toThrow(/packed pos: expected 12 values/);
    expect(() => m.packed({ ...base, segment: new Int32Array([0, 0, 1, 0]) })).toThrow(/packed segment: id 1 outside/);
    const bad = tf.zeros([1, 4, 7]) as tf.Tensor3D;
    expect(() => m.packed({ ...base, tokens: bad })).toThrow(/packed tokens: expected shape \(B, N, 8\), got \(1, 4, 7\)/);
    tf.dispose([tokens, cond, tc.emb, tc.mask, t, bad]);
    m.dispose();
  });
});

describe('DiT parameters and training', () => {
  it('round-trips through stored tensors; missing and mis-shaped keys are named', () => {
    const cfg = tiny();
    const m = createDiT(cfg, 3);
    randomize(m);
    const stored: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of m.params) stored[k] = { shape: v.shape, data: v.dataSync() as Float32Array };
    expect(Object.keys(stored)).toContain('blocks.0.attn.q.weight');
    expect(stored['blocks.0.attn.q.weight'].shape).toEqual([16, 16]);
    const m2 = loadDiT(cfg, stored);
    const xt = tf.randomNormal([1, 1, 4, 4, 2]) as tf.Tensor5D;
    const t = tf.tensor1d([0.4]);
    const tc = text(1, 2, 8, [2], 9);
    const y1 = m.grid({ xt, t, text: tc });
    const y2 = m2.grid({ xt, t, text: tc });
    expect(maxAbs(y1, y2)).toBe(0);
    const { ['blocks.0.mlp.fc1.bias']: _drop, ...missing } = stored;
    expect(() => loadDiT(cfg, missing)).toThrow(/missing parameter 'blocks\.0\.mlp\.fc1\.bias'/);
    const wrong = { ...stored, 'final.linear.weight': { shape: [16, 9], data: new Float32Array(144) } };
    expect(() => loadDiT(cfg, wrong)).toThrow(/'final\.linear\.weight' has shape \(16, 9\), expected \(16, 8\)/);
    expect(() => loadDiT(cfg, { ...stored, extra: { shape: [1], data: new Float32Array(1) } })).toThrow(/unexpected parameter 'extra'/);
    tf.dispose([xt, t, tc.emb, tc.mask, y1, y2]);
    m.dispose();
    m2.dispose();
  });

  /** Rectified-flow loss on one fixed batch. */
  const lossOf = (m: DiTModel, x0: tf.Tensor5D, eps: tf.Tensor5D, t: tf.Tensor1D, tc: TextCond) =>
    tf.tidy(() => {
      const tb = tf.reshape(t, [-1, 1, 1, 1, 1]);
      const xt = tf.add(tf.mul(tf.sub(1, tb), x0), tf.mul(tb, eps)) as tf.Tensor5D;
      return tf.mean(tf.square(tf.sub(m.grid({ xt, t, text: tc }), tf.sub(eps, x0)))) as tf.Scalar;
    });

  it('leaks no tensors over forward + backward, and both attention implementations give the same gradients', () => {
    const cfg = tiny({ depth: 2, textPool: 'mean+first' }); // both pooled-text paths
    const m = createDiT(cfg, 0);
    randomize(m, 3);
    const x0 = tf.randomNormal([2, 2, 3, 5, 2], 0, 1, 'float32', 1) as tf.Tensor5D;
    const eps = tf.randomNormal([2, 2, 3, 5, 2], 0, 1, 'float32', 2) as tf.Tensor5D;
    const t = tf.tensor1d([0.3, 0.7]);
    const tc = text(2, 3, 8, [3, 1], 4);
    const vars = [...m.params.values()];
    const gradsWith = (impl: 'looped' | 'batched') => {
      setAttentionImpl(impl);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => lossOf(m, x0, eps, t, tc), vars);
      const flat = vars.map((v) => grads[v.name].dataSync().slice() as Float32Array);
      value.dispose();
      tf.dispose(grads);
      expect(tf.memory().numTensors).toBe(before);
      return flat;
    };
    const n0 = tf.memory().numTensors;
    tf.dispose(m.grid({ xt: x0, t, text: tc }));
    expect(tf.memory().numTensors).toBe(n0);
    const gl = gradsWith('looped');
    const gb = gradsWith('batched');
    let worst = 0;
    gl.forEach((g, i) => g.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - gb[i][j])))));
    expect(worst).toBeLessThan(1e-4);
    expect(gl.some((g) => g.some((x) => Math.abs(x) > 1e-6))).toBe(true);
    for (const name of ['text_pool.weight', 'text_first.weight']) expect(gl[vars.findIndex((v) => v === m.params.get(name))].some((x) => Math.abs(x) > 1e-6)).toBe(true);
    tf.dispose([x0, eps, t, tc.emb, tc.mask]);
    m.dispose();
  });

  it('overfits one batch (loss falls by half in 40 Adam steps)', () => {
    const cfg = tiny();
    const m = createDiT(cfg, 0);
    const x0 = tf.randomNormal([2, 2, 4, 4, 2], 0, 1, 'float32', 5) as tf.Tensor5D;
    const eps = tf.randomNormal([2, 2, 4, 4, 2], 0, 1, 'float32', 6) as tf.Tensor5D;
    const t = tf.tensor1d([0.25, 0.75]);
    const tc = text(2, 3, 8, [3, 2], 7);
    const opt = tf.train.adam(1e-2);
    const vars = [...m.params.values()];
    const first = lossOf(m, x0, eps, t, tc);
    const l0 = first.dataSync()[0];
    first.dispose();
    for (let i = 0; i < 40; i++) tf.dispose(opt.minimize(() => lossOf(m, x0, eps, t, tc), false, vars));
    const last = lossOf(m, x0, eps, t, tc);
    const l1 = last.dataSync()[0];
    expect(l1).toBeLessThan(0.5 * l0);
    tf.dispose([last, x0, eps, t, tc.emb, tc.mask]);
    opt.dispose();
    m.dispose();
  });
});
