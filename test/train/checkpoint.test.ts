// Checkpoints: atomic write, latest pointer, keep-last-K pruning, round trip, readable errors.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { z } from 'zod';
import { beforeAll, describe, expect, it } from 'vitest';
import { assignParams, listCheckpoints, loadCheckpoint, paramsToTensors, resolveCheckpointDir, saveCheckpoint } from '../../src/train/checkpoint.js';
import type { ParamStore } from '../../src/model/types.js';
import { tmpDir } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const content = (step: number) => ({
  files: {
    model: { w: { dtype: 'F32' as const, shape: [2, 2], data: Float32Array.of(1, 2, 3, step) } },
    optimizer: { 'm.w': { dtype: 'F32' as const, shape: [2, 2], data: new Float32Array(4) } },
  },
  config: { model: { dim: 8 }, lr: 0.001 },
  state: { rng: { s: [1, 2, 3, 4], spare: null }, loader: { epoch: 0, index: step } },
});

describe('checkpoint', () => {
  const run = tmpDir();

  it('saves, points latest at the newest and keeps the last K', async () => {
    for (const step of [10, 20, 30]) await saveCheckpoint(run, step, content(step), { keepLast: 2 });
    const all = await listCheckpoints(run);
    expect(all.map((c) => c.step)).toEqual([20, 30]);
    expect((await fs.readdir(run)).some((n) => n.endsWith('.tmp'))).toBe(false);
    const latest = await resolveCheckpointDir(run);
    expect(path.basename(latest)).toMatch(/^ckpt-0*30$/);
    const ck = await loadCheckpoint<{ lr: number }, { loader: { index: number } }>(run);
    expect(ck.step).toBe(30);
    expect(ck.state.loader.index).toBe(30);
    expect(ck.config.lr).toBe(0.001);
    expect([...(ck.files.model.w.data as Float32Array)]).toEqual([1, 2, 3, 30]);
    expect(Object.keys(ck.files).sort()).toEqual(['model', 'optimizer']);
  });

  it('loads a checkpoint directory directly and validates config with a schema', async () => {
    const dir = (await listCheckpoints(run))[0].dir;
    const ck = await loadCheckpoint(dir, { configSchema: z.object({ lr: z.number(), model: z.object({ dim: z.number() }) }) });
    expect(ck.step).toBe(20);
    await expect(loadCheckpoint(dir, { configSchema: z.object({ lr: z.string() }) })).rejects.toThrow(/config\.json: invalid config: lr/);
  });

  it('names the missing or corrupt file', async () => {
    const dir = (await listCheckpoints(run))[0].dir;
    await expect(loadCheckpoint(dir, { files: ['model', 'ema'] })).rejects.toThrow(/ema\.safetensors: missing from checkpoint/);
    await fs.writeFile(path.join(dir, 'optimizer.safetensors'), 'garbage');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/optimizer\.safetensors/);
    await fs.writeFile(path.join(dir, 'state.json'), '{oops');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/state\.json: not valid JSON/);
    await expect(loadCheckpoint(path.join(run, 'nope'))).rejects.toThrow(/no such checkpoint/);
  });

  it('params round trip; shape mismatch and missing keys are named', () => {
    const store: ParamStore = new Map([['blocks.0.attn.qkv.weight', tf.variable(tf.tensor2d([[1, 2, 3]]))]]);
    const t = paramsToTensors(store);
    expect(t['blocks.0.attn.qkv.weight'].shape).toEqual([1, 3]);
    (t['blocks.0.attn.qkv.weight'].data as Float32Array)[0] = 9;
    assignParams(store, t, 'model.safetensors');
    expect([...store.get('blocks.0.attn.qkv.weight')!.dataSync()]).toEqual([9, 2, 3]);
    expect(() => assignParams(store, { 'blocks.0.attn.qkv.weight': { dtype: 'F32', shape: [3, 1], data: new Float32Array(3) } }, 'model.safetensors')).toThrow(
      'model.safetensors: blocks.0.attn.qkv.weight: expected shape (1, 3), got (3, 1)',
    );
    expect(() => assignParams(store, {}, 'model.safetensors')).toThrow(/blocks\.0\.attn\.qkv\.weight: missing/);
    expect(() => assignParams(store, { ...t, extra: t['blocks.0.attn.qkv.weight'] }, 'm.safetensors')).toThrow(/unexpected tensor extra/);
    store.forEach((v) => v.dispose());
  });
});
