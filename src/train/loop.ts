// The training loop as one visible function (STYLE.md §6, after nanoGPT's train.py and DiT's
// train.py): lr → forward/backward → accumulate → clip → step → EMA → log → sample preview →
// checkpoint. Logging, previews and checkpoint writing are passed in; the model, the noise
// process (objective.ts) and the data are arguments. All randomness comes from one serialisable
// Rng drawn in a fixed order, so k steps + resume equals N steps bit for bit.
import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser, ParamStore, TextCond } from '../model/types.js';
import { Rng } from '../util/rng.js';
import type { ClipBatch } from './data.js';
import type { Ema } from './ema.js';
import { emaDecay } from './ema.js';
import { batchMotionWeights, drawBatch, fixedLevelDraw, lossFromDraw, type BatchDraw } from './objective.js';
import { buildPacked, drawClip, packedLoss, type PackClip, type Patch3 } from './pack.js';
import type { ObjectiveConfig } from './objective-config.js';
import { clipByGlobalNorm, globalNorm, type AdamW, type Grads } from './optimizer.js';
import { lr, type LrConfig } from './schedule.js';

export interface LoopConfig {
  /** Total optimizer steps of the run (the lr schedule spans these). */
  steps: number;
  accumSteps: number;
  lr: LrConfig;
  clipNorm: number;
  ema: { decay: number; warmup: boolean };
  objective: ObjectiveConfig;
  logEvery: number;
  previewEvery: number; // 0 = never
  checkpointEvery: number; // 0 = only at the end / on stop
  evalEvery: number; // 0 = never; fixed-t validation loss
  evalLevels: readonly number[];
}

/** A bucketed micro-batch: host data of one shape plus the spacetime tokens per clip. */
export interface GridLoopBatch extends ClipBatch {
  kind?: 'grid';
  tokensPerClip: number;
}

/** A packed micro-batch: clips of any shapes and their assignment to token rows. */
export interface PackLoopBatch {
  kind: 'pack';
  clips: PackClip[];
  rows: number[][];
  patch: Patch3;
}

export type LoopBatch = GridLoopBatch | PackLoopBatch;

export interface LoopDeps {
  model: Denoiser;
  /** Every trainable parameter (DiT and text encoder), keyed by safetensors name. */
  params: ParamStore;
  opt: AdamW;
  ema: Ema;
  rng: Rng;
  nextBatch: () => LoopBatch;
  /** Caption embeddings, called inside the gradient tape (a trainable text encoder gets gradients). */
  encodeText: (captions: string[]) => TextCond; // (B, L, E)
  /** A fixed validation batch for the fixed-t loss curves. */
  evalBatch?: GridLoopBatch;
  /** Scalars for TensorBoard (tag → value at step). */
  log: (step: number, scalars: Record<string, number>) => void;
  preview?: (step: number) => Promise<void>;
  checkpoint: (step: number) => Promise<void>;
  /** Checked after every step: true (e.g. after SIGINT) saves a checkpoint and returns. */
  shouldStop: () => boolean;
  /** Called after every step (progress bar). */
  onStep?: (step: number, info: { loss: number; tokensPerSec: number; stepsPerSec: number }) => void;
  /**
   * Steps 2–5 (forward/backward, accumulate, clip, optimizer) on data-parallel workers
   * (parallel-train.ts): the batches and their draws still come from this thread's Rng in the same
   * order, and `params` hold the new weights when it returns. Absent = this thread does them.
   */
  parallel?: ParallelStep;
}

/** A bucketed micro-batch with its random draw (drawn here, computed elsewhere). */
export interface DrawnBatch {
  b: GridLoopBatch;
  draw: BatchDraw;
}

export interface ParallelStep {
  step(micros: DrawnBatch[], lr: number, clipNorm: number): Promise<{ lossSum: number; perLevel: [number, number][]; tokens: number; norm: number }>;
}

export interface LoopResult {
  step: number;
  stopped: boolean;
  lastLoss: number;
}

const BINS = [0.25, 0.5, 0.75, 1.0001];

/** Train from `startStep` until cfg.steps (or until shouldStop). */
export async function trainLoop(deps: LoopDeps, cfg: LoopConfig, startStep: number): Promise<LoopResult> {
  const { model, params, opt, ema, rng } = deps;
  const vars = [...params.values()];
  const nameOf = new Map(vars.map((v, i) => [v.name, [...params.keys()][i]]));
  let step = startStep;
  let lastLoss = NaN;
  let lastSaved = startStep;
  const win = { loss: 0, n: 0, norm: 0, tokens: 0, time: 0, bins: BINS.map(() => ({ s: 0, n: 0 })) };

  while (step < cfg.steps) {
    const t0 = performance.now();
    // 1. lr
    const lrNow = lr(step, cfg.lr);

    const addLevels = (perLevel: [number, number][]) => {
      for (const [t, l] of perLevel) {
        const bin = win.bins[BINS.findIndex((e) => t < e)];
        bin.s += l;
        bin.n += 1;
      }
    };
    let lossSum = 0;
    let tokens = 0;
    let norm: number;
    if (deps.parallel) {
      // 2-5 on the workers: batches and draws from this thread's Rng, in the single-process order
      const micros: DrawnBatch[] = [];
      for (let micro = 0; micro < cfg.accumSteps; micro++) {
        const b = deps.nextBatch();
        if (b.kind === 'pack') throw new RangeError('data-parallel training takes bucketed batches only');
        micros.push({ b, draw: drawBatch(b.shape, b.tokensPerClip, rng, cfg.objective) });
      }
      const r = await deps.parallel.step(micros, lrNow, cfg.clipNorm);
      ({ lossSum, tokens, norm } = r);
      addLevels(r.perLevel);
    } else {
      // 2-3. forward/backward on each micro-batch, accumulate gradients
      let acc: Grads | null = null;
      for (let micro = 0; micro < cfg.accumSteps; micro++) {
        const b = deps.nextBatch();
        const { loss, perLevel, grads, tokens: n } = b.kind === 'pack' ? packedLossAndGrads(model, deps.encodeText, b, rng, cfg.objective, vars) : gridLossAndGrads(model, deps.encodeText, b, rng, cfg.objective, vars);
        lossSum += loss;
        tokens += n;
        addLevels(perLevel);
        const named: Grads = {};
        for (const [vn, g] of Object.entries(grads)) named[nameOf.get(vn)!] = g;
        acc = accumulate(acc, named);
      }
      const grads = scaleGrads(acc!, 1 / cfg.accumSteps);

      // 4. clip
      norm = globalNorm(grads);
      const clipped = clipByGlobalNorm(grads, norm, cfg.clipNorm);
      disposeGrads(grads);

      // 5. optimizer step
      opt.apply(clipped, lrNow);
      disposeGrads(clipped);
    }

    // 6. EMA
    ema.update(params, emaDecay(step, cfg.ema.decay, cfg.ema.warmup));
    step += 1;

    // 7. log
    lastLoss = lossSum / cfg.accumSteps;
    const dt = (performance.now() - t0) / 1000;
    Object.assign(win, { loss: win.loss + lastLoss, n: win.n + 1, norm: win.norm + norm, tokens: win.tokens + tokens, time: win.time + dt });
    deps.onStep?.(step, { loss: lastLoss, tokensPerSec: tokens / dt, stepsPerSec: 1 / dt });
    if (step % cfg.logEvery === 0 || step === cfg.steps) {
      const scalars: Record<string, number> = {
        'train/loss': win.loss / win.n,
        'train/lr': lrNow,
        'train/grad_norm': win.norm / win.n,
        'perf/tokens_per_sec': win.tokens / win.time,
        'perf/steps_per_sec': win.n / win.time,
      };
      win.bins.forEach((b, i) => {
        if (b.n > 0) scalars[`train/loss_t${i === 0 ? 0 : BINS[i - 1]}-${Math.min(1, BINS[i])}`] = b.s / b.n;
      });
      deps.log(step, scalars);
      Object.assign(win, { loss: 0, n: 0, norm: 0, tokens: 0, time: 0, bins: BINS.map(() => ({ s: 0, n: 0 })) });
    }
    // fixed-t validation loss on its own schedule (not only at steps that are also log steps)
    if (cfg.evalEvery > 0 && deps.evalBatch && step % cfg.evalEvery === 0) deps.log(step, fixedLevelLosses(model, deps.encodeText, deps.evalBatch, cfg));

    // 8. sample preview
    if (deps.preview && cfg.previewEvery > 0 && step % cfg.previewEvery === 0) await deps.preview(step);

    // 9. checkpoint (every K steps, at the end, and when asked to stop). Yield to the event loop
    // first so that a pending SIGINT handler runs between steps.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const stop = deps.shouldStop();
    if ((cfg.checkpointEvery > 0 && step % cfg.checkpointEvery === 0) || step === cfg.steps || stop) {
      await deps.checkpoint(step);
      lastSaved = step;
    }
    if (stop) return { step, stopped: true, lastLoss };
  }
  if (lastSaved !== step) await deps.checkpoint(step);
  return { step, stopped: false, lastLoss };
}

export interface MicroResult {
  loss: number;
  /** (noise level, per-sample loss) pairs for the loss-per-timestep curves. */
  perLevel: [number, number][];
  grads: Grads;
  tokens: number;
}

/** Draw (JS, from the Rng) then forward + backward on a bucketed micro-batch. */
export function gridLossAndGrads(model: Denoiser, encodeText: (captions: string[]) => TextCond, b: GridLoopBatch, rng: Rng, obj: ObjectiveConfig, vars: tf.Variable[]): MicroResult {
  return gridGradsFromDraw(model, encodeText, b, drawBatch(b.shape, b.tokensPerClip, rng, obj), vars, obj.motionWeight);
}

/** Forward + backward on a bucketed micro-batch whose random draw is given. */
export function gridGradsFromDraw(model: Denoiser, encodeText: (captions: string[]) => TextCond, b: GridLoopBatch, draw: BatchDraw, vars: tf.Variable[], motionWeight = 0): MicroResult {
  let per: tf.Tensor1D | null = null;
  const pw = motionWeight > 0 ? batchMotionWeights(b.x0, b.shape, motionWeight) : null;
  const { value, grads } = tf.variableGrads(() => {
    const x0 = tf.tensor5d(b.x0, b.shape); // (B, T, H, W, C)
    const text = encodeText(b.captions); // (B, L, E)
    const nullText = draw.dropText.some((d) => d > 0) ? encodeText(['']) : undefined; // (1, L, E)
    const posWeight = pw ? tf.tensor4d(pw, [b.shape[0], b.shape[1], b.shape[2], b.shape[3]]) : undefined;
    const out = lossFromDraw(model, { x0, text, nullText, posWeight }, draw);
    per = tf.keep(out.perSample);
    return out.loss;
  }, vars);
  const loss = value.dataSync()[0];
  value.dispose();
  const perT = per as unknown as tf.Tensor1D;
  const perSample = Float32Array.from(perT.dataSync() as Float32Array);
  perT.dispose();
  return { loss, perLevel: draw.draws.map((d, i) => [d.t, perSample[i]]), grads, tokens: b.shape[0] * b.tokensPerClip };
}

/** Draw per clip then forward + backward on a packed micro-batch (NaViT). */
export function packedLossAndGrads(model: Denoiser, encodeText: (captions: string[]) => TextCond, b: PackLoopBatch, rng: Rng, obj: ObjectiveConfig, vars: tf.Variable[]): MicroResult {
  const draws = b.clips.map((c) => drawClip(c, b.patch, rng, obj));
  const pb = buildPacked(b.clips, draws, b.rows, b.patch, obj.motionWeight);
  const { value, grads } = tf.variableGrads(() => packedLoss(model, pb, encodeText(pb.captions)), vars);
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, perLevel: [], grads, tokens: pb.tokens };
}

/** Open-Sora's validation loss at fixed noise levels on a fixed batch (its own Rng, no grads). */
export function fixedLevelLosses(model: Denoiser, encodeText: (captions: string[]) => TextCond, b: GridLoopBatch, cfg: Pick<LoopConfig, 'evalLevels' | 'objective'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const level of cfg.evalLevels) {
    // A fresh generator per level: the validation noise is identical at every evaluation.
    const draw = fixedLevelDraw(b.shape, level, new Rng(Math.round(level * 1e6) + 17), cfg.objective);
    const v = tf.tidy(() => {
      const x0 = tf.tensor5d(b.x0, b.shape);
      return lossFromDraw(model, { x0, text: encodeText(b.captions) }, draw).loss;
    });
    out[`val/loss_t${level}`] = v.dataSync()[0];
    v.dispose();
  }
  return out;
}

function accumulate(acc: Grads | null, g: Grads): Grads {
  if (!acc) return g;
  const out: Grads = {};
  for (const k of new Set([...Object.keys(acc), ...Object.keys(g)])) {
    if (acc[k] && g[k]) {
      out[k] = tf.add(acc[k], g[k]);
      acc[k].dispose();
      g[k].dispose();
    } else out[k] = acc[k] ?? g[k];
  }
  return out;
}

function scaleGrads(g: Grads, s: number): Grads {
  if (s === 1) return g;
  const out: Grads = {};
  for (const [k, v] of Object.entries(g)) {
    out[k] = tf.mul(v, s);
    v.dispose();
  }
  return out;
}

function disposeGrads(g: Grads): void {
  for (const v of Object.values(g)) v.dispose();
}
