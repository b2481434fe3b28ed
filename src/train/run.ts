// `spacetime train` as a library call: resolve the config (new run: file + flags; resume: the
// checkpoint's config.json only), load the latent shards, build DiT + text encoder + tokenizer,
// wire the data sampler (buckets or NaViT packing), TensorBoard logging, VAE-decoded previews,
// keep-last-K checkpoints and graceful Ctrl-C, then call trainLoop (loop.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeImage } from '../data/image.js';
import { loadVAE, type VAE } from '../model/vae.js';
import { BpeTokenizer } from '../model/tokenizer.js';
import { ensureGradients } from '../model/tf-gradients.js';
import { FileError, FlagError } from '../util/errors.js';
import { info, warn } from '../util/log.js';
import { Progress, type ProgressOptions } from '../util/progress.js';
import { Rng, type RngState } from '../util/rng.js';
import { BucketSampler, planBuckets, tokenCount, type LoaderState } from './bucket.js';
import { buildSystem, loadSystem, paramLrScale, TOKENIZER_FILE, type System } from './build.js';
import { assignParams, listCheckpoints, paramsToTensors, resolveCheckpointDir, saveCheckpoint } from './checkpoint.js';
import { assertResolved, loadTrainConfig, type TrainConfig } from './config.js';
import { drawSample, gatherBatch, latentStd, loadLatents, type LatentDataset } from './data.js';
import { Ema } from './ema.js';
import { trainLoop, type GridLoopBatch, type LoopBatch } from './loop.js';
import { AdamW } from './optimizer.js';
import { PackSampler, planPacking } from './pack.js';
import { assertParallelSupported, DataParallel } from './parallel-train.js';
import { decodeToFrames, filmstrip, sampleLatent } from './preview.js';
import { EventWriter } from './tensorboard.js';

export interface TrainOptions {
  data: string;
  out: string;
  config?: string;
  resume?: boolean;
  /** Fine-tune: start a new run from this checkpoint's weights (EMA when stored), tokenizer,
   *  model/text architecture and latent scale; optimizer, step and schedule start afresh. */
  init?: string;
  steps?: number;
  seed?: number;
  /** Stop (with a checkpoint) once this step is reached, leaving the schedule unchanged. */
  stopAt?: number;
  /** Data-parallel worker threads (overrides config parallel.workers; parallel-train.ts). */
  workers?: number;
  /** Where the progress bar draws (tests pass a sink). */
  progress?: ProgressOptions['stream'];
}

export interface TrainState {
  step: number;
  rng: { s: RngState; spare: number | null };
  loader: LoaderState;
  optimizerStep: number;
  /** Most common latent shape (T, H, W, C): the default shape of `spacetime sample`. */
  latentShape: [number, number, number, number];
  fps: number;
  data: string;
}

export interface TrainResult {
  step: number;
  checkpoint: string;
  loss: number;
  stopped: boolean;
}

export async function runTrain(opts: TrainOptions): Promise<TrainResult> {
  await ensureGradients();
  const existing = await listCheckpoints(opts.out);
  let cfg: TrainConfig;
  let resumed: Awaited<ReturnType<typeof loadSystem>> | null = null;
  let initial: Awaited<ReturnType<typeof loadSystem>> | null = null;
  if (opts.resume && opts.init) throw new FlagError('init', '--init starts a new run from a checkpoint; it cannot be combined with --resume');
  if (opts.resume) {
    if (existing.length === 0) throw new FlagError('resume', `${opts.out} holds no checkpoint to resume from`);
    resumed = await loadSystem(opts.out, { withOptimizer: true });
    cfg = resumed.ck.config;
    if (opts.config) warn('--config is ignored with --resume: the run is rebuilt from its checkpoint config.json');
    if (opts.seed !== undefined && opts.seed !== cfg.seed) warn('--seed is ignored with --resume');
    if (opts.steps !== undefined && opts.steps !== cfg.steps) {
      info(`resume: total steps ${cfg.steps} → ${opts.steps} (the lr schedule is stretched accordingly)`);
      cfg = { ...cfg, steps: opts.steps };
    }
  } else {
    if (existing.length > 0) throw new FlagError('out', `${opts.out} already holds checkpoints; pass --resume to continue it or choose a new --out`);
    cfg = await loadTrainConfig(opts.config, { steps: opts.steps, seed: opts.seed });
    if (opts.init) {
      initial = await loadInitSystem(opts.init);
      const from = initial.ck.config;
      cfg = { ...cfg, model: from.model, text: from.text, data: { ...cfg.data, latentScale: from.data.latentScale } };
      info(`init: fine-tuning ${initial.ck.dir} (step ${initial.ck.step}); model, text encoder, tokenizer and latent scale come from it`);
    }
  }

  if (opts.workers !== undefined) cfg = { ...cfg, parallel: { workers: opts.workers } };
  try {
    assertParallelSupported(cfg);
  } catch (err) {
    (resumed ?? initial)?.system.dispose();
    throw err;
  }

  const ds = await loadLatents(opts.data);
  const prevData = (resumed?.ck.state as Partial<TrainState> | undefined)?.data;
  if (prevData && prevData !== path.resolve(opts.data)) warn(`resuming on ${path.resolve(opts.data)}, the run was trained on ${prevData}: the data order will not continue exactly`);
  const C = ds.shapes[0][3];
  if (C !== cfg.model.latentChannels) {
    initial?.system.dispose();
    throw new FileError(opts.data, `latents have ${C} channels but ${initial ? `the --init model (${opts.init})` : 'model.latentChannels'} is ${cfg.model.latentChannels}`);
  }
  if (cfg.data.latentScale === 'auto') cfg = { ...cfg, data: { ...cfg.data, latentScale: 1 / latentStd(ds) } };
  assertResolved(cfg);
  const scale = cfg.data.latentScale;

  let system: System;
  if (resumed) system = resumed.system;
  else if (initial) system = initial.system;
  else {
    const tokenizer = BpeTokenizer.train(ds.rows.map((r) => r.caption), cfg.text.vocabSize);
    system = buildSystem(cfg, tokenizer);
  }
  const st = resumed?.ck.state as Partial<TrainState> | undefined;
  const opt = new AdamW(system.params, cfg.optimizer, paramLrScale(cfg));
  const ema = new Ema(system.params);
  let writer: EventWriter | null = null;
  let vae: VAE | null = null;
  let dp: DataParallel | null = null;
  const onSigint = () => {
    stopRequested = true;
    info('\ninterrupt: finishing this step and writing a checkpoint (Ctrl-C again to abort)');
  };
  let stopRequested = false;
  try {
    if (resumed) {
      ema.load(resumed.ck.files.ema, path.join(resumed.ck.dir, 'ema.safetensors'));
      opt.loadState(resumed.ck.files.optimizer, st?.optimizerStep ?? resumed.ck.step, path.join(resumed.ck.dir, 'optimizer.safetensors'));
    }
    const rng = st?.rng ? Rng.fromState(st.rng) : new Rng(cfg.seed);
    const patch = cfg.model.patch;
    const { nextBatch, loaderState, evalBatch } = makeData(ds, cfg, scale, rng, st?.loader);
    const latentShape = mostCommonShape(ds);
    if (cfg.log.previewEvery > 0 && cfg.log.previewVae) vae = (await loadVAE(cfg.log.previewVae)).vae;
    writer = new EventWriter(opts.out);
    const w = writer;
    const startStep = resumed?.ck.step ?? 0;
    const endStep = Math.min(cfg.steps, opts.stopAt ?? cfg.steps);
    info(`train: ${ds.rows.length} clips, ${system.params.size} tensors, steps ${startStep} → ${endStep} of ${cfg.steps}, ${cfg.data.mode} batches${cfg.parallel.workers > 1 ? `, ${cfg.parallel.workers} workers` : ''}`);
    if (cfg.parallel.workers > 1) dp = await DataParallel.start({ workers: cfg.parallel.workers, config: cfg, tokenizer: system.tokenizer.toJSON(), params: system.params, optimizer: { tensors: opt.stateTensors(), step: opt.step } });
    const par = dp;
    const bar = new Progress('train', cfg.steps, { stream: opts.progress, start: startStep });
    process.once('SIGINT', onSigint);
    let lastCkpt = '';
    const result = await trainLoop(
      {
        model: system.dit,
        params: system.params,
        opt,
        ema,
        rng,
        nextBatch,
        encodeText: system.encodeText,
        evalBatch,
        log: (step, scalars) => {
          for (const [tag, v] of Object.entries(scalars)) w.scalar(tag, v, step);
        },
        preview: vae
          ? async (step) => {
              const frames = await previewFrames(system, ema, vae!, cfg, scale, latentShape, ds.rows[0].caption, patch);
              const strip = filmstrip(frames);
              w.image('preview', await encodeImage(strip), strip.height, strip.width, step);
            }
          : undefined,
        checkpoint: async (step) => {
          const state: TrainState = { step, rng: rng.getState(), loader: loaderState(), optimizerStep: par?.optimizerStep ?? opt.step, latentShape, fps: ds.rows[0].fps || 8, data: path.resolve(opts.data) };
          lastCkpt = await saveCheckpoint(
            opts.out,
            step,
            {
              files: { model: paramsToTensors(system.params), ema: ema.tensors(), optimizer: (par ?? opt).stateTensors() },
              config: cfg,
              state,
              extra: { [TOKENIZER_FILE]: JSON.stringify(system.tokenizer.toJSON()) + '\n' },
            },
            { keepLast: cfg.checkpoint.keepLast },
          );
        },
        shouldStop: () => stopRequested,
        parallel: par ?? undefined,
        onStep: (step, s) => bar.update(step, `loss ${s.loss.toFixed(4)} ${s.stepsPerSec.toFixed(2)} step/s ${Math.round(s.tokensPerSec)} tok/s`),
      },
      { ...cfg, steps: endStep, lr: { ...cfg.lr, totalSteps: cfg.steps }, accumSteps: cfg.accumSteps, clipNorm: cfg.optimizer.clipNorm, logEvery: cfg.log.every, previewEvery: cfg.log.previewEvery, checkpointEvery: cfg.checkpoint.every, evalEvery: cfg.log.evalEvery, evalLevels: cfg.log.evalLevels },
      startStep,
    );
    bar.finish(`loss ${result.lastLoss.toFixed(4)}`);
    if (par) info(par.summary());
    if (result.stopped) info(`stopped at step ${result.step}: ${lastCkpt}`);
    return { step: result.step, checkpoint: lastCkpt, loss: result.lastLoss, stopped: result.stopped };
  } finally {
    process.off('SIGINT', onSigint);
    await dp?.close();
    await writer?.close();
    vae?.dispose();
    opt.dispose();
    ema.dispose();
    system.dispose();
  }
}

function mostCommonShape(ds: LatentDataset): [number, number, number, number] {
  const count = new Map<string, number>();
  for (const s of ds.shapes) count.set(s.join('x'), (count.get(s.join('x')) ?? 0) + 1);
  const best = [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
  return best.split('x').map(Number) as [number, number, number, number];
}

/** The batch stream for the configured mode, its resumable position, and a fixed eval batch. */
function makeData(ds: LatentDataset, cfg: TrainConfig, scale: number, rng: Rng, loader: LoaderState | undefined) {
  const patch = cfg.model.patch;
  const buckets = planBuckets(ds.shapes, { targetTokens: cfg.data.targetTokens, maxBatch: cfg.data.maxBatch, patch, dropLast: cfg.data.dropLast });
  const first = buckets[0];
  const evalBatch: GridLoopBatch = { ...gatherBatch(ds, first.indices.slice(0, first.batch), new Rng(12345), scale), tokensPerClip: first.tokens };
  if (cfg.data.mode === 'bucket') {
    const sampler = new BucketSampler(buckets, cfg.seed, cfg.data.dropLast, loader);
    const nextBatch = (): LoopBatch => {
      const p = sampler.next();
      return { ...gatherBatch(ds, p.rows, rng, scale, cfg.data.hflip), tokensPerClip: buckets[p.bucket].tokens };
    };
    return { nextBatch, loaderState: () => sampler.state(), evalBatch };
  }
  const tokens = ds.shapes.map((s) => tokenCount(s, patch));
  const tooBig = tokens.findIndex((n) => n > cfg.data.targetTokens);
  if (tooBig >= 0) throw new FlagError('config', `data.targetTokens ${cfg.data.targetTokens} is smaller than clip ${ds.rows[tooBig].id} (${tokens[tooBig]} tokens)`);
  const sampler = new PackSampler(tokens, cfg.data.targetTokens * cfg.data.packRows, cfg.seed, loader);
  const nextBatch = (): LoopBatch => {
    const idx = sampler.next();
    const clips = idx.map((i) => {
      const d = drawSample(ds, i, rng, scale, cfg.data.hflip);
      return { x0: d.z, shape: ds.shapes[i], caption: d.caption };
    });
    return { kind: 'pack', clips, rows: planPacking(idx.map((i) => tokens[i]), cfg.data.targetTokens), patch };
  };
  return { nextBatch, loaderState: () => sampler.state(), evalBatch };
}

/** The system of a fine-tune's starting checkpoint: its EMA weights when stored, else its model weights. */
async function loadInitSystem(dir: string): Promise<Awaited<ReturnType<typeof loadSystem>>> {
  const ckpt = await resolveCheckpointDir(dir);
  const hasEma = await fs.stat(path.join(ckpt, 'ema.safetensors')).then(
    () => true,
    () => false,
  );
  return loadSystem(ckpt, { ema: hasEma });
}

/** Sample with the EMA weights (swapped in, then restored) and decode with the VAE. */
async function previewFrames(system: System, ema: Ema, vae: VAE, cfg: TrainConfig, scale: number, shape: [number, number, number, number], prompt: string, patch: readonly [number, number, number]) {
  const saved = paramsToTensors(system.params);
  assignParams(system.params, ema.tensors(), 'ema');
  try {
    const z = await sampleLatent({
      model: system.dit,
      encodeText: system.encodeText,
      prompt,
      shape,
      tokens: tokenCount(shape, patch),
      objective: cfg.objective,
      sampler: cfg.sample.sampler,
      steps: cfg.log.previewSteps,
      cfgScale: cfg.sample.cfg,
      seed: 0,
    });
    return decodeToFrames(vae, z.map((v) => v / scale), shape);
  } finally {
    assignParams(system.params, saved, 'model');
  }
}
