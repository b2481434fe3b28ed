// Data-parallel training over worker_threads (src/model/parallel.ts). Workers run compiled
// JavaScript, so this test uses the built package (dist/) and is skipped when it is not built.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const dist = path.resolve(import.meta.dirname, '../../dist/model/parallel.js');

describe('data-parallel DiT steps', () => {
  it.skipIf(!existsSync(dist))('keeps two replicas bit-identical after averaged updates', async () => {
    const { benchDataParallel } = (await import(dist)) as typeof import('../../src/model/parallel.js');
    const r = await benchDataParallel({ workers: 2, preset: 'DiT-T/2', batch: 2, frames: 1, size: 4, textLen: 2, steps: 2, warmup: 1 });
    expect(r.replicasInSync).toBe(true);
    expect(r.stepMs).toHaveLength(2);
    expect(r.stepMs.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
    await expect(benchDataParallel({ workers: 3, batch: 4 })).rejects.toThrow(/must divide the batch 4/);
  });
});
