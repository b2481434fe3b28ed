import { beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { createVAE, loadVAE } from '../../src/model/vae.js';
import { writeClips } from '../../src/data/clips.js';
import { writeVideo } from '../../src/data/video.js';
import { paramsToTensors, saveCheckpoint } from '../../src/train/checkpoint.js';
import { AdamW } from '../../src/train/optimizer.js';
import { parseVAERunConfig, reconstructionPsnr, trainVAE, vaeTrainStep, VAETrainConfigSchema } from '../../src/train/vae-train.js';
import { FileError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { movingSquare, runCli, tmpDir } from '../helpers.js';

const tinyModel = { base_channels: 8, channel_mult: [1, 2, 2], latent_channels: 4, spatial_compression: 4, temporal_compression: 4, groups: 4 };
const dir = tmpDir('spacetime-vae-train-');

/** A red square moving right and down on grey: (1, T, S, S, 3) in [−1, 1]. */
function squareClip(T: number, S: number): tf.Tensor5D {
  const frames = movingSquare(T, S, S, { size: 8, dx: 2, dy: 1, x0: 4, y0: 6 });
  const data = new Float32Array(T * S * S * 3);
  frames.forEach((f, t) => f.data.forEach((v, i) => (data[t * S * S * 3 + i] = v / 127.5 - 1)));
  return tf.tensor5d(data, [1, T, S, S, 3]);
}

async function makeDataset(d: string, n: number): Promise<void> {
  const clips = [];
  for (let i = 0; i < n; i++) {
    await writeVideo(path.join(d, `c${i}.mp4`), movingSquare(9, 32, 32, { dx: 2, dy: 1, x0: 2 + 3 * i, y0: 4 }), { fps: 8 });
    clips.push({ id: `c${i}`, path: `c${i}.mp4`, width: 32, height: 32, frames: 9, fps: 8 });
  }
  await writeClips(d, clips);
}

describe('VAE training', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { quiet: true });
    await ensureGradients();
  });

  it('reaches >= 22 dB round-trip PSNR on a moving-square clip after 50 steps (tiny config)', () => {
    const vae = createVAE(tinyModel, 0);
    const opt = new AdamW(vae.params, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, clipNorm: 1 });
    const x = squareClip(9, 32);
    const train = VAETrainConfigSchema.parse({ beta_kl: 1e-5 });
    const rng = new Rng(0);
    const before = reconstructionPsnr(vae, x);
    const tensors = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 50; i++) losses.push(vaeTrainStep(vae, opt, x, train, i < 10 ? (3e-3 * (i + 1)) / 10 : 3e-3, rng).loss);
    expect(tf.memory().numTensors).toBe(tensors); // a train step leaks nothing
    const after = reconstructionPsnr(vae, x);
    expect(losses[49]).toBeLessThan(0.5 * losses[0]);
    expect(after).toBeGreaterThan(before + 5);
    expect(after).toBeGreaterThanOrEqual(22);
    tf.dispose(x);
    opt.dispose();
    vae.dispose();
  });

  it('chroma_weight adds the loss of the error minus its RGB mean (closed form with a zero model, float64, 1e-5)', () => {
    const vae = createVAE(tinyModel, 0);
    for (const v of vae.params.values()) v.assign(tf.zerosLike(v)); // x̂ = 0, so the error is −x
    const opt = new AdamW(vae.params, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, clipNorm: 1 });
    const x = squareClip(5, 16);
    const xs = x.dataSync();
    for (const loss of ['l1', 'mse'] as const) {
      const f = loss === 'l1' ? Math.abs : (v: number) => v * v;
      let plain = 0;
      let chroma = 0;
      for (let i = 0; i < xs.length; i += 3) {
        const m = (xs[i] + xs[i + 1] + xs[i + 2]) / 3;
        for (let c = 0; c < 3; c++) {
          plain += f(xs[i + c]);
          chroma += f(xs[i + c] - m);
        }
      }
      plain /= xs.length;
      chroma /= xs.length;
      expect(chroma).toBeGreaterThan(0.01); // the red square has colour
      for (const w of [0, 2.5]) {
        const train = VAETrainConfigSchema.parse({ beta_kl: 0, loss, chroma_weight: w });
        const got = vaeTrainStep(vae, opt, x, train, 0, new Rng(1)).loss;
        expect(Math.abs(got - (plain + w * chroma))).toBeLessThan(1e-5);
      }
    }
    tf.dispose(x);
    opt.dispose();
    vae.dispose();
  });

  it('saves and loads a checkpoint with identical output; corrupt files and edited configs fail clearly', async () => {
    const vae = createVAE(tinyModel, 5);
    const run = path.join(dir, 'manual');
    const config = { kind: 'spacetime-vae', model: vae.config, train: VAETrainConfigSchema.parse({}) };
    const { configHash } = await import('../../src/model/vae.js');
    const ck = await saveCheckpoint(run, 7, { files: { model: paramsToTensors(vae.params) }, config: { ...config, config_hash: configHash(vae.config) }, state: {} });
    const x = squareClip(5, 16);
    const a = vae.decode(vae.encode(x).mean);
    const loaded = await loadVAE(run); // run dir → latest
    expect(loaded.dir).toBe(ck);
    expect(loaded.step).toBe(7);
    const b = loaded.vae.decode(loaded.vae.encode(x).mean);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    loaded.vae.dispose();

    // truncated weights
    const bad = path.join(dir, 'bad');
    await fs.cp(ck, bad, { recursive: true });
    const st = path.join(bad, 'model.safetensors');
    const bytes = await fs.readFile(st);
    await fs.writeFile(st, bytes.subarray(0, bytes.length - 100));
    await expect(loadVAE(bad)).rejects.toThrow(FileError);
    await expect(loadVAE(bad)).rejects.toThrow(/model\.safetensors/);

    // an edited model config: the hash no longer matches
    const edited = path.join(dir, 'edited');
    await fs.cp(ck, edited, { recursive: true });
    const cfgFile = path.join(edited, 'config.json');
    const cfg = JSON.parse(await fs.readFile(cfgFile, 'utf8'));
    cfg.model.base_channels = 16;
    cfg.model.groups = 8;
    await fs.writeFile(cfgFile, JSON.stringify(cfg));
    await expect(loadVAE(edited)).rejects.toThrow(/config_hash .* does not match/);
    // ... and without a hash, the weights have the wrong shapes
    delete cfg.config_hash;
    await fs.writeFile(cfgFile, JSON.stringify(cfg));
    await expect(loadVAE(edited)).rejects.toThrow(/model\.safetensors: encoder\.conv_in\.weight: expected shape \(3, 3, 3, 16\), got \(3, 3, 3, 8\)/);
    await expect(loadVAE(path.join(dir, 'nope'))).rejects.toThrow(/no such checkpoint/);
    vae.dispose();
  });

  it('trains from a clip dataset, writes ckpt-<step>/ + latest, and resumes bit-exactly', async () => {
    const data = path.join(dir, 'clips');
    await makeDataset(data, 2);
    const cfg = parseVAERunConfig({ model: tinyModel, train: { steps: 4, batch: 1, frames: 5, crop: 16, ckpt_every: 2, log_every: 1, warmup: 1 } }, 'test');
    const full = await trainVAE({ data, out: path.join(dir, 'runA'), config: cfg, backend: 'wasm', progress: false });
    expect(full.step).toBe(4);
    expect(path.basename(full.ckpt)).toBe('ckpt-00000004');
    expect((await fs.readFile(path.join(dir, 'runA', 'latest'), 'utf8')).trim()).toBe('ckpt-00000004');
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'config.json', 'state.json']) await fs.access(path.join(full.ckpt, f));
    const stored = JSON.parse(await fs.readFile(path.join(full.ckpt, 'config.json'), 'utf8'));
    expect(stored).toMatchObject({ kind: 'spacetime-vae', model: { base_channels: 8 }, train: { steps: 4 } });
    expect(stored.config_hash).toMatch(/^[0-9a-f]{16}$/);
    expect(full.clipsPerSec).toBeGreaterThan(0);

    const half = parseVAERunConfig({ model: tinyModel, train: { ...cfg.train, steps: 2 } }, 'test');
    await trainVAE({ data, out: path.join(dir, 'runB'), config: half, backend: 'wasm', progress: false });
    const resumed = await trainVAE({ data, out: path.join(dir, 'runB'), config: cfg, backend: 'wasm', resume: true, progress: false });
    expect(resumed.step).toBe(4);
    const [a, b] = await Promise.all([fs.readFile(path.join(full.ckpt, 'model.safetensors')), fs.readFile(path.join(resumed.ckpt, 'model.safetensors'))]);
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('validates the run config: frames must be 1 mod s_t, crop a multiple of s', () => {
    expect(() => parseVAERunConfig({ model: tinyModel, train: { frames: 8 } }, 'cfg.json')).toThrow(/cfg\.json: train\.frames: 8 is not 1 \+ k·4/);
    expect(() => parseVAERunConfig({ model: tinyModel, train: { crop: 30 } }, 'cfg.json')).toThrow(/train\.crop: 30 is not a multiple of 4/);
    expect(() => parseVAERunConfig({ model: tinyModel, train: { lr: -1 } }, 'cfg.json')).toThrow(/train\.lr/);
    expect(() => parseVAERunConfig({ modle: {} }, 'cfg.json')).toThrow(/cfg\.json: .*modle/);
    expect(() => parseVAERunConfig({ model: { ...tinyModel, latnt_channels: 9 } }, 'cfg.json')).toThrow(/cfg\.json: model: .*latnt_channels/); // a misspelt model key is not ignored
  });

  it('CLI: vae train reports bad flags and missing data in one line', () => {
    const r = runCli(['vae', 'train', '--data', path.join(dir, 'missing'), '--out', path.join(dir, 'runC'), '--steps', '0', '--backend', 'cpu']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error: --steps: /);
    const r2 = runCli(['vae', 'train', '--data', path.join(dir, 'missing'), '--out', path.join(dir, 'runC'), '--steps', '1', '--backend', 'cpu']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/error: .*missing\/clips\.jsonl: no such file/);
  });

  it('CLI: vae train runs from the built package on wasm with configs/vae-tiny.json and prints the checkpoint', () => {
    const out = path.join(dir, 'runCli');
    const r = runCli(['vae', 'train', '--data', path.join(dir, 'clips'), '--out', out, '--config', 'configs/vae-tiny.json', '--steps', '2', '--batch', '1', '--backend', 'wasm']);
    expect(r.stderr).toMatch(/vae train: 2 steps, psnr [\d.]+ dB, [\d.]+ clips\/s/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(path.join(out, 'ckpt-00000002'));
  });
});
