// `spacetime train` / `spacetime sample` as library calls on a tiny DiT and a tiny latent dataset:
// bit-exact resume (N steps straight = k steps, stop, resume to N), keep-last-K, TensorBoard
// events, packing mode, readable errors, and a sampling run that leaves no tensors behind.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { createVAE } from '../../src/model/vae.js';
import { loadSystem } from '../../src/train/build.js';
import { listCheckpoints, paramsToTensors, saveCheckpoint } from '../../src/train/checkpoint.js';
import { ObjectiveSchema } from '../../src/train/objective-config.js';
import { sampleLatent } from '../../src/train/preview.js';
import { runTrain } from '../../src/train/run.js';
import { readEvents } from '../../src/train/tensorboard.js';
import { runSample } from '../../src/train/sample-run.js';
import { tmpDir } from '../helpers.js';
import { writeLatentFixture, writeTinyConfig } from './tiny.js';

const sink = { write: () => true, isTTY: false };
const root = tmpDir();
const data = path.join(root, 'latents');

async function makeLatents(dir: string): Promise<void> {
  await writeLatentFixture(dir, [[2, 4, 4, 4], [2, 4, 4, 4], [2, 4, 4, 4], [1, 4, 6, 4], [1, 4, 6, 4]]);
}

const writeConfig = (name: string, over: Record<string, unknown> = {}) => writeTinyConfig(root, name, over);

const vdir = path.join(root, 'vae');

beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
  await makeLatents(data);
  // a tiny VAE checkpoint (2× space, 2× time) for previews and `sample`
  const vae = createVAE({ latent_channels: 4, base_channels: 4, channel_mult: [1, 1], spatial_compression: 2, temporal_compression: 2, groups: 2 }, 1);
  await saveCheckpoint(vdir, 1, { files: { model: paramsToTensors(vae.params) }, config: { kind: 'spacetime-vae', model: vae.config }, state: {} });
  vae.dispose();
});

describe('runTrain', () => {
  it('N steps straight = k steps, interrupt, resume to N (bit-exact); keeps the last K; writes TensorBoard events', async () => {
    const cfgFile = await writeConfig('a.json');
    const a = path.join(root, 'runA');
    const ra = await runTrain({ data, out: a, config: cfgFile, progress: sink });
    expect(ra).toMatchObject({ step: 6, stopped: false });
    expect((await listCheckpoints(a)).map((c) => c.step)).toEqual([4, 6]);
    expect((await fs.readdir(a)).some((n) => n.startsWith('events.out.tfevents.'))).toBe(true);

    const b = path.join(root, 'runB');
    const rb1 = await runTrain({ data, out: b, config: cfgFile, stopAt: 3, progress: sink });
    expect(rb1.step).toBe(3);
    const rb2 = await runTrain({ data, out: b, resume: true, progress: sink });
    expect(rb2.step).toBe(6);
    for (const f of ['model.safetensors', 'ema.safetensors', 'optimizer.safetensors']) {
      const x = await fs.readFile(path.join(ra.checkpoint, f));
      const y = await fs.readFile(path.join(rb2.checkpoint, f));
      expect(Buffer.compare(x, y), f).toBe(0);
    }
    const stA = JSON.parse(await fs.readFile(path.join(ra.checkpoint, 'state.json'), 'utf8'));
    const stB = JSON.parse(await fs.readFile(path.join(rb2.checkpoint, 'state.json'), 'utf8'));
    expect(stB.rng).toEqual(stA.rng);
    expect(stB.loader).toEqual(stA.loader);
    // the stored config is complete and resolved
    const cfg = JSON.parse(await fs.readFile(path.join(ra.checkpoint, 'config.json'), 'utf8'));
    expect(typeof cfg.data.latentScale).toBe('number');
    expect(cfg.model.hidden).toBe(16);
  });

  it('data.hflip reaches the bucketed and packed batch streams and resume stays bit-exact with it', async () => {
    const weights = async (ckpt: string) => fs.readFile(path.join(ckpt, 'model.safetensors'));
    for (const mode of ['bucket', 'pack'] as const) {
      const data0 = { targetTokens: mode === 'pack' ? 24 : 16, maxBatch: 2, mode };
      const plain = await runTrain({ data, out: path.join(root, `hf0-${mode}`), config: await writeConfig(`hf0-${mode}.json`, { steps: 4, data: data0 }), progress: sink });
      const cfgFile = await writeConfig(`hf-${mode}.json`, { steps: 4, data: { ...data0, hflip: 0.5 } });
      const straight = await runTrain({ data, out: path.join(root, `hf-${mode}`), config: cfgFile, progress: sink });
      // the fixture's latents are stored means (no random draw), so only the mirroring changes the run
      expect(Buffer.compare(await weights(plain.checkpoint), await weights(straight.checkpoint)), mode).not.toBe(0);
      const b = path.join(root, `hfB-${mode}`);
      await runTrain({ data, out: b, config: cfgFile, stopAt: 2, progress: sink });
      const resumed = await runTrain({ data, out: b, resume: true, progress: sink });
      expect(Buffer.compare(await weights(straight.checkpoint), await weights(resumed.checkpoint)), mode).toBe(0);
    }
    await expect(writeConfig('hf-bad.json', { data: { hflip: 1.5 } }).then((c) => runTrain({ data, out: path.join(root, 'hf-bad'), config: c, progress: sink }))).rejects.toThrow(/data\.hflip/);
  });

  it('readable errors: resume without checkpoints, reuse of a run dir, bad config field', async () => {
    await expect(runTrain({ data, out: path.join(root, 'empty'), resume: true, progress: sink })).rejects.toThrow(/--resume: .* holds no checkpoint/);
    await expect(runTrain({ data, out: path.join(root, 'runA'), config: await writeConfig('a2.json'), progress: sink })).rejects.toThrow(/--out: .* already holds checkpoints/);
    await expect(runTrain({ data, out: path.join(root, 'bad'), config: await writeConfig('bad.json', { lr: { lr: -1 } }), progress: sink })).rejects.toThrow(/bad\.json: lr\.lr: /);
    await expect(runTrain({ data, out: path.join(root, 'bad2'), config: await writeConfig('bad2.json', { model: { preset: 'DiT-T/2', latentChannels: 3 } }), progress: sink })).rejects.toThrow(/latents have 4 channels but model\.latentChannels is 3/);
  });

  it('--init fine-tunes from a checkpoint: its EMA weights, tokenizer and architecture, a fresh step count; bad combinations are named', async () => {
    const base = path.join(root, 'runInitBase');
    await runTrain({ data, out: base, config: await writeConfig('base.json'), progress: sink });
    const src = await loadSystem(base, { ema: true });
    const want = paramsToTensors(src.system.params);
    const tok = JSON.stringify(src.system.tokenizer.toJSON());
    const scale = src.ck.config.data.latentScale;
    src.system.dispose();
    // the fine-tune config asks for another architecture and lr: the architecture comes from --init
    const ftCfg = await writeConfig('ft.json', { model: { preset: 'DiT-T/2', hidden: 32, depth: 2, heads: 2, textWidth: 32, latentChannels: 4 }, lr: { lr: 1e-9, warmupSteps: 0 }, steps: 2 });
    const ft = path.join(root, 'runInit');
    const r = await runTrain({ data, out: ft, config: ftCfg, init: base, progress: sink });
    expect(r.step).toBe(2);
    const got = await loadSystem(ft, { ema: false });
    expect(got.ck.config.model.hidden).toBe(16);
    expect(got.ck.config.data.latentScale).toBe(scale);
    expect(got.ck.config.lr.lr).toBe(1e-9);
    expect(JSON.stringify(got.system.tokenizer.toJSON())).toBe(tok);
    // lr 1e-9 for 2 steps: the weights are the init's EMA weights to within the update size
    const have = paramsToTensors(got.system.params);
    let maxDiff = 0;
    for (const [k, v] of Object.entries(want)) {
      const a = v.data as Float32Array;
      const b = have[k].data as Float32Array;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    }
    expect(maxDiff).toBeLessThan(1e-6);
    got.system.dispose();
    await expect(runTrain({ data, out: path.join(root, 'runInitBad'), init: base, resume: true, progress: sink })).rejects.toThrow(/--init .* cannot be combined with --resume/);
    await expect(runTrain({ data, out: path.join(root, 'runInitMissing'), init: path.join(root, 'nope'), progress: sink })).rejects.toThrow(/nope/);
  });

  it('DDPM (v, zero terminal SNR, min-SNR) with packing trains, logs VAE previews, and samples with ddim', async () => {
    const out = path.join(root, 'pack');
    const objective = { kind: 'ddpm', ddpm: { schedule: 'linear', prediction: 'v', zeroTerminalSnr: true }, weighting: 'min-snr' };
    const over = { steps: 2, objective, data: { mode: 'pack', targetTokens: 24 }, log: { every: 1, evalEvery: 1, evalLevels: [0.5], previewEvery: 2, previewSteps: 2, previewVae: vdir }, sample: { sampler: 'ddim', steps: 3, cfg: 2 } };
    const r = await runTrain({ data, out, config: await writeConfig('p.json', over), progress: sink });
    expect(r.step).toBe(2);
    expect(Number.isFinite(r.loss)).toBe(true);
    const events = (await fs.readdir(out)).filter((n) => n.startsWith('events.out.tfevents.'));
    const all = (await Promise.all(events.map((e) => readEvents(path.join(out, e))))).flat();
    const tags = new Set(all.flatMap((e) => e.summary?.value.map((v) => v.tag) ?? []));
    for (const t of ['train/loss', 'train/lr', 'train/grad_norm', 'perf/tokens_per_sec', 'val/loss_t0.5', 'preview']) expect(tags.has(t), t).toBe(true);
    const img = all.flatMap((e) => e.summary?.value ?? []).find((v) => v.tag === 'preview')!.image!;
    expect([img.height, img.width]).toEqual([8, 3 * 8]); // latent 4×4 → 8×8 pixels, 3 frames side by side
    const s = await runSample({ ckpt: out, prompt: 'a red ball', out: path.join(root, 'ddpm.gif'), progress: sink });
    expect(s.latent).toEqual([2, 4, 4, 4]);
  });
});

describe('sampling', () => {
  it('a sampling run leaves the tensor count unchanged; sample writes a video', async () => {
    const { system, ck } = await loadSystem(path.join(root, 'runA'));
    const o = { model: system.dit, encodeText: system.encodeText, prompt: 'a red ball', shape: [2, 4, 4, 4] as const, tokens: 8, objective: ObjectiveSchema.parse(ck.config.objective), sampler: 'heun' as const, steps: 3, cfgScale: 3, seed: 1 };
    await sampleLatent(o); // warm-up (kernels, caches)
    const before = tf.memory().numTensors;
    const z = await sampleLatent(o);
    expect(tf.memory().numTensors).toBe(before);
    expect(z.length).toBe(2 * 4 * 4 * 4);
    expect(z.every(Number.isFinite)).toBe(true);
    system.dispose();

    // the full sample command path
    const out = path.join(root, 'clip.gif');
    const r = await runSample({ ckpt: path.join(root, 'runA'), vae: vdir, prompt: 'a red ball bounces', out, steps: 2, seed: 3, progress: sink });
    expect(r.latent).toEqual([2, 4, 4, 4]);
    expect(r.frames).toBe(3);
    expect((await fs.stat(out)).size).toBeGreaterThan(0);
    await expect(runSample({ ckpt: path.join(root, 'runA'), vae: vdir, prompt: 'x', out, sampler: 'ddim', progress: sink })).rejects.toThrow(/--sampler: ddim needs a DDPM-trained checkpoint/);
    await expect(runSample({ ckpt: path.join(root, 'runA'), prompt: 'x', out, progress: sink })).rejects.toThrow(/--vae: needed/);
  });
});
