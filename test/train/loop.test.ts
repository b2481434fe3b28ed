// The training loop on a tiny Denoiser: loss falls, gradient accumulation, no tensor leaks, and
// k steps + checkpoint + resume equals N steps bit for bit (cpu backend).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ObjectiveSchema } from '../../src/train/objective-config.js';
import { trainLoop, type GridLoopBatch as LoopBatch, type LoopConfig, type PackLoopBatch } from '../../src/train/loop.js';
import { buildSystem } from '../../src/train/build.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { BpeTokenizer } from '../../src/model/tokenizer.js';
import { AdamW } from '../../src/train/optimizer.js';
import { Ema } from '../../src/train/ema.js';
import { loadCheckpoint, paramsToTensors, assignParams, saveCheckpoint } from '../../src/train/checkpoint.js';
import { Rng } from '../../src/util/rng.js';
import { tinyDenoiser, charText } from './tiny.js';
import { tmpDir } from '../helpers.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await ensureGradients();
});

const C = 3;
const E = 4;
const shape: [number, number, number, number, number] = [2, 3, 2, 2, C];
const fixedBatch = (i: number): LoopBatch => {
  const r = new Rng(100 + i);
  const x0 = r.normals(shape.reduce((a, b) => a * b)).map((v) => 0.5 * v + 0.3);
  return { shape, x0, captions: [`red ball ${i}`, 'blue box'], ids: ['a', 'b'], tokensPerClip: 12 };
};

function cfg(steps: number, over: Partial<LoopConfig> = {}): LoopConfig {
  return {
    steps,
    accumSteps: 1,
    lr: { lr: 0.03, warmupSteps: 2, schedule: 'cosine', minLrRatio: 0.1, totalSteps: steps },
    clipNorm: 1,
    ema: { decay: 0.99, warmup: true },
    objective: ObjectiveSchema.parse({ captionDropout: 0.2, weighting: 'min-snr' }),
    logEvery: 1,
    previewEvery: 0,
    checkpointEvery: 0,
    evalEvery: 0,
    evalLevels: [0.5],
    ...over,
  };
}

function setup(seed: number) {
  const model = tinyDenoiser(C, E, 7);
  const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clipNorm: 1 });
  const ema = new Ema(model.params);
  return { model, opt, ema, rng: new Rng(seed) };
}

function dispose(s: ReturnType<typeof setup>) {
  s.model.params.forEach((v) => v.dispose());
  s.opt.dispose();
  s.ema.dispose();
}

describe('trainLoop', () => {
  it('the loss falls when overfitting one batch, with grad accumulation and fixed-t eval logged', async () => {
    const s = setup(1);
    const logs: Record<string, number>[] = [];
    const b = fixedBatch(0);
    await trainLoop(
      { ...s, params: s.model.params, nextBatch: () => b, encodeText: charText(E), evalBatch: b, log: (_, x) => logs.push(x), checkpoint: async () => {}, shouldStop: () => false },
      cfg(80, { accumSteps: 2, lr: { lr: 0.05, warmupSteps: 5, schedule: 'constant', minLrRatio: 0, totalSteps: 80 }, evalEvery: 10, evalLevels: [0.2, 0.8] }),
      0,
    );
    const evals = logs.filter((l) => 'val/loss_t0.2' in l);
    expect(evals.length).toBe(8);
    // At t = 0.8 a linear model can learn most of v = ε − x0 (measured 1.46 → 0.59); at t = 0.2
    // its error is mostly irreducible (ε is barely visible in x_t), so only the high level is asserted.
    expect(evals[evals.length - 1]['val/loss_t0.8']).toBeLessThan(0.7 * evals[0]['val/loss_t0.8']);
    expect(Number.isFinite(evals[evals.length - 1]['val/loss_t0.2'])).toBe(true);
    expect(logs[0]['train/lr']).toBeCloseTo(0.01, 10);
    expect(Object.keys(logs[5]).some((k) => k.startsWith('train/loss_t'))).toBe(true);
    dispose(s);
  });

  it('leaks no tensors per step', async () => {
    const s = setup(2);
    const run = (steps: number, start: number) =>
      trainLoop({ ...s, params: s.model.params, nextBatch: () => fixedBatch(0), encodeText: charText(E), evalBatch: fixedBatch(1), log: () => {}, checkpoint: async () => {}, shouldStop: () => false }, cfg(steps, { evalEvery: 1 }), start);
    await run(1, 0);
    const before = tf.memory().numTensors;
    await run(3, 1);
    expect(tf.memory().numTensors).toBe(before);
    dispose(s);
  });

  it('leaks no tensors per step with the real DiT + text encoder (grid and packed batches)', async () => {
    const cfg0 = parseTrainConfig({ model: { preset: 'DiT-T/2', hidden: 16, depth: 1, heads: 2, textWidth: 16, latentChannels: C, freqDim: 16 }, text: { vocabSize: 300, maxTokens: 6, depth: 1, heads: 2 } });
    const sys = buildSystem(cfg0, BpeTokenizer.train(['red ball', 'blue box'], 300));
    const opt = new AdamW(sys.params, cfg0.optimizer);
    const ema = new Ema(sys.params);
    const rng = new Rng(3);
    const grid = fixedBatch(0);
    const r = new Rng(8);
    const packed: PackLoopBatch = { kind: 'pack', clips: [{ x0: r.normals(2 * 2 * 4 * C), shape: [2, 2, 4, C], caption: 'red ball' }, { x0: r.normals(2 * 2 * 2 * C), shape: [2, 2, 2, C], caption: 'blue box' }], rows: [[0, 1]], patch: cfg0.model.patch };
    let i = 0;
    const run = (steps: number, start: number) =>
      trainLoop({ model: sys.dit, params: sys.params, opt, ema, rng, nextBatch: () => (i++ % 2 ? packed : { ...grid, tokensPerClip: 6 }), encodeText: sys.encodeText, evalBatch: { ...grid, tokensPerClip: 6 }, log: () => {}, checkpoint: async () => {}, shouldStop: () => false }, cfg(steps, { evalEvery: 2, objective: cfg0.objective }), start);
    await run(2, 0);
    const before = tf.memory().numTensors;
    await run(4, 2);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    ema.dispose();
    sys.dispose();
  });

  it('k steps + checkpoint + resume = N steps, bit for bit', async () => {
    const dir = tmpDir();
    const N = 6;
    const k = 3;
    // straight
    const a = setup(5);
    let ia = 0;
    await trainLoop({ ...a, params: a.model.params, nextBatch: () => fixedBatch(ia++ % 3), encodeText: charText(E), log: () => {}, checkpoint: async () => {}, shouldStop: () => false }, cfg(N), 0);
    // interrupted at k (shouldStop), saved, rebuilt from the checkpoint and resumed
    const b = setup(5);
    let ib = 0;
    const save = async (step: number) => {
      await saveCheckpoint(dir, step, {
        files: { model: paramsToTensors(b.model.params), ema: b.ema.tensors(), optimizer: b.opt.stateTensors() },
        config: { note: 'tiny' },
        state: { rng: b.rng.getState(), loader: ib, optStep: b.opt.step },
      });
    };
    const r1 = await trainLoop({ ...b, params: b.model.params, nextBatch: () => fixedBatch(ib++ % 3), encodeText: charText(E), log: () => {}, checkpoint: save, shouldStop: () => ib >= k }, cfg(N), 0);
    expect(r1).toMatchObject({ step: k, stopped: true });
    dispose(b);
    const ck = await loadCheckpoint<unknown, { rng: ReturnType<Rng['getState']>; loader: number; optStep: number }>(dir);
    const c = setup(999); // different seed: everything must come from the checkpoint
    assignParams(c.model.params, ck.files.model, 'model');
    c.ema.load(ck.files.ema, 'ema');
    c.opt.loadState(ck.files.optimizer, ck.state.optStep, 'optimizer');
    const rng = Rng.fromState(ck.state.rng);
    let ic = ck.state.loader;
    await trainLoop({ ...c, rng, params: c.model.params, nextBatch: () => fixedBatch(ic++ % 3), encodeText: charText(E), log: () => {}, checkpoint: async () => {}, shouldStop: () => false }, cfg(N), ck.step);
    for (const [name, v] of a.model.params) expect([...c.model.params.get(name)!.dataSync()], name).toEqual([...v.dataSync()]);
    for (const [name, v] of a.ema.shadow) expect([...c.ema.shadow.get(name)!.dataSync()], `ema ${name}`).toEqual([...v.dataSync()]);
    dispose(a);
    dispose(c);
  });
});
