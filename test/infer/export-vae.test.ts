// VAE decoder/encoder ONNX graphs vs the tfjs VAE, at several shapes (float32, 1e-4 relative).
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { createVAE } from '../../src/model/vae.js';
import { buildVaeDecoder, buildVaeEncoder, paramReader } from '../../src/infer/export/vae.js';
import { createSession, run, floatOutput } from '../../src/infer/ort.js';
import { Rng } from '../../src/util/rng.js';

const cfg = { latent_channels: 4, base_channels: 8, channel_mult: [1, 2, 2], res_blocks: 1, spatial_compression: 4, temporal_compression: 2, temporal_kernel: 3, groups: 4 };
let vae: ReturnType<typeof createVAE>;
beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
  vae = createVAE(cfg, 3);
  // non-zero norms and biases so every parameter matters
  const rng = new Rng(1);
  for (const v of vae.params.values()) {
    const noisy = tf.add(v, tf.mul(tf.tensor(rng.normals(v.size), v.shape), 0.1));
    v.assign(noisy);
    noisy.dispose();
  }
});

/** max |a − b| / max(1, max |b|) */
function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / Math.max(1, s);
}


type Vae = ReturnType<typeof createVAE>;

/** The exported decoder of `m` against m.decode on random latents of each shape (1e-4 relative). */
async function expectDecoderParity(m: Vae, shapes: readonly (readonly number[])[], seed: (shape: readonly number[]) => number): Promise<void> {
  const sess = await createSession(buildVaeDecoder(m.config, paramReader(m.params)).toBytes(), { threads: 1 });
  for (const shape of shapes) {
    const z = new Rng(seed(shape)).normals(shape.reduce((a, b) => a * b, 1));
    const ref = m.decode(tf.tensor5d(z, [...shape] as [number, number, number, number, number]));
    const out = floatOutput((await run(sess, { z: { data: z, dims: [...shape] } })).frames);
    expect(out.dims).toEqual(ref.shape);
    expect(relErr(out.data, ref.dataSync() as Float32Array)).toBeLessThan(1e-4);
    ref.dispose();
  }
}

/** The exported encoder of `m` against m.encode's mean on tanh-squashed noise of each shape (1e-4 relative). */
async function expectEncoderParity(m: Vae, shapes: readonly (readonly number[])[], seed: number): Promise<void> {
  const sess = await createSession(buildVaeEncoder(m.config, paramReader(m.params)).toBytes(), { threads: 1 });
  for (const shape of shapes) {
    const x = new Rng(seed).normals(shape.reduce((a, b) => a * b, 1)).map((v) => Math.tanh(v));
    const ref = m.encode(tf.tensor5d(x, [...shape] as [number, number, number, number, number]));
    const out = floatOutput((await run(sess, { x: { data: x, dims: [...shape] } })).mean);
    expect(out.dims).toEqual(ref.mean.shape);
    expect(relErr(out.data, ref.mean.dataSync() as Float32Array)).toBeLessThan(1e-4);
    tf.dispose([ref.mean, ref.logvar]);
  }
}

describe('VAE ONNX export parity', () => {
  it('decoder matches tfjs at three latent shapes', async () => {
    await expectDecoderParity(vae, [[1, 1, 2, 3, 4], [2, 3, 4, 4, 4], [1, 4, 3, 5, 4]], (shape) => shape[1]);
  });

  it('encoder mean matches tfjs for a video and a single image', async () => {
    await expectEncoderParity(vae, [[1, 5, 8, 12, 3], [2, 1, 8, 8, 3]], 9);
  });

  it('float16 weights stay close (1e-2 relative)', async () => {
    const sess = await createSession(buildVaeDecoder(vae.config, paramReader(vae.params), { float16: true }).toBytes(), { threads: 1 });
    const z = new Rng(4).normals(2 * 3 * 4 * 4);
    const ref = vae.decode(tf.tensor5d(z, [1, 2, 3, 4, 4]));
    const out = floatOutput((await run(sess, { z: { data: z, dims: [1, 2, 3, 4, 4] } })).frames);
    expect(relErr(out.data, ref.dataSync() as Float32Array)).toBeLessThan(1e-2);
    ref.dispose();
  });
});

describe('VAE without the output GroupNorms (out_norm: false)', () => {
  it('has no norm_out parameters, keeps the config hash of older configs, and exports with parity', async () => {
    const { configHash } = await import('../../src/model/vae.js');
    const plain = createVAE({ ...cfg, out_norm: false }, 5);
    try {
      expect([...plain.params.keys()].filter((k) => k.includes('norm_out'))).toEqual([]);
      expect(configHash({ ...vae.config, out_norm: true })).toBe(configHash(vae.config));
      expect(configHash(plain.config)).not.toBe(configHash(vae.config));
      await expectDecoderParity(plain, [[1, 2, 3, 4, 4]], () => 6);
      await expectEncoderParity(plain, [[1, 5, 8, 8, 3]], 7);
    } finally {
      plain.dispose();
    }
  });
});

describe('VAE colour shortcut (shortcut: true)', () => {
  const scCfg = { ...cfg, latent_channels: 4, temporal_compression: 2, out_norm: false, shortcut: true };

  it('is the exact block average / block repeat when every weight is zero (closed form, 1e-6)', () => {
    const m = createVAE(scCfg, 2);
    try {
      for (const v of m.params.values()) v.assign(tf.zerosLike(v));
      const x = tf.tensor5d(new Rng(3).normals(1 * 5 * 8 * 8 * 3).map((v) => Math.tanh(v)), [1, 5, 8, 8, 3]);
      const xs = x.arraySync()[0];
      const { mean, logvar } = m.encode(x);
      expect(mean.shape).toEqual([1, 3, 2, 2, 4]);
      const mz = mean.arraySync()[0];
      // latent frame k ≥ 1 averages frames 2k−1, 2k; frame 0 alone; 4×4 pixels per cell (float64 here)
      for (const [k, frames] of [[0, [0]], [1, [1, 2]], [2, [3, 4]]] as const) {
        for (let c = 0; c < 3; c++) {
          let want = 0;
          for (const f of frames) for (let i = 4; i < 8; i++) for (let j = 0; j < 4; j++) want += xs[f][i][j][c] / (16 * frames.length);
          expect(Math.abs(mz[k][1][0][c] - want)).toBeLessThan(1e-6);
        }
        expect(mz[k][1][0][3]).toBe(0); // channels ≥ 3 untouched
      }
      const y = m.decode(mean).arraySync()[0];
      expect(y.length).toBe(5);
      for (const [f, k] of [[0, 0], [1, 1], [2, 1], [3, 2], [4, 2]] as const) for (let c = 0; c < 3; c++) expect(Math.abs(y[f][6][1][c] - mz[k][1][0][c])).toBeLessThan(1e-6);
      tf.dispose([x, mean, logvar]);
    } finally {
      m.dispose();
    }
  });

  it('changes the config hash only when on, needs 3 latent channels, and exports with parity (1e-4)', async () => {
    const { configHash, VAEConfigSchema } = await import('../../src/model/vae.js');
    expect(configHash({ ...cfg, shortcut: false })).toBe(configHash(cfg));
    expect(configHash({ ...cfg, shortcut: true })).not.toBe(configHash(cfg));
    expect(VAEConfigSchema.safeParse({ ...scCfg, latent_channels: 2 }).success).toBe(false);
    const m = createVAE(scCfg, 5);
    try {
      await expectDecoderParity(m, [[1, 3, 3, 4, 4]], () => 6);
      await expectEncoderParity(m, [[1, 5, 8, 12, 3], [2, 1, 8, 8, 3]], 7);
    } finally {
      m.dispose();
    }
  });
});
