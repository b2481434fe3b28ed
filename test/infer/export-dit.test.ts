// DiT ONNX graph vs the tfjs DiT (grid forward), float32, at several shapes: 1e-4 relative.
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { createDiT, type DiTModel } from '../../src/model/dit.js';
import { resolveDiTConfig } from '../../src/model/presets.js';
import { ropeTables } from '../../src/model/rope.js';
import { absPosFeed } from '../../src/model/abspos.js';
import { buildDiT } from '../../src/infer/export/dit.js';
import { paramReader } from '../../src/infer/export/vae.js';
import { gridPositionsData, patchifyData, unpatchifyData } from '../../src/infer/tokens.js';
import { createSession, run, floatOutput } from '../../src/infer/ort.js';
import { Rng } from '../../src/util/rng.js';

function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / Math.max(1e-6, s);
}

/** Randomise every parameter (adaLN-Zero init would make the output identically zero). */
function randomise(model: DiTModel, seed: number): void {
  const rng = new Rng(seed);
  for (const v of model.params.values()) {
    const x = tf.mul(tf.tensor(rng.normals(v.size), v.shape), 0.2);
    v.assign(x as tf.Tensor);
    x.dispose();
  }
}

async function compare(model: DiTModel, shape: [number, number, number, number, number], L: number, cond: number[]): Promise<number> {
  const cfg = model.config;
  const [B, T, H, W, C] = shape;
  const rng = new Rng(T * 100 + H);
  const x = rng.normals(B * T * H * W * C);
  const t = Float32Array.from({ length: B }, (_, i) => 0.2 + 0.5 * i);
  const text = rng.normals(B * L * cfg.textWidth);
  const mask = Float32Array.from({ length: B * L }, (_, i) => (i % L < L - 1 || i < L ? 1 : 0));
  const condMask = Float32Array.from({ length: B * T }, (_, i) => cond[i % T] ?? 0);
  const ref = model.grid({ xt: tf.tensor5d(x, shape), t: tf.tensor1d(t), text: { emb: tf.tensor3d(text, [B, L, cfg.textWidth]), mask: tf.tensor2d(mask, [B, L]) }, condMask: tf.tensor2d(condMask, [B, T]) });
  const refData = ref.dataSync() as Float32Array;
  ref.dispose();

  const sess = await createSession(buildDiT(cfg, paramReader(model.params)).toBytes(), { threads: 1 });
  const { tokens, grid, n } = patchifyData(x, shape, cfg.patch);
  const pt = cfg.patch[0];
  const condTok = new Float32Array(B * n * pt);
  for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) for (let a = 0; a < pt; a++) {
    const frame = Math.floor(i / (grid[1] * grid[2])) * pt + a;
    condTok[(b * n + i) * pt + a] = frame < T ? condMask[b * T + frame] : 0;
  }
  const dh = cfg.hidden / cfg.heads;
  const tables = ropeTables(gridPositionsData(grid), dh, cfg.rope);
  const out = await run(sess, {
    tokens: { data: tokens, dims: [B, n, tokens.length / (B * n)] },
    cond: { data: condTok, dims: [B, n, pt] },
    t: { data: t, dims: [B] },
    text: { data: text, dims: [B, L, cfg.textWidth] },
    text_mask: { data: mask, dims: [B, L] },
    rope_cos: { data: tables.cos.dataSync() as Float32Array, dims: [n, dh] },
    rope_sin: { data: tables.sin.dataSync() as Float32Array, dims: [n, dh] },
    ...absPosFeed(cfg.absPos, gridPositionsData(grid)),
  });
  tf.dispose([tables.cos, tables.sin]);
  const got = unpatchifyData(floatOutput(out.out).data, shape, cfg.patch);
  return relErr(got, refData);
}

describe('DiT ONNX export parity', () => {
  beforeAll(async () => {
    await selectBackend('cpu', { quiet: true });
  });

  it('channel conditioning, QK-norm, pooled text: three shapes including padding', async () => {
    const model = createDiT(resolveDiTConfig({ preset: 'DiT-T/2', hidden: 32, heads: 2, depth: 2, textWidth: 24, freqDim: 16 }), 1);
    randomise(model, 2);
    expect(await compare(model, [1, 2, 4, 4, 4], 3, [1, 0])).toBeLessThan(1e-4);
    expect(await compare(model, [2, 3, 6, 4, 4], 5, [1, 0, 1])).toBeLessThan(1e-4);
    expect(await compare(model, [1, 1, 5, 3, 4], 2, [0])).toBeLessThan(1e-4);
    model.dispose();
  });

  it('embedding conditioning, temporal patch 2, no QK-norm, no pooled text', async () => {
    const model = createDiT(resolveDiTConfig({ preset: 'DiT-T/2', hidden: 32, heads: 4, depth: 1, patch: [2, 2, 2], condMode: 'embedding', qkNorm: false, pooledText: false, textWidth: 16, freqDim: 8 }), 3);
    randomise(model, 4);
    expect(await compare(model, [1, 3, 4, 6, 4], 4, [1, 1, 0])).toBeLessThan(1e-4);
    model.dispose();
  });

  it('first-token pooled text (alone and with the mean)', async () => {
    for (const textPool of ['first', 'mean+first'] as const) {
      const model = createDiT(resolveDiTConfig({ preset: 'DiT-T/2', hidden: 32, heads: 2, depth: 1, textWidth: 24, freqDim: 16, textPool }), 5);
      expect(model.params.has('text_first.weight')).toBe(true);
      expect(model.params.has('text_pool.weight')).toBe(textPool === 'mean+first');
      randomise(model, 6);
      expect(await compare(model, [2, 2, 4, 4, 4], 3, [1, 0])).toBeLessThan(1e-4);
      model.dispose();
    }
  });

  it('fractional absolute positions (pos_feats input), two shapes including padding', async () => {
    const model = createDiT(resolveDiTConfig({ preset: 'DiT-T/2', hidden: 32, heads: 2, depth: 1, textWidth: 24, freqDim: 16, absPos: 'fractional' }), 7);
    randomise(model, 8);
    expect(await compare(model, [2, 2, 4, 6, 4], 3, [1, 0])).toBeLessThan(1e-4);
    expect(await compare(model, [1, 1, 5, 3, 4], 2, [0])).toBeLessThan(1e-4);
    model.dispose();
  });
});
