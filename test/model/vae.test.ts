import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { createVAE, latentFrames, latentShape, pixelFrames, trimFrames, vaeLayout, VAEConfigSchema } from '../../src/model/vae.js';
import { Rng } from '../../src/util/rng.js';

const tiny = { base_channels: 8, channel_mult: [1, 2, 2], latent_channels: 4, spatial_compression: 4, temporal_compression: 4, groups: 4 };

function video(b: number, t: number, h: number, w: number, seed = 1): tf.Tensor5D {
  return tf.tensor5d(new Rng(seed).normals(b * t * h * w * 3).map((v) => Math.tanh(v)), [b, t, h, w, 3]);
}

function frameDiff(a: tf.Tensor5D, b: tf.Tensor5D, t: number): number {
  return tf.tidy(() => {
    const [n, , h, w, c] = a.shape;
    return tf.max(tf.abs(tf.sub(tf.slice(a, [0, t, 0, 0, 0], [n, 1, h, w, c]), tf.slice(b, [0, t, 0, 0, 0], [n, 1, h, w, c])))).dataSync()[0];
  });
}

describe('causal (2+1)-D VAE', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { quiet: true });
  });

  it('fills defaults: 8x spatial, 4x temporal, 4 latent channels, small width', () => {
    const cfg = VAEConfigSchema.parse({});
    expect(cfg).toMatchObject({ spatial_compression: 8, temporal_compression: 4, latent_channels: 4, base_channels: 16 });
    expect(vaeLayout(cfg)).toEqual({ channels: [16, 32, 64, 64], spatialDown: [true, true, true], temporalDown: [false, true, true] });
    expect(latentShape(cfg, 17, 64, 96)).toEqual([5, 8, 12, 4]);
    expect([latentFrames(cfg, 1), latentFrames(cfg, 6), pixelFrames(cfg, 3), trimFrames(cfg, 12)]).toEqual([1, 3, 9, 9]);
  });

  it('rejects invalid configs with the field named', () => {
    expect(() => createVAE({ ...tiny, spatial_compression: 3 })).toThrow(/spatial_compression: must be a power of two/);
    expect(() => createVAE({ ...tiny, spatial_compression: 8 })).toThrow(/spatial_compression: 8x needs at least 4 levels/);
    expect(() => createVAE({ ...tiny, base_channels: 6, groups: 4 })).toThrow(/groups: 6 channels do not split into 4 groups/);
  });

  const shapes: { name: string; cfg: object; input: [number, number, number]; latent: [number, number, number] }[] = [
    { name: 's4 t4', cfg: tiny, input: [9, 16, 24], latent: [3, 4, 6] },
    { name: 's8 t4 (default layout)', cfg: { ...tiny, channel_mult: [1, 1, 2, 2], spatial_compression: 8 }, input: [5, 16, 16], latent: [2, 2, 2] },
    { name: 's2 t2', cfg: { ...tiny, channel_mult: [1, 2], spatial_compression: 2, temporal_compression: 2 }, input: [5, 8, 8], latent: [3, 4, 4] },
    { name: 's4 t1 (image VAE)', cfg: { ...tiny, temporal_compression: 1 }, input: [3, 8, 8], latent: [3, 2, 2] },
  ];
  for (const s of shapes) {
    it(`encodes and decodes with the right shapes: ${s.name}`, () => {
      const vae = createVAE(s.cfg, 0);
      const before = tf.memory().numTensors;
      const x = video(2, ...s.input);
      const { mean, logvar } = vae.encode(x);
      expect(mean.shape).toEqual([2, ...s.latent, 4]);
      expect(logvar.shape).toEqual(mean.shape);
      const y = vae.decode(mean);
      expect(y.shape).toEqual([2, ...s.input, 3]);
      tf.dispose([x, mean, logvar, y]);
      expect(tf.memory().numTensors).toBe(before);
      vae.dispose();
    });
  }

  it('an image encodes as one latent frame equal to the first latent frame of a video that starts with it', () => {
    const vae = createVAE(tiny, 2);
    const x = video(1, 9, 16, 16, 5);
    const img = tf.slice(x, [0, 0, 0, 0, 0], [1, 1, 16, 16, 3]) as tf.Tensor5D;
    const zi = vae.encode(img);
    const zv = vae.encode(x);
    expect(zi.mean.shape).toEqual([1, 1, 4, 4, 4]);
    expect(frameDiff(zi.mean, zv.mean, 0)).toBeLessThan(1e-5);
    expect(vae.decode(zi.mean).shape).toEqual([1, 1, 16, 16, 3]);
    vae.dispose();
  });

  it('is causal: perturbing frame 5 leaves latents 0-1 (frames <= 4) unchanged and changes latent 2', () => {
    const vae = createVAE(tiny, 3);
    const x = video(1, 9, 16, 16, 6);
    const bump = tf.tidy(() => tf.concat([tf.zeros([1, 5, 16, 16, 3]), tf.fill([1, 1, 16, 16, 3], 0.5), tf.zeros([1, 3, 16, 16, 3])], 1)) as tf.Tensor5D;
    const a = vae.encode(x).mean;
    const b = vae.encode(tf.add(x, bump)).mean;
    expect(frameDiff(a, b, 0)).toBe(0);
    expect(frameDiff(a, b, 1)).toBe(0);
    expect(frameDiff(a, b, 2)).toBeGreaterThan(1e-4);
    // the decoder is causal too: latent 2 only reaches frames 5..8
    const zb = tf.tidy(() => tf.add(a, tf.concat([tf.zeros([1, 2, 4, 4, 4]), tf.fill([1, 1, 4, 4, 4], 1)], 1))) as tf.Tensor5D;
    const ya = vae.decode(a);
    const yb = vae.decode(zb);
    for (let t = 0; t <= 4; t++) expect(frameDiff(ya, yb, t)).toBe(0);
    expect(frameDiff(ya, yb, 5)).toBeGreaterThan(1e-4);
    vae.dispose();
  });

  it('pads T not = 1 (mod s_t) by repeating the last frame', () => {
    const vae = createVAE(tiny, 4);
    const x = video(1, 6, 8, 8, 7);
    const last = tf.slice(x, [0, 5, 0, 0, 0], [1, 1, 8, 8, 3]);
    const padded = tf.concat([x, last, last, last], 1) as tf.Tensor5D;
    const a = vae.encode(x).mean;
    const b = vae.encode(padded).mean;
    expect(a.shape).toEqual([1, 3, 2, 2, 4]);
    for (let t = 0; t < 3; t++) expect(frameDiff(a, b, t)).toBe(0);
    expect(vae.decode(a).shape[1]).toBe(9);
    vae.dispose();
  });

  it('rejects bad input shapes with a readable message', () => {
    const vae = createVAE(tiny, 0);
    expect(() => vae.encode(tf.zeros([1, 5, 10, 8, 3]) as tf.Tensor5D)).toThrow(/multiples of the spatial compression 4/);
    expect(() => vae.encode(tf.zeros([1, 5, 8, 8, 4]) as tf.Tensor5D)).toThrow(/vae.encode input: expected shape \(B, \*, H, W, 3\), got \(1, 5, 8, 8, 4\)/);
    expect(() => vae.decode(tf.zeros([1, 2, 2, 2, 3]) as tf.Tensor5D)).toThrow(/vae.decode input/);
    vae.dispose();
  });

  it('names parameters as documented (safetensors keys, HWIO weights)', () => {
    const vae = createVAE(tiny, 0);
    const shape = (k: string) => vae.params.get(k)?.shape;
    expect(shape('encoder.conv_in.weight')).toEqual([3, 3, 3, 8]);
    expect(shape('encoder.down.0.res.0.tconv.weight')).toEqual([3, 1, 8, 8]);
    expect(shape('encoder.down.1.res.0.skip.weight')).toEqual([1, 1, 8, 16]);
    expect(shape('encoder.down.0.down_s.weight')).toEqual([3, 3, 8, 8]);
    expect(shape('encoder.down.1.down_t.weight')).toEqual([3, 1, 16, 16]);
    expect(shape('encoder.conv_out.weight')).toEqual([3, 3, 16, 8]);
    expect(shape('decoder.up.2.up_t.weight')).toEqual([3, 1, 16, 16]);
    expect(shape('decoder.up.1.up_s.weight')).toEqual([3, 3, 16, 8]);
    expect(shape('decoder.norm_out.weight')).toEqual([8]);
    expect(shape('decoder.conv_out.bias')).toEqual([3]);
    vae.dispose();
  });
});
