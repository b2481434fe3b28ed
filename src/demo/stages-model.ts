// The model half of `spacetime demo`: train the DiT on the captioned shards (TensorBoard event
// files and VAE-decoded previews in its run directory), read the loss curve back from those
// event files, and export the run to an ONNX model directory for `spacetime generate`.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { exportModel } from '../infer/export/index.js';
import { selectBackend } from '../model/backend.js';
import { parseTrainConfig } from '../train/config.js';
import { runTrain } from '../train/run.js';
import { readEvents } from '../train/tensorboard.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';
import type { DemoConfig } from './config.js';
import type { DemoPaths } from './paths.js';
import { round, type Metrics } from './stages-data.js';

/** The scalar series `tag` of every event file in a run directory, in step order. */
export async function scalarSeries(runDir: string, tag: string): Promise<[number, number][]> {
  const files = (await fs.readdir(runDir)).filter((f) => f.startsWith('events.out.tfevents.'));
  if (!files.length) throw new FileError(runDir, 'no TensorBoard event file was written');
  const out: [number, number][] = [];
  for (const f of files)
    for (const e of await readEvents(path.join(runDir, f)))
      for (const v of e.summary?.value ?? []) if (v.tag === tag && typeof v.simple_value === 'number') out.push([e.step, v.simple_value]);
  return out.sort((a, b) => a[0] - b[0]);
}

/** 1 − mean(last `tail` values) / first value: how far a logged loss fell. */
export function lossDrop(series: readonly [number, number][], tail = 3): number {
  if (series.length < 2) return 0;
  const last = series.slice(-Math.min(tail, series.length - 1));
  const end = last.reduce((s, [, v]) => s + v, 0) / last.length;
  return 1 - end / series[0][1];
}

/** Stage 5: train the DiT, or fine-tune the base model's DiT from `init` (its config, with the VAE for previews, is saved next to the run). */
export async function ditStage(cfg: DemoConfig, p: DemoPaths, vaeCkpt: string, init?: string): Promise<Metrics & { ckpt: string }> {
  const raw = { ...cfg.dit, log: { ...((cfg.dit.log as object | undefined) ?? {}), previewVae: vaeCkpt } };
  parseTrainConfig(raw, p.ditConfig);
  await writeFileAtomic(p.ditConfig, JSON.stringify(raw, null, 2) + '\n');
  await selectBackend(cfg.backend, { quiet: true });
  const t0 = Date.now();
  const r = await runTrain({ data: p.shards, out: p.dit, config: p.ditConfig, init });
  const seconds = (Date.now() - t0) / 1000;
  const loss = await scalarSeries(p.dit, 'train/loss');
  const previews = await taggedCount(p.dit, 'preview');
  return {
    ckpt: r.checkpoint,
    steps: r.step,
    loss_first: loss.length ? round(loss[0][1], 4) : null,
    loss_last: round(r.loss, 4),
    loss_last3_mean: loss.length ? round(loss.slice(-3).reduce((s, [, v]) => s + v, 0) / Math.min(3, loss.length), 4) : null,
    loss_drop: round(lossDrop(loss), 4),
    logged_points: loss.length,
    preview_images: previews,
    steps_per_sec: round(r.step / seconds, 2),
  };
}

/** How many events carry a value (scalar or image) with this tag. */
async function taggedCount(runDir: string, tag: string): Promise<number> {
  const files = (await fs.readdir(runDir)).filter((f) => f.startsWith('events.out.tfevents.'));
  let n = 0;
  for (const f of files) for (const e of await readEvents(path.join(runDir, f))) n += (e.summary?.value ?? []).filter((v) => v.tag === tag).length;
  return n;
}

/** Stage 6: export the trained DiT, caption encoder and VAE to ONNX. */
export async function exportStage(cfg: DemoConfig, p: DemoPaths, vaeCkpt: string): Promise<Metrics> {
  await selectBackend('cpu', { quiet: true });
  const [width, height] = cfg.export.size.split('x').map(Number);
  const r = await exportModel({ ckpt: p.dit, out: p.model, vae: vaeCkpt, ema: cfg.export.ema, frames: cfg.export.frames, width, height, fps: cfg.export.fps });
  const bytes = Object.values(r.bytes).reduce((s, b) => s + b, 0);
  return { model_id: r.config.model.id, step: r.config.model.step, onnx_mb: round(bytes / 1e6, 2), files: Object.keys(r.bytes).length };
}
