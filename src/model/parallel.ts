// Data-parallel DiT training benchmark over worker_threads (ENGINE-NOTES.md "Using both cores"):
// the wasm backend runs on one thread, so each worker gets its own tfjs + wasm instance and a shard
// of the batch; gradients are reduced, clipped and applied with a sharded AdamW through
// SharedArrayBuffers (parallel-worker.ts). Runs from the compiled package (the worker is
// dist/model/parallel-worker.js).
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

/** Median milliseconds per step of each phase of a worker's step (parallel-worker.ts). */
export interface StepParts {
  compute: number; // forward + backward
  readGrads: number; // gradients into the shared slot
  wait: number; // at the barriers (load imbalance, a busy core)
  reduceAndAdamW: number; // reduce-scatter + sharded AdamW
  upload: number; // shared weights into the variables
}

export interface ParallelBenchResult {
  workers: number;
  tokensPerStep: number;
  stepMs: number[]; // wall time between consecutive completed steps (all workers synchronised)
  trainMs: number; // median
  trainTokensPerSec: number;
  computeMs: number; // median per-worker forward + backward time (before the exchange)
  /** Median CPU time per step of each worker's thread: the step time it would take on an idle core. */
  workerCpuMs: number[];
  /** tokens/s if every worker had a core of its own: tokens / max over workers of its CPU time. */
  cpuTokensPerSec: number;
  parts: StepParts[]; // per worker
  replicasInSync: boolean;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

interface StepMsg {
  kind: 'step';
  rank: number;
  step: number;
  ms: number;
  cpuMs: number;
  parts: StepParts;
}

export async function benchDataParallel(opts: ParallelBenchOptions): Promise<ParallelBenchResult> {
  const { workers, preset = 'DiT-bench', batch = 4, frames = 4, size = 16, textLen = 16, steps = 10, warmup = 2, seed = 0 } = opts;
  if (warmup < 1) throw new SpacetimeError(`--warmup: need at least 1 warm-up step, got ${warmup}`);
  if (!Number.isInteger(workers) || workers < 1 || batch % workers !== 0) throw new SpacetimeError(`--workers: ${workers} must divide the batch ${batch}`);
  const { resolveDiTConfig } = await import('./presets.js');
  const { ditParamSpecs } = await import('./dit-params.js');
  const cfg = resolveDiTConfig(preset);
  const total = ditParamSpecs(cfg).reduce((n, s) => n + s.shape.reduce((p, q) => p * q, 1), 0);
  const shared = {
    grads: new SharedArrayBuffer(4 * total * workers),
    weights: new SharedArrayBuffer(4 * total),
    norms: new SharedArrayBuffer(8 * workers),
    ctrl: new SharedArrayBuffer(4),
  };
  const url = new URL('./parallel-worker.js', import.meta.url);
  const done: number[] = [];
  const stepEnd: number[] = [];
  const perRank: StepMsg[][] = Array.from({ length: workers }, () => []);
  const pool = Array.from(
    { length: workers },
    (_, rank) => new Worker(url, { workerData: { preset, rank, world: workers, shard: batch / workers, frames, size, textLen, steps: warmup + steps, seed, lr: 1e-4, clipNorm: 1, ...shared } }),
  );
  await Promise.all(
    pool.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.on('message', (m: StepMsg | { kind: 'done'; rank: number; checksum: number }) => {
            if (m.kind === 'step') {
              if (m.rank === 0) stepEnd[m.step] = performance.now();
              if (m.step >= warmup) perRank[m.rank].push(m);
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
  const workerCpuMs = perRank.map((ms) => median(ms.map((m) => m.cpuMs)));
  const parts = perRank.map((ms) => {
    const keys = ['compute', 'readGrads', 'wait', 'reduceAndAdamW', 'upload'] as const;
    return Object.fromEntries(keys.map((k) => [k, median(ms.map((m) => m.parts[k]))])) as unknown as StepParts;
  });
  return {
    workers,
    tokensPerStep,
    stepMs,
    trainMs,
    trainTokensPerSec: (tokensPerStep * 1000) / trainMs,
    computeMs: median(perRank[0].map((m) => m.parts.compute)),
    workerCpuMs,
    cpuTokensPerSec: (tokensPerStep * 1000) / Math.max(...workerCpuMs),
    parts,
    replicasInSync: done.every((c) => c === done[0]),
  };
}
