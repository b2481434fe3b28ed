// export → generate end to end through the CLI on a tiny model trained here for a few steps (a
// model that follows prompts is the demo's job): every mode writes a clip with the right shape,
// conditioning frames are reproduced, outputs are deterministic per seed and verifiable, bad
// flags fail in one line.
import { describe, expect, it, beforeAll } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { createVAE, configHash } from '../../src/model/vae.js';
import { finalizeManifest, writeShard, type LatentRow } from '../../src/data/shards.js';
import { paramsToTensors, saveCheckpoint } from '../../src/train/checkpoint.js';
import { runTrain } from '../../src/train/run.js';
import { VAETrainConfigSchema } from '../../src/train/vae-train.js';
import { openOnnxEngines } from '../../src/infer/onnx-engines.js';
import { generate } from '../../src/infer/pipeline.js';
import { writeImage } from '../../src/data/image.js';
import { probeVideo, readVideo, writeVideo } from '../../src/data/video.js';
import { Rng } from '../../src/util/rng.js';
import { movingSquare, runCli, tmpDir } from '../helpers.js';

const dir = tmpDir();
const env = { SPACETIME_CONFIG_DIR: path.join(dir, 'config') };
const model = path.join(dir, 'model');

beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
  const vae = createVAE({ latent_channels: 4, base_channels: 8, channel_mult: [1, 2], spatial_compression: 2, temporal_compression: 2, groups: 4 }, 1);
  await saveCheckpoint(path.join(dir, 'vae'), 1, { files: { model: paramsToTensors(vae.params) }, config: { kind: 'spacetime-vae', model: vae.config, train: VAETrainConfigSchema.parse({}), config_hash: configHash(vae.config) }, state: {} });
  vae.dispose();
  // a tiny latent dataset in the VAE's geometry (5 frames of 16×16 → latents (3, 8, 8, 4))
  const rng = new Rng(3);
  const captions = ['a red ball bounces on a grey floor', 'a blue box slides to the left', 'a green ball rolls to the right'];
  const rows: LatentRow[] = captions.map((caption, i) => ({ id: `clip${i}`, latent: rng.normals(3 * 8 * 8 * 4), shape: [3, 8, 8, 4], fps: 8, caption, caption_source: 'test', width: 16, height: 16, frames: 5, bucket: '3x8x8' }));
  const data = path.join(dir, 'latents');
  await writeShard(data, 0, rows, { dtype: 'float32' });
  await finalizeManifest(data, { schema_version: 1, vae: { id: 'test', config_hash: 'x' }, dtype: 'float32', stats: 'mean', version: 1 });
  const cfgFile = path.join(dir, 'train.json');
  await fs.writeFile(cfgFile, JSON.stringify({ model: { preset: 'DiT-T/2', hidden: 32, heads: 2, depth: 1, textWidth: 32, freqDim: 16, absPos: 'fractional' }, text: { vocabSize: 300, maxTokens: 8, depth: 1, heads: 2 }, steps: 4, data: { targetTokens: 64, maxBatch: 2 }, log: { every: 1, evalEvery: 0 }, checkpoint: { every: 4, keepLast: 1 }, sample: { steps: 3, cfg: 2 }, seed: 2 }));
  await runTrain({ data, out: path.join(dir, 'run'), config: cfgFile, progress: { write: () => true, isTTY: false } });
  const r = runCli(['export', '--ckpt', path.join(dir, 'run'), '--vae', path.join(dir, 'vae'), '--out', model, '--frames', '5', '--size', '16x16', '--fps', '8'], { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  await writeVideo(path.join(dir, 'in.mp4'), movingSquare(7, 16, 16, { size: 4, dx: 1 }), { fps: 8 });
  await writeVideo(path.join(dir, 'in2.mp4'), movingSquare(7, 16, 16, { size: 4, dx: -1, x0: 10, color: [40, 40, 220] }), { fps: 8 });
  await writeImage(path.join(dir, 'first.png'), movingSquare(1, 16, 16, { size: 6 })[0]);
});

describe('spacetime export', () => {
  it('writes the four graphs, the tokenizer and a config the generator accepts', async () => {
    const files = (await fs.readdir(model)).sort();
    expect(files).toEqual(['config.json', 'dit.onnx', 'text_encoder.onnx', 'tokenizer.json', 'vae_decoder.onnx', 'vae_encoder.onnx']);
    const cfg = JSON.parse(await fs.readFile(path.join(model, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ format: 'spacetime-onnx/1', model: { step: 4 }, defaults: { frames: 5, width: 16, height: 16, steps: 3, cfg: 2 } });
    expect(cfg.latentScale).toBeGreaterThan(0);
    expect(cfg.model.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--cfg / --steps set the stored generation defaults; bad values fail in one line', async () => {
    const m = path.join(dir, 'model-cfg');
    const r = runCli(['export', '--ckpt', path.join(dir, 'run'), '--vae', path.join(dir, 'vae'), '--out', m, '--cfg', '3.5', '--steps', '2'], { env });
    expect(r.code).toBe(0);
    const cfg = JSON.parse(await fs.readFile(path.join(m, 'config.json'), 'utf8'));
    expect(cfg.defaults).toMatchObject({ steps: 2, cfg: 3.5 });
    // the defaults are not part of the model hash (the graphs are the same)
    expect(cfg.model.hash).toBe(JSON.parse(await fs.readFile(path.join(model, 'config.json'), 'utf8')).model.hash);
    for (const [flag, v] of [['--cfg', '-1'], ['--steps', '0'], ['--steps', '2.5']]) {
      const bad = runCli(['export', '--ckpt', path.join(dir, 'run'), '--vae', path.join(dir, 'vae'), '--out', path.join(dir, 'm-bad'), flag, v], { env });
      expect(bad.code).toBe(1);
      expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^error: ${flag}: expected a (non-negative number|positive integer)`))]);
    }
    await expect(fs.stat(path.join(dir, 'm-bad'))).rejects.toThrow();
  });

  it('refuses a checkpoint without a VAE, and a missing checkpoint, in one line', () => {
    const r = runCli(['export', '--ckpt', path.join(dir, 'run'), '--out', path.join(dir, 'm2')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: --vae: the checkpoint names no VAE/);
    const r2 = runCli(['export', '--ckpt', path.join(dir, 'nope'), '--vae', path.join(dir, 'vae'), '--out', path.join(dir, 'm3')], { env });
    expect(r2.code).toBe(1);
    expect(r2.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('generate modes on the exported model', () => {
  it('is deterministic per seed and keeps the image as the first frame exactly (i2v)', async () => {
    const eng = await openOnnxEngines(model, { threads: 1 });
    try {
      const base = { prompt: 'a red ball bounces', width: 16, height: 16, frames: 5, steps: 3, cfg: 2, seed: 4, sampler: 'euler' as const };
      const a = await generate(eng, { ...base, mode: { kind: 't2v' } });
      const b = await generate(eng, { ...base, mode: { kind: 't2v' } });
      expect(a.frames).toHaveLength(5);
      expect(a.frames.every((f, i) => Buffer.from(f.data).equals(Buffer.from(b.frames[i].data)))).toBe(true);
      const img = movingSquare(1, 16, 16, { size: 6 })[0];
      const r = await generate(eng, { ...base, mode: { kind: 'i2v', image: img } });
      const enc = await eng.encode([img]);
      const recon = await eng.decode(enc.z, enc.shape);
      // the causal decoder's frame 0 depends on latent frame 0 only, which is kept clean
      expect(Buffer.from(r.frames[0].data).equals(Buffer.from(recon[0].data))).toBe(true);
      // loop: the transition window ends on the base clip's first latent frames (seam closes in latent space)
      const loop = await generate(eng, { ...base, frames: 9, mode: { kind: 'loop' } });
      expect(loop.latentShape[1]).toBe(5 + 3);
    } finally {
      await eng.release();
    }
  });

  it('writes every mode from the CLI with sidecar and valid provenance', async () => {
    const out = (n: string) => path.join(dir, n);
    const common = ['--model', model, '--prompt', 'a red ball bounces on a grey floor', '--steps', '2'];
    const cases: [string, string[], number][] = [
      ['t2v.mp4', [], 5],
      ['i2v.mp4', ['--image', out('first.png')], 5],
      ['ext.mp4', ['--extend', out('in.mp4'), '--frames', '4'], 7 + 4],
      ['back.webm', ['--extend', out('in.mp4'), '--direction', 'backward', '--frames', '2'], 7 + 2],
      // A: 4 latents, transition: 1 new latent, B: 4 latents → 9 latents = 17 frames (B's first
      // latent, a single frame at the start of its own clip, decodes to 2 frames mid-sequence)
      ['conn.mp4', ['--connect', out('in.mp4'), out('in2.mp4')], 17],
      ['loop.gif', ['--loop'], 7],
      ['edit.mp4', ['--edit', out('in.mp4'), '--strength', '0.5'], 7],
    ];
    for (const [name, extra, frames] of cases) {
      const r = runCli(['generate', ...common, ...extra, '--out', out(name)], { env });
      expect(r.stderr.split('\n').filter((l) => l.startsWith('error'))).toEqual([]);
      expect(r.code).toBe(0);
      expect((await probeVideo(out(name))).frames).toBe(frames);
      const side = JSON.parse(await fs.readFile(`${out(name)}.json`, 'utf8'));
      expect(side.model.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(side.timings.generate_s).toBeGreaterThan(0);
      const v = runCli(['verify', out(name)], { env });
      expect(v.stdout).toMatch(/VALID/);
    }
    // an image (--frames 1) as PNG frames
    const png = runCli(['generate', ...common, '--frames', '1', '--out', out('still')], { env });
    expect(png.code).toBe(0);
    expect(await fs.readdir(out('still'))).toEqual(['frame-00000.png']);
    // extension frames reproduce the input clip's decoded frames within codec tolerance
    const src = (await readVideo(out('in.mp4'))).frames;
    const ext = (await readVideo(out('ext.mp4'))).frames;
    expect(ext[0].width).toBe(src[0].width);
  });

  it('bench --model with --cfg / --steps generates every case with them and records them', async () => {
    const suite = path.join(dir, 'suite.json');
    await fs.writeFile(suite, JSON.stringify({ name: 'tiny', cases: [{ id: 'red', prompt: 'a red ball bounces on a grey floor', size: '16x16', frames: 5, seed: 1 }] }));
    const out = path.join(dir, 'bench-cfg');
    const r = runCli(['bench', '--suite', suite, '--model', model, '--out', out, '--cfg', '1.5', '--steps', '2', '--no-temporal'], { env });
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error'))).toEqual([]);
    expect(r.code).toBe(0);
    const res = JSON.parse(await fs.readFile(path.join(out, 'results.json'), 'utf8'));
    expect(res.generation).toEqual({ cfg: 1.5, steps: 2 });
    const side = JSON.parse(await fs.readFile(path.join(out, 'videos', 'red.mp4.json'), 'utf8'));
    expect(side.settings).toMatchObject({ cfg: 1.5, steps: 2 });
    // without the flags: the model's defaults (steps 3, cfg 2), and no "generation" entry
    const out2 = path.join(dir, 'bench-default');
    expect(runCli(['bench', '--suite', suite, '--model', model, '--out', out2, '--no-temporal'], { env }).code).toBe(0);
    expect(JSON.parse(await fs.readFile(path.join(out2, 'results.json'), 'utf8')).generation).toBeUndefined();
    expect(JSON.parse(await fs.readFile(path.join(out2, 'videos', 'red.mp4.json'), 'utf8')).settings).toMatchObject({ cfg: 2, steps: 3 });
    // --upsample-prompt: each case generated from its expanded prompt, judged against its own, recorded
    const out3 = path.join(dir, 'bench-up');
    expect(runCli(['bench', '--suite', suite, '--model', model, '--out', out3, '--steps', '1', '--upsample-prompt', 'builtin', '--no-temporal'], { env }).code).toBe(0);
    const up = JSON.parse(await fs.readFile(path.join(out3, 'results.json'), 'utf8'));
    expect(up.generation).toEqual({ steps: 1, upsample: 'builtin' });
    expect(up.cases[0].prompt).toBe('a red ball bounces on a grey floor');
    const upSide = JSON.parse(await fs.readFile(path.join(out3, 'videos', 'red.mp4.json'), 'utf8'));
    expect(upSide.prompt_final).toMatch(/^A small red ball falls from the top and bounces twice on the grey floor, .* The camera is static\. The clip lasts [\d.]+ seconds?\.$/);
    // bad values, and --cfg with videos made elsewhere, fail in one line before anything is written
    for (const [extra, msg] of [[['--model', model, '--cfg', '-2'], /^error: --cfg: expected a non-negative number/], [['--model', model, '--steps', '0'], /^error: --steps: expected a positive integer/], [['--videos', dir, '--prompts', suite, '--cfg', '3'], /^error: --cfg: only applies with --model/], [['--videos', dir, '--prompts', suite, '--upsample-prompt', 'builtin'], /^error: --upsample-prompt: only applies with --model/]] as const) {
      const bad = runCli(['bench', '--suite', suite, '--out', path.join(dir, 'bench-bad'), ...extra], { env });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(msg)]);
    }
    await expect(fs.stat(path.join(dir, 'bench-bad'))).rejects.toThrow();
  });

  it('runs a --batch file with one set of sessions and applies --upsample-prompt', async () => {
    await fs.writeFile(path.join(dir, 'prompts.txt'), 'a red ball bounces\n# comment\na blue box slides to the left\n');
    const r = runCli(['generate', '--model', model, '--batch', path.join(dir, 'prompts.txt'), '--out', path.join(dir, 'batch'), '--steps', '1', '--upsample-prompt', 'builtin'], { env });
    expect(r.code).toBe(0);
    expect((await fs.readdir(path.join(dir, 'batch'))).filter((f) => f.endsWith('.mp4')).sort()).toEqual(['clip-000.mp4', 'clip-001.mp4']);
    const side = JSON.parse(await fs.readFile(path.join(dir, 'batch', 'clip-001.mp4.json'), 'utf8'));
    // expanded in the training captions' phrasing, with the generated clip's duration
    expect(side.prompt_final).toMatch(/^A small blue box slides from right to left across the grey floor, slowing down until it stops, .*\. The camera is static\. The clip lasts \d+\.\d seconds?\.$/);
    expect(r.stderr).toMatch(/prompt: /);
  });

  it('fails in one line on bad frames, empty prompt, a refused prompt, a missing model and a corrupt graph', async () => {
    const one = (args: string[], re: RegExp) => {
      const r = runCli(['generate', ...args], { env });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    };
    one(['--model', model, '--prompt', 'x', '--frames', '4', '--out', path.join(dir, 'bad.mp4')], /--frames: 4 frames do not fit/);
    one(['--model', model, '--prompt', '  ', '--out', path.join(dir, 'bad.mp4')], /--prompt: empty prompt/);
    one(['--model', model, '--prompt', 'Taylor Swift sings', '--policy', path.resolve('configs/policy.example.json'), '--out', path.join(dir, 'bad.mp4')], /refused by policy rule 'public-figures'/);
    one(['--model', path.join(dir, 'nomodel'), '--prompt', 'x', '--out', path.join(dir, 'bad.mp4')], /nomodel: no such directory/);
    const broken = path.join(dir, 'broken');
    await fs.cp(model, broken, { recursive: true });
    await fs.writeFile(path.join(broken, 'dit.onnx'), Buffer.from('not a protobuf at all'));
    one(['--model', broken, '--prompt', 'x', '--out', path.join(dir, 'bad.mp4')], /dit\.onnx: /);
    expect((await fs.readdir(dir)).filter((f) => f.startsWith('bad'))).toEqual([]);
  });
});
