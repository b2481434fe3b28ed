// Data-parallel training for `spacetime train --workers N` (synchronous data parallelism as in
// Goyal et al. 2017, "Accurate, Large Minibatch SGD", with the optimizer state sharded as in ZeRO
// stage 1, Rajbhandari et al. 2020; ENGINE-NOTES.md "Using both cores"). This thread keeps the
// Rng, the data sampler, the batch and its draws (noise, t, conditioning, caption dropout), EMA,
// logging, previews and checkpoints, so a run stays deterministic and resumable with any N. Per
// step (steps 2–5 of loop.ts, which hands over the drawn micro-batches):
//   1. every micro-batch (B, T, H, W, C) is cut into N contiguous parts; worker k computes loss and
//      gradients of its part (parallel-train-worker.ts) and adds them, times its part's share of
//      the loss denominator (samples with loss positions, objective.ts lossFromDraw), into its slot
//      of one flat SharedArrayBuffer: Σ_k share_k·∇loss_k = ∇loss of the whole batch;
//   2. each worker sums the slots over its range of the flat parameter vector (reduce-scatter,
//      always in slot order) and returns the squared norm of its range; this thread adds them;
//   3. each worker runs AdamW (flat-adamw.ts) on its range with the clipping factor, writing the
//      shared weights, m and v; this thread then loads the new weights into its own parameters
//      (for EMA, eval, previews, checkpoints) and the workers load them before the next step.
// This thread is the only synchronisation point (three message rounds per step, no barriers), so
// a failing worker cannot leave the others blocked, and terminating them is always immediate.
// Results equal the single-process path to float32 rounding (summation order), not bit for bit.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../model/types.js';
import { FlagError, SpacetimeError } from '../util/errors.js';
import type { TrainConfig } from './config.js';
import { flatLayout, type FlatLayout } from './flat-adamw.js';
import type { DrawnBatch, GridLoopBatch, ParallelStep } from './loop.js';
import type { BatchDraw } from './objective.js';
import type { TensorData } from './safetensors.js';

/** One worker's part of a micro-batch (null when the batch has fewer clips than workers). */
export interface WorkerPart {
  b: GridLoopBatch;
  draw: BatchDraw;
  /** Its share of the whole batch's loss denominator: H_k / H. */
  share: number;
}

/** Messages to a worker (parallel-train-worker.ts) and its replies, one reply per message. */
export type ToWorker = { kind: 'grads'; parts: (WorkerPart | null)[] } | { kind: 'reduce'; scale: number } | { kind: 'apply'; step: number; lr: number; gScale: number; present: Uint8Array };
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'grads'; losses: number[]; perLevel: [number, number][][]; present: Uint8Array; cpuMs: number }
  | { kind: 'reduce'; sq: number }
  | { kind: 'apply' };

/** What a worker is started with (its workerData). */
export interface WorkerArgs {
  rank: number;
  world: number;
  backend: string;
  config: TrainConfig;
  tokenizer: unknown; // BpeTokenizer.toJSON()
  names: string[]; // parameter order of the flat buffers
  shapes: number[][];
  grads: SharedArrayBuffer; // world × total float32: one slot per worker
  weights: SharedArrayBuffer; // total float32
  m: SharedArrayBuffer; // total float32 (AdamW first moment)
  v: SharedArrayBuffer; // total float32 (AdamW second moment)
}

let live = 0;
/** Data-parallel worker threads alive in this process (tests check that none outlive a run). */
export function liveWorkers(): number {
  return live;
}

export interface DataParallelOptions {
  workers: number;
  config: TrainConfig;
  tokenizer: unknown;
  /** This thread's parameters: the starting weights, and updated after every step. */
  params: ParamStore;
  /** AdamW state in optimizer.safetensors form (m.<name>, v.<name>) and its step count. */
  optimizer: { tensors: Record<string, TensorData>; step: number };
}

/** `--workers` / parallel.workers: a positive integer; N > 1 needs bucketed batches and a wasm or cpu backend. */
export function assertParallelSupported(cfg: Pick<TrainConfig, 'parallel' | 'data'>): void {
  const n = cfg.parallel.workers;
  if (!Number.isInteger(n) || n < 1) throw new FlagError('workers', `expected a positive integer, got ${String(n)}`);
  if (n === 1) return;
  if (cfg.data.mode === 'pack') throw new FlagError('workers', `${n} workers split bucketed batches; data.mode "pack" trains in one process (use --workers 1 or data.mode "bucket")`);
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') throw new FlagError('workers', `${n} workers run on the wasm or cpu backend, not ${backend} (pass --backend wasm)`);
}

/** Cut a drawn micro-batch into `n` contiguous parts with their shares of the loss denominator. */
export function splitBatch({ b, draw }: DrawnBatch, n: number): (WorkerPart | null)[] {
  const [B, T] = b.shape;
  const per = b.shape.slice(1).reduce((p, q) => p * q, 1);
  // A sample counts in the denominator when it has a non-conditioning frame (lossFromDraw's `has`).
  const has: number[] = Array.from({ length: B }, (_, i) => (draw.condMask.subarray(i * T, (i + 1) * T).some((c) => c === 0) ? 1 : 0));
  const H = Math.max(1, has.reduce((p, q) => p + q, 0));
  return Array.from({ length: n }, (_, k) => {
    const s = Math.floor((B * k) / n);
    const e = Math.floor((B * (k + 1)) / n);
    if (e === s) return null;
    const Hk = has.slice(s, e).reduce((p, q) => p + q, 0);
    return {
      b: { shape: [e - s, ...b.shape.slice(1)] as GridLoopBatch['shape'], x0: b.x0.slice(s * per, e * per), captions: b.captions.slice(s, e), ids: b.ids.slice(s, e), tokensPerClip: b.tokensPerClip },
      draw: { draws: draw.draws.slice(s, e), noise: draw.noise.slice(s * per, e * per), condMask: draw.condMask.slice(s * T, e * T), dropText: draw.dropText.slice(s, e) },
      share: Hk / H,
    };
  });
}

/**
 * Values for tf.tensor from a view of a shared buffer that will change: the wasm backend copies
 * them into its heap at once, the cpu backend keeps the array it is given, so that one gets a copy.
 */
export function hostCopy(view: Float32Array): Float32Array {
  return tf.getBackend() === 'wasm' ? view : view.slice();
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] : NaN);

/** N training workers sharing one flat gradient slot each, the weights and the AdamW state. */
export class DataParallel implements ParallelStep {
  private readonly pool: Worker[] = [];
  private readonly pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void }[][];
  private readonly exited: Promise<void>[] = [];
  private failure: Error | null = null;
  private closing = false;
  private readonly layout: FlatLayout;
  private readonly names: string[];
  private readonly weights: Float32Array;
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  /** AdamW steps taken (the bias-correction k), as AdamW.step. */
  optimizerStep = 0;
  /** Per-step times (ms) for the summary line: the three phases, this thread's weight load, the slowest worker's CPU in phase 1. */
  readonly times = { compute: [] as number[], reduce: [] as number[], adamw: [] as number[], load: [] as number[], cpu: [] as number[] };

  private constructor(
    readonly world: number,
    private readonly params: ParamStore,
  ) {
    this.names = [...params.keys()];
    this.layout = flatLayout([...params.values()].map((p) => p.shape));
    const bytes = 4 * this.layout.total;
    this.weights = new Float32Array(new SharedArrayBuffer(bytes));
    this.m = new Float32Array(new SharedArrayBuffer(bytes));
    this.v = new Float32Array(new SharedArrayBuffer(bytes));
    this.pending = Array.from({ length: world }, () => []);
  }

  /** Start the workers from this thread's weights and optimizer state; resolves once all are built. */
  static async start(o: DataParallelOptions): Promise<DataParallel> {
    const url = new URL('./parallel-train-worker.js', import.meta.url);
    if (!existsSync(fileURLToPath(url))) throw new SpacetimeError(`data-parallel training runs from the built package: ${fileURLToPath(url)} is missing (npm run build)`);
    const dp = new DataParallel(o.workers, o.params);
    const { layout, names } = dp;
    names.forEach((name, i) => {
      dp.weights.set(o.params.get(name)!.dataSync() as Float32Array, layout.offsets[i]);
      const m = o.optimizer.tensors[`m.${name}`];
      const v = o.optimizer.tensors[`v.${name}`];
      if (m && v) {
        dp.m.set(m.data as Float32Array, layout.offsets[i]);
        dp.v.set(v.data as Float32Array, layout.offsets[i]);
      }
    });
    dp.optimizerStep = o.optimizer.step;
    const grads = new SharedArrayBuffer(4 * layout.total * o.workers);
    const shapes = [...o.params.values()].map((p) => [...p.shape]);
    for (let rank = 0; rank < o.workers; rank++) {
      const workerData: WorkerArgs = { rank, world: o.workers, backend: tf.getBackend(), config: o.config, tokenizer: o.tokenizer, names, shapes, grads, weights: dp.weights.buffer as SharedArrayBuffer, m: dp.m.buffer as SharedArrayBuffer, v: dp.v.buffer as SharedArrayBuffer };
      const w = new Worker(url, { workerData });
      live += 1;
      dp.pool.push(w);
      dp.exited.push(new Promise<void>((resolve) => w.once('exit', () => resolve())));
      w.on('message', (msg: FromWorker) => dp.pending[rank].shift()?.resolve(msg));
      w.on('error', (err) => dp.fail(new SpacetimeError(`data-parallel worker ${rank}: ${err.message || err.name}`)));
      w.on('exit', (code) => {
        live -= 1;
        if (!dp.closing) dp.fail(new SpacetimeError(`data-parallel worker ${rank} exited with code ${code}`));
      });
    }
    try {
      await Promise.all(dp.pool.map((_, r) => dp.reply(r)));
    } catch (err) {
      await dp.close();
      throw err;
    }
    return dp;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const q of this.pending) for (const p of q.splice(0)) p.reject(this.failure);
  }

  /** The next reply of worker `rank`. */
  private reply(rank: number): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.pending[rank].push({ resolve, reject }));
  }

  private async all(msg: (rank: number) => ToWorker): Promise<FromWorker[]> {
    return Promise.all(
      this.pool.map((w, r) => {
        const p = this.reply(r);
        if (!this.failure) w.postMessage(msg(r));
        return p;
      }),
    );
  }

  async step(micros: DrawnBatch[], lr: number, clipNorm: number): Promise<{ lossSum: number; perLevel: [number, number][]; tokens: number; norm: number }> {
    const t0 = performance.now();
    // 1. forward/backward of every part; gradients × share into the workers' slots
    const parts = micros.map((mb) => splitBatch(mb, this.world));
    const g = (await this.all((r) => ({ kind: 'grads', parts: parts.map((p) => p[r]) }))) as Extract<FromWorker, { kind: 'grads' }>[];
    const t1 = performance.now();
    let lossSum = 0;
    let tokens = 0;
    const perLevel: [number, number][] = [];
    micros.forEach((mb, i) => {
      g.forEach((rep, r) => {
        const part = parts[i][r];
        if (!part) return;
        lossSum += part.share * rep.losses[i];
        perLevel.push(...rep.perLevel[i]);
      });
      tokens += mb.b.shape[0] * mb.b.tokensPerClip;
    });
    const present = new Uint8Array(this.names.length);
    for (const rep of g) rep.present.forEach((x, i) => (present[i] |= x));
    // 2. reduce-scatter of the (accumulation-averaged) gradient and its global norm
    const sq = (await this.all(() => ({ kind: 'reduce', scale: 1 / micros.length }))) as Extract<FromWorker, { kind: 'reduce' }>[];
    const t2 = performance.now();
    const norm = Math.sqrt(sq.reduce((s, x) => s + x.sq, 0));
    const clip = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    // 3. sharded AdamW into the shared weights, then this thread's copy of them
    this.optimizerStep += 1;
    await this.all(() => ({ kind: 'apply', step: this.optimizerStep, lr, gScale: clip / micros.length, present }));
    const t3 = performance.now();
    this.loadWeights();
    const ts = this.times;
    ts.compute.push(t1 - t0);
    ts.reduce.push(t2 - t1);
    ts.adamw.push(t3 - t2);
    ts.load.push(performance.now() - t3);
    ts.cpu.push(Math.max(...g.map((x) => x.cpuMs)));
    return { lossSum, perLevel, tokens, norm };
  }

  /** This thread's parameters ← the shared weights. */
  private loadWeights(): void {
    this.names.forEach((name, i) => {
      const p = this.params.get(name)!;
      const off = this.layout.offsets[i];
      const t = tf.tensor(hostCopy(this.weights.subarray(off, off + this.layout.sizes[i])), p.shape, 'float32');
      p.assign(t);
      t.dispose();
    });
  }

  /** The AdamW state as optimizer.safetensors holds it (same keys as AdamW.stateTensors). */
  stateTensors(): Record<string, TensorData> {
    const out: Record<string, TensorData> = {};
    for (const [prefix, buf] of [['m', this.m], ['v', this.v]] as const) {
      this.names.forEach((name, i) => {
        const off = this.layout.offsets[i];
        out[`${prefix}.${name}`] = { dtype: 'F32', shape: [...this.params.get(name)!.shape], data: buf.slice(off, off + this.layout.sizes[i]) };
      });
    }
    return out;
  }

  /** One line on where a step's time went (medians). */
  summary(): string {
    const f = (xs: number[]) => median(xs).toFixed(0);
    const ts = this.times;
    return `data-parallel: ${this.world} workers, ${this.layout.total} parameters, per step (median ms): forward+backward ${f(ts.compute)} (slowest worker's CPU ${f(ts.cpu)}), reduce ${f(ts.reduce)}, AdamW ${f(ts.adamw)}, weights to this thread ${f(ts.load)}`;
  }

  /** Terminate every worker (idempotent); resolves once all have exited. */
  async close(): Promise<void> {
    this.closing = true;
    this.fail(new SpacetimeError('data-parallel workers closed'));
    await Promise.all(this.pool.map((w) => w.terminate()));
    await Promise.all(this.exited);
  }
}
