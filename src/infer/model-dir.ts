// The exported model directory (DESIGN.md "Exported model"): dit.onnx, text_encoder.onnx,
// vae_decoder.onnx, vae_encoder.onnx, tokenizer.json and config.json. config.json is the
// contract between `spacetime export` and `spacetime generate`; it is validated here once.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DiTConfigSchema } from '../model/presets.js';
import { VAEConfigSchema } from '../model/vae.js';
import { ObjectiveSchema, type ObjectiveConfig } from '../train/objective-config.js';
import { tokenShift } from '../train/schedule.js';
import { FileError } from '../util/errors.js';
import { SAMPLERS } from './sampler.js';

export const MODEL_FORMAT = 'spacetime-onnx/1';

export const MODEL_FILES = { dit: 'dit.onnx', textEncoder: 'text_encoder.onnx', vaeDecoder: 'vae_decoder.onnx', vaeEncoder: 'vae_encoder.onnx', tokenizer: 'tokenizer.json' } as const;

export const ExportedConfigSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  model: z.object({ id: z.string(), hash: z.string(), step: z.number().int().nonnegative(), ema: z.boolean() }),
  dit: DiTConfigSchema,
  text: z.object({ maxTokens: z.number().int().positive(), width: z.number().int().positive(), vocabSize: z.number().int().positive() }),
  vae: VAEConfigSchema,
  latentScale: z.number().positive(),
  objective: ObjectiveSchema,
  defaults: z.object({
    sampler: z.enum(SAMPLERS as unknown as [string, ...string[]]),
    steps: z.number().int().positive(),
    cfg: z.number().nonnegative(),
    frames: z.number().int().positive(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    fps: z.number().positive(),
  }),
  float16: z.boolean().default(false),
});

export type ExportedConfig = z.infer<typeof ExportedConfigSchema>;

export interface ModelDir {
  dir: string;
  config: ExportedConfig;
  files: { [K in keyof typeof MODEL_FILES]: string };
}

/** Read and validate a model directory; every missing file is named. */
export async function loadModelDir(dir: string): Promise<ModelDir> {
  const cfgFile = path.join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(cfgFile, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FileError(dir, (await fs.stat(dir).catch(() => null)) ? 'not an exported model directory (no config.json; run `spacetime export`)' : 'no such directory');
    }
    throw new FileError(cfgFile, `not valid JSON: ${(e as Error).message}`);
  }
  const r = ExportedConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new FileError(cfgFile, `${i.path.join('.') || 'config'}: ${i.message}`);
  }
  const files = Object.fromEntries(Object.entries(MODEL_FILES).map(([k, f]) => [k, path.join(dir, f)])) as ModelDir['files'];
  for (const f of Object.values(files)) {
    try {
      await fs.access(f);
    } catch {
      throw new FileError(f, 'missing from the model directory');
    }
  }
  return { dir, config: r.data, files };
}

/** Content hash of a model directory's files (sha256 over names and bytes, in a fixed order). */
export async function hashModelFiles(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of Object.values(MODEL_FILES).sort()) {
    h.update(f);
    h.update(await fs.readFile(path.join(dir, f)));
  }
  return h.digest('hex');
}

/** The RF sampling time shift for a latent with `tokens` patches (stored default, or by token count). */
export function samplingShift(obj: ObjectiveConfig, tokens: number): number {
  if (obj.rf.sampleShift !== undefined) return obj.rf.sampleShift;
  return obj.rf.shiftByTokens ? tokenShift(tokens, obj.rf.shiftBase, obj.rf.shiftRefTokens) : obj.rf.shiftBase;
}
