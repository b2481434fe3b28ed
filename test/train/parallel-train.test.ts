// `spacetime train --workers N` (src/train/parallel-train.ts): N workers on contiguous parts of
// every batch give the single-process weights to float32 rounding; resume across a change of N;
// bad input; no tensors left in this thread and no workers left alive after a run, a failure or
// Ctrl-C. Workers run compiled JavaScript, so this file uses the built package (dist/) and is
// skipped when it is not built (as test/model/parallel.test.ts).
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers.js';
import { interruptTrain, tinyTrainConfig, writeLatentFixture } from './tiny.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dist = (p: string) => path.join(ROOT, 'dist', p);
const built = existsSync(dist('train/parallel-train-worker.js'));

type Run = typeof import('../../src/train/run.js');
type Par = typeof import('../../src/train/parallel-train.js');
type Build = typeof import('../../src/train/build.js');
type Ckpt = typeof import('../../src/train/checkpoint.js');
let runTrain: Run['runTrain'];
let par: Par;
let build: Build;
let ckpt: Ckpt;

const sink = { write: () => true, isTTY: false };
const root = tmpDir();
const data = path.join(root, 'latents');

// 6 clips of 2×4×4 (8 tokens: batches of 4 and 2) and one 1×4×6 clip (a batch of 1: one worker idles)
async function makeLatents(dir: string): Promise<void> {
  await writeLatentFixture(dir, [...Array.from({ length: 6 }, () => [2, 4, 4, 4] as [number, number, number, number]), [1, 4, 6, 4]]);
}

// accumulation 2 and batches of up to 4 clips (the run test's tiny config otherwise)
const config = (over: Record<string, unknown> = {}) => tinyTrainConfig({ accumSteps: 2, data: { targetTokens: 32, maxBatch: 4 }, checkpoint: { every: 3, keepLast: 2 }, ...over });
const writeConfig = async (name: string, over: Record<string, unknown> = {}) => {
  const f = path.join(root, name);
  await fs.writeFile(f, JSON.stringify(config(over)));
  return f;
};

/** Largest |a − b| and ‖a − b‖ / ‖a‖ over all tensors of one safetensors group of two checkpoints. */
async function compare(a: string, b: string, group: string): Promise<{ maxAbs: number; relL2: number }> {
  const { readSafetensors } = await import('../../src/train/safetensors.js');
  const x = (await readSafetensors(path.join(a, `${group}.safetensors`))).tensors;
  const y = (await readSafetensors(path.join(b, `${group}.safetensors`))).tensors;
  expect(Object.keys(y).sort()).toEqual(Object.keys(x).sort());
  let maxAbs = 0;
  let d2 = 0;
  let n2 = 0;
  for (const k of Object.keys(x)) {
    const p = x[k].data as Float32Array;
    const q = y[k].data as Float32Array;
    for (let i = 0; i < p.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(p[i] - q[i]));
      d2 += (p[i] - q[i]) ** 2;
      n2 += p[i] ** 2;
    }
  }
  return { maxAbs, relL2: Math.sqrt(d2 / n2) };
}

// Tolerance: the parts' gradients are summed in another order than the whole batch's (float32),
// and the sharded AdamW computes in float64. Parameters whose true gradient is zero (attention key
// biases: softmax ignores a constant per query) get rounding-noise gradients that Adam normalises
// to steps of up to lr, so the bound on single elements is absolute (lr / 30), not relative.
async function expectClose(a: string, b: string): Promise<void> {
  for (const g of ['model', 'ema']) {
    const d = await compare(a, b, g);
    expect(d.relL2, g).toBeLessThan(1e-5);
    expect(d.maxAbs, g).toBeLessThan(1e-4);
  }
  const o = await compare(a, b, 'optimizer');
  expect(o.relL2).toBeLessThan(1e-5);
}

beforeAll(async () => {
  if (!built) return;
  ({ runTrain } = (await import(dist('train/run.js'))) as Run);
  par = (await import(dist('train/parallel-train.js'))) as Par;
  build = (await import(dist('train/build.js'))) as Build;
  ckpt = (await import(dist('train/checkpoint.js'))) as Ckpt;
  const { selectBackend } = (await import(dist('model/backend.js'))) as typeof import('../../src/model/backend.js');
  await selectBackend('cpu', { quiet: true });
  await makeLatents(data);
});

describe.skipIf(!built)('data-parallel training (--workers)', () => {
  it('splitBatch: contiguous parts whose shares of the loss denominator sum to 1', () => {
    const B = 3;
    const b = { shape: [B, 2, 1, 1, 1] as [number, number, number, number, number], x0: Float32Array.from([1, 2, 3, 4, 5, 6]), captions: ['a', 'b', 'c'], ids: ['0', '1', '2'], tokensPerClip: 2 };
    const d = { t: 0.5, a: 1, b: 1, ca: 1, cb: 1, w: 1 };
    // sample 1 has both frames conditioning: no loss positions, so it is not in the denominator
    const draw = { draws: [d, d, d], noise: new Float32Array(6), condMask: Float32Array.from([0, 0, 1, 1, 1, 0]), dropText: new Float32Array(3) };
    const parts = par.splitBatch({ b, draw }, 4);
    expect(parts.map((p) => p?.b.shape[0] ?? 0)).toEqual([0, 1, 1, 1]);
    expect(parts.map((p) => p?.share ?? 0)).toEqual([0, 0.5, 0, 0.5]);
    expect(parts.flatMap((p) => (p ? [...p.b.x0] : []))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parts[3]!.draw.condMask).toEqual(Float32Array.from([1, 0]));
  });

  it('2 workers = 1 worker on the same batches (accumulation, caption dropout, a batch of 1); no tensors or workers left', async () => {
    const cfg = await writeConfig('a.json');
    const before = tf.memory().numTensors;
    const one = await runTrain({ data, out: path.join(root, 'one'), config: cfg, workers: 1, progress: sink });
    expect(tf.memory().numTensors - before).toBe(0);
    const two = await runTrain({ data, out: path.join(root, 'two'), config: cfg, workers: 2, progress: sink });
    expect(tf.memory().numTensors - before).toBe(0);
    expect(par.liveWorkers()).toBe(0);
    expect(two).toMatchObject({ step: 6, stopped: false });
    expect(Math.abs(two.loss - one.loss) / one.loss).toBeLessThan(1e-5);
    await expectClose(one.checkpoint, two.checkpoint);
    const st1 = JSON.parse(await fs.readFile(path.join(one.checkpoint, 'state.json'), 'utf8'));
    const st2 = JSON.parse(await fs.readFile(path.join(two.checkpoint, 'state.json'), 'utf8'));
    expect(st2.rng).toEqual(st1.rng); // the same draws were made, in the same order
    expect(st2.loader).toEqual(st1.loader);
    expect(st2.optimizerStep).toBe(6);
    expect(JSON.parse(await fs.readFile(path.join(two.checkpoint, 'config.json'), 'utf8')).parallel).toEqual({ workers: 2 });
  });

  it('motion weighting (objective.motionWeight) reaches the workers: 2 workers = 1 worker, and differs from unweighted', async () => {
    const cfg = await writeConfig('mw.json', { steps: 2, objective: { captionDropout: 0.3, motionWeight: 4 } });
    const one = await runTrain({ data, out: path.join(root, 'mw1'), config: cfg, workers: 1, progress: sink });
    const two = await runTrain({ data, out: path.join(root, 'mw2'), config: cfg, workers: 2, progress: sink });
    expect(Math.abs(two.loss - one.loss) / one.loss).toBeLessThan(1e-5);
    await expectClose(one.checkpoint, two.checkpoint);
    const plain = await runTrain({ data, out: path.join(root, 'mw0'), config: await writeConfig('mw0.json', { steps: 2 }), workers: 1, progress: sink });
    expect(Math.abs(plain.loss - one.loss) / one.loss).toBeGreaterThan(1e-3);
  });

  it('text.lrScale reaches the workers: 2 workers = 1 worker, and 0 keeps the caption encoder at its initialisation', async () => {
    const { readSafetensors } = await import('../../src/train/safetensors.js');
    const cfg = await writeConfig('frz.json', { steps: 2, text: { lrScale: 0 } });
    const one = await runTrain({ data, out: path.join(root, 'frz1'), config: cfg, workers: 1, progress: sink });
    const two = await runTrain({ data, out: path.join(root, 'frz2'), config: cfg, workers: 2, progress: sink });
    await expectClose(one.checkpoint, two.checkpoint);
    // the run's own initialisation, rebuilt from its stored (resolved) config and tokenizer
    const { system: loaded, ck } = await build.loadSystem(one.checkpoint);
    expect(ck.config.text.lrScale).toBe(0);
    const fresh = build.buildSystem(ck.config, loaded.tokenizer);
    loaded.dispose();
    for (const ck of [one.checkpoint, two.checkpoint]) {
      const model = (await readSafetensors(path.join(ck, 'model.safetensors'))).tensors;
      let textKeys = 0;
      let ditMoved = 0;
      for (const [k, p] of fresh.params) {
        const stored = model[k].data as Float32Array;
        const init = p.dataSync() as Float32Array;
        const same = stored.every((x, i) => x === init[i]);
        if (k.startsWith(build.TEXT_PREFIX)) {
          textKeys++;
          expect(same, k).toBe(true);
        } else if (!same) ditMoved++;
      }
      expect(textKeys).toBeGreaterThan(5);
      expect(ditMoved).toBeGreaterThan(5);
    }
    fresh.dispose();
  });

  it('resume across a change of N: 3 steps on 2 workers + 3 on 1 (and the reverse) = 6 straight', async () => {
    const cfg = await writeConfig('r.json');
    const straight = path.join(root, 'one'); // from the previous test when run in order; rebuilt otherwise
    if (!existsSync(straight)) await runTrain({ data, out: straight, config: cfg, workers: 1, progress: sink });
    const want = (await ckpt.listCheckpoints(straight)).pop()!.dir;
    for (const [n1, n2] of [
      [2, 1],
      [1, 2],
    ]) {
      const out = path.join(root, `resume${n1}${n2}`);
      expect((await runTrain({ data, out, config: cfg, workers: n1, stopAt: 3, progress: sink })).step).toBe(3);
      const r = await runTrain({ data, out, resume: true, workers: n2, progress: sink });
      expect(r.step).toBe(6);
      await expectClose(want, r.checkpoint);
    }
    expect(par.liveWorkers()).toBe(0);
  });

  it('bad input: --workers 0 / 1.5 and parallel.workers 0 name the flag or field; pack mode with 2 workers is refused', async () => {
    await expect(runTrain({ data, out: path.join(root, 'w0'), config: await writeConfig('w.json'), workers: 0, progress: sink })).rejects.toThrow(/^--workers: expected a positive integer, got 0$/);
    await expect(runTrain({ data, out: path.join(root, 'wp'), config: await writeConfig('p.json', { data: { mode: 'pack', targetTokens: 24 } }), workers: 2, progress: sink })).rejects.toThrow(/^--workers: 2 workers split bucketed batches; data\.mode "pack" trains in one process/);
    await expect(runTrain({ data, out: path.join(root, 'wc'), config: await writeConfig('pw.json', { parallel: { workers: 0 } }), progress: sink })).rejects.toThrow(/pw\.json: parallel\.workers: /);
    for (const w of ['0', '1.5']) {
      const r = runCli(['train', '--data', data, '--out', path.join(root, 'wcli'), '--workers', w]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toEqual([`error: --workers: expected a positive integer, got ${w}`]);
    }
    expect(par.liveWorkers()).toBe(0);
  });

  it('workers are terminated when one fails at start or in a step, and when the run fails', async () => {
    const { parseTrainConfig } = await import('../../src/train/config.js');
    const { BpeTokenizer } = await import('../../src/model/tokenizer.js');
    const cfg = parseTrainConfig({ ...config(), data: { latentScale: 1 } });
    const tok = BpeTokenizer.train(['a red ball'], 300);
    const sys = build.buildSystem(cfg, tok);
    const optimizer = { tensors: {}, step: 0 };
    try {
      // a worker rebuilds another architecture than the trainer's parameters
      const other = { ...cfg, model: { ...cfg.model, depth: 2 } };
      await expect(par.DataParallel.start({ workers: 2, config: other, tokenizer: tok.toJSON(), params: sys.params, optimizer })).rejects.toThrow(/^data-parallel worker \d: the rebuilt model has other parameters than the trainer$/);
      expect(par.liveWorkers()).toBe(0);
      // a malformed part fails inside a step
      const dp = await par.DataParallel.start({ workers: 2, config: cfg, tokenizer: tok.toJSON(), params: sys.params, optimizer });
      expect(par.liveWorkers()).toBe(2);
      const bad = { b: { shape: [2, 2, 4, 4, 4] as [number, number, number, number, number], x0: new Float32Array(3), captions: ['a', 'b'], ids: ['0', '1'], tokensPerClip: 8 }, draw: { draws: [], noise: new Float32Array(0), condMask: new Float32Array(4), dropText: new Float32Array(2) } };
      await expect(dp.step([bad], 1e-3, 1)).rejects.toThrow(/data-parallel worker \d/);
      await dp.close();
      expect(par.liveWorkers()).toBe(0);
    } finally {
      sys.dispose();
    }
    // the run fails mid-training (the checkpoint cannot be recorded: RUN/latest is a directory)
    const out = path.join(root, 'fail');
    await fs.mkdir(path.join(out, 'latest'), { recursive: true });
    await expect(runTrain({ data, out, config: await writeConfig('f.json'), workers: 2, progress: sink })).rejects.toThrow(/latest/);
    expect(par.liveWorkers()).toBe(0);
  });

  it('Ctrl-C (SIGINT) with 2 workers finishes the step, writes a checkpoint and exits', async () => {
    const cfgFile = await writeConfig('sig.json', { steps: 100000, checkpoint: { every: 0, keepLast: 2 }, log: { every: 5, evalEvery: 0 } });
    const run = path.join(root, 'sigint');
    const { code, out, err } = await interruptTrain(dist('cli/index.js'), ['--data', data, '--out', run, '--config', cfgFile, '--backend', 'wasm', '--workers', '2'], 30_000);
    expect(code, err).toBe(0);
    expect(err).toMatch(/interrupt: finishing this step/);
    expect(err).toMatch(/data-parallel: 2 workers/);
    const ck = await ckpt.listCheckpoints(run);
    expect(ck.length).toBe(1);
    expect(out.trim()).toBe(ck[0].dir);
    expect(JSON.parse(await fs.readFile(path.join(ck[0].dir, 'state.json'), 'utf8')).optimizerStep).toBe(ck[0].step);
  });
});
