// Data-parallel DiT training benchmark over worker_threads (ENGINE-NOTES.md "Using both cores"):
// the wasm backend runs on one thread, so each worker gets its own tfjs + wasm instance and a shard
// of the batch; gradients are averaged through a SharedArrayBuffer (parallel-worker.ts). Runs from
// the compiled package (the worker is dist/model/parallel-worker.js).
import { Worker } from 'node:worker_threads';
import { SpacetimeError } from '../util/errors.js';

export interface ParallelBenchOptions {
  workers: number;
  preset?: string;
  batch?: number; // total over workers
  frames?: number;
  size?: number;
  textLen?: number;
  steps?: number;
  warmup?: number;
  seed?: number;
}

export interface ParallelBenchResult {
  workers: number;
  tokensPerStep: number;
  stepMs: number[]; // wall time between consecutive completed steps (all workers synchronised)
  trainMs: number; // median
  trainTokensPerSec: number;
  computeMs: number; // median per-worker forward + backward time (before the all-reduce)
  replicasInSync: boolean;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

export async function benchDataParallel(opts: ParallelBenchOptions): Promise<ParallelBenchResult> {
  const { workers, preset = 'DiT-bench', batch = 4, frames = 4, size = 16, textLen = 16, steps = 10, warmup = 2, seed = 0 } = opts;
  if (warmup < 1) throw new SpacetimeError(`--warmup: need at least 1 warm-up step, got ${warmup}`);
  if (!Number.isInteger(workers) || workers < 1 || batch % workers !== 0) throw new SpacetimeError(`--workers: ${workers} must divide the batch ${batch}`);
  const { resolveDiTConfig } = await import('./presets.js');
  const { ditParamSpecs } = await import('./dit-params.js');
  const cfg = resolveDiTConfig(preset);
  const total = ditParamSpecs(cfg).reduce((n, s) => n + s.shape.reduce((p, q) => p * q, 1), 0);
  const grads = new SharedArrayBuffer(4 * total * workers);
  const ctrl = new SharedArrayBuffer(4);
  const url = new URL('./parallel-worker.js', import.meta.url);
  const done: number[] = [];
  const compute: number[] = [];
  const stepEnd: number[] = [];
  const pool = Array.from({ length: workers }, (_, rank) => new Worker(url, { workerData: { preset, rank, world: workers, shard: batch / workers, frames, size, textLen, steps: warmup + steps, seed, lr: 1e-4, grads, ctrl } }));
  await Promise.all(
    pool.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.on('message', (m: { kind: string; rank: number; step: number; computeMs: number; checksum: number }) => {
            if (m.kind === 'step' && m.rank === 0) {
              stepEnd[m.step] = performance.now();
              if (m.step >= warmup) compute.push(m.computeMs);
            }
            if (m.kind === 'done') done[m.rank] = m.checksum;
          });
          w.on('error', reject);
          w.on('exit', (code) => (code === 0 ? resolve() : reject(new SpacetimeError(`data-parallel worker exited with code ${code}`))));
        }),
    ),
  );
  const stepMs = stepEnd.slice(warmup).map((e, i) => e - stepEnd[warmup + i - 1]);
  const tokensPerStep = batch * Math.ceil(frames / cfg.patch[0]) * Math.ceil(size / cfg.patch[1]) * Math.ceil(size / cfg.patch[2]);
  const trainMs = median(stepMs);
  return { workers, tokensPerStep, stepMs, trainMs, trainTokensPerSec: (tokensPerStep * 1000) / trainMs, computeMs: median(compute), replicasInSync: done.every((c) => c === done[0]) };
}
