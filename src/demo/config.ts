// The demo's configuration (configs/demo.json, configs/demo-quick.json): the size of every stage
// of `spacetime demo` and the success thresholds it is judged by (STYLE.md §10: "demos carry a
// success threshold so CI can run them", as tinygrad's TARGET_EVAL_ACC_PCT). One zod schema,
// validated once here; the VAE and DiT sections are the ordinary VAE / train config formats.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SCENES } from '../data/synth/scenes.js';
import { FileError } from '../util/errors.js';
import { parseVAERunConfig, type VAERunConfig } from '../train/vae-train.js';
import { parseTrainConfig } from '../train/config.js';

/** The repository's configs/ folder (same relative place from src/demo and dist/demo). */
export const CONFIGS_DIR = path.resolve(import.meta.dirname, '../../configs');
/** The package root (models/demo, the shipped model, lives under it). */
export const PACKAGE_DIR = path.resolve(import.meta.dirname, '../..');
export const DEFAULT_CONFIG = path.join(CONFIGS_DIR, 'demo.json');
export const QUICK_CONFIG = path.join(CONFIGS_DIR, 'demo-quick.json');

const size = z.string().regex(/^\d+x\d+$/, 'WIDTHxHEIGHT');
const count = z.number().int().positive();

/** Each threshold is checked against one measured metric; null leaves it unjudged (quick runs). */
const limit = z.number().nullable();
export const DemoThresholdsSchema = z
  .object({
    /** Reconstruction PSNR (dB, posterior mean) of the trained VAE on held-out synth clips. */
    vae_psnr_min: limit,
    /** Relative fall of the DiT training loss: 1 − mean(last 3 logged) / first logged. */
    dit_loss_drop_min: limit,
    /** Mean of the last 3 logged DiT losses (a fine-tune starts low, so its drop says little). */
    dit_loss_last_max: limit.default(null),
    /** Mean VBench temporal_flickering score over the generated clips (t2v, i2v, extension). */
    flicker_min: limit,
    /** Mean physics-detector events per generated clip (t2v, i2v, extension). */
    physics_events_max: limit,
    /** Bench suite: mean flicker, mean physics-detector events and mean tracked objects per case. */
    bench_flicker_min: limit,
    bench_failures_per_clip_max: limit,
    /** Blank or washed-out videos score perfect flicker and no events; this catches them. */
    bench_objects_per_clip_min: limit,
    /** Bench suite prompt following (src/eval/bench.ts checkCase): share of cases whose named
     *  colours are all seen, whose main (first-named) object's colour is seen, and whose stated
     *  direction (left/right/down) the main object moved. */
    bench_colour_match_min: limit.default(null),
    bench_main_colour_match_min: limit.default(null),
    bench_direction_match_min: limit.default(null),
  })
  .strict();
export type DemoThresholds = z.infer<typeof DemoThresholdsSchema>;

export const DemoConfigSchema = z
  .object({
    name: z.string().default('demo'),
    backend: z.string().default('auto'),
    /**
     * Start from a trained model instead of from scratch: its VAE (`<model>/checkpoints/vae`) is
     * used as it is and its DiT (`<model>/checkpoints/dit`) is fine-tuned for `dit.steps` steps
     * (`spacetime train --init`). Relative to the package root unless absolute.
     */
    base: z.object({ model: z.string().min(1) }).strict().optional(),
    data: z
      .object({
        clips: count,
        sizes: z.array(size).min(1),
        frames: z.array(count).min(1),
        fps: count,
        seed: z.number().int().min(0).default(0),
        scenes: z.array(z.enum(SCENES)).min(1).default([...SCENES]),
        /** Extra clips (another seed), never trained on, to measure the VAE's PSNR. */
        psnr_clips: count.default(4),
      })
      .strict(),
    /** `{model, train}` as in configs/vae*.json (unused with `base`). */
    vae: z.unknown().optional(),
    /** A training config as in configs/train*.json (log.previewVae is set by the demo). */
    dit: z.record(z.string(), z.unknown()),
    export: z.object({ ema: z.boolean().default(true), frames: count, size, fps: count }).strict(),
    generate: z
      .object({
        steps: count,
        cfg: z.number().min(0),
        t2v: z.array(z.string().min(1)).min(1),
        /** Synth clip whose first frame (as PNG) starts the image-to-video clip, and its prompt. */
        i2v: z.object({ clip: z.number().int().min(0), prompt: z.string().min(1) }).strict(),
        /** Synth clip to extend forward by `frames` frames. */
        extend: z.object({ clip: z.number().int().min(0), frames: count, prompt: z.string().min(1) }).strict(),
      })
      .strict(),
    bench: z
      .object({
        /** Suite file, relative to configs/ unless absolute. */
        suite: z.string().default('bench/default.json'),
        /** Run only the first N cases (0: all). */
        cases: z.number().int().min(0).default(0),
        steps: count,
        temporal: z.boolean().default(true),
      })
      .strict(),
    thresholds: DemoThresholdsSchema,
  })
  .strict();

export type DemoConfig = Omit<z.infer<typeof DemoConfigSchema>, 'vae'> & { vae: VAERunConfig };

/** Validate a parsed demo config; errors name the file and the first bad field. */
export function parseDemoConfig(raw: unknown, file: string): DemoConfig {
  const r = DemoConfigSchema.safeParse(raw);
  if (!r.success) {
    const iss = r.error.issues[0];
    throw new FileError(file, `${iss.path.join('.') || '(root)'}: ${iss.message}`);
  }
  const c = r.data;
  const vae = parseVAERunConfig(c.vae ?? {}, `${file} (vae)`);
  // Validate the DiT section now (previewVae is filled in later) so a bad field fails before stage 1.
  parseTrainConfig({ ...c.dit, log: { ...((c.dit.log as object | undefined) ?? {}), previewVae: 'vae' } }, `${file} (dit)`);
  const st = vae.model.temporal_compression;
  const sp = vae.model.spatial_compression;
  for (const f of c.data.frames) if ((f - 1) % st !== 0) throw new FileError(file, `data.frames: ${f} is not 1 + k·${st} (the VAE's temporal compression)`);
  if ((c.export.frames - 1) % st !== 0) throw new FileError(file, `export.frames: ${c.export.frames} is not 1 + k·${st}`);
  const [w, h] = c.export.size.split('x').map(Number);
  if (w % sp || h % sp) throw new FileError(file, `export.size: ${c.export.size} is not a multiple of ${sp} (the VAE's spatial compression)`);
  if (c.generate.extend.frames % st !== 0) throw new FileError(file, `generate.extend.frames: ${c.generate.extend.frames} is not a multiple of ${st}`);
  for (const k of ['i2v', 'extend'] as const) {
    if (c.generate[k].clip >= c.data.clips) throw new FileError(file, `generate.${k}.clip: ${c.generate[k].clip} is not a clip index below data.clips (${c.data.clips})`);
  }
  return { ...c, vae };
}

/** Read and validate a demo config file. */
export async function readDemoConfig(file: string): Promise<DemoConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FileError(file, 'cannot read demo config');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FileError(file, `not valid JSON (${(err as Error).message})`);
  }
  return parseDemoConfig(raw, file);
}

/** The base model's checkpoints (vae, dit), or null when the demo trains from scratch. */
export function baseCheckpoints(cfg: DemoConfig): { dir: string; vae: string; dit: string } | null {
  if (!cfg.base) return null;
  const dir = path.isAbsolute(cfg.base.model) ? cfg.base.model : path.join(PACKAGE_DIR, cfg.base.model);
  return { dir, vae: path.join(dir, 'checkpoints', 'vae'), dit: path.join(dir, 'checkpoints', 'dit') };
}

/** The bench suite path of a config (relative paths are under configs/). */
export function suitePath(cfg: DemoConfig): string {
  return path.isAbsolute(cfg.bench.suite) ? cfg.bench.suite : path.join(CONFIGS_DIR, cfg.bench.suite);
}
