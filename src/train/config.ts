// The training config (STYLE.md §4): one zod schema, parsed once at the CLI edge from
// configs/train*.json plus flags; the parsed object is the "full resolved config" written to every
// checkpoint's config.json, and a resumed run is rebuilt from that file alone (nanoGPT
// `model_args`, DiT `args`).
import { z } from 'zod';
import { resolveDiTConfig, type DiTConfig } from '../model/presets.js';
import { FileError, FlagError, SpacetimeError } from '../util/errors.js';
import { readJsonFile } from '../util/json-file.js';
import { ObjectiveSchema } from './objective-config.js';
import { OptimizerSchema } from './optimizer.js';

const ModelSchema = z.union([z.string(), z.record(z.string(), z.unknown())]).transform((m, ctx): DiTConfig => {
  try {
    return resolveDiTConfig(m as string);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

export const TrainConfigSchema = z
  .object({
    /** A DiT preset name (DIT_PRESETS) or a partial config with an optional `preset` base. */
    model: ModelSchema.prefault('DiT-T/2'),
    text: z
      .object({
        /** BPE vocabulary (bytes + merges + 3 specials), trained on the dataset's captions. */
        vocabSize: z.number().int().min(260).default(512),
        /** Caption tokens (padded/truncated), the text encoder's maxLen. */
        maxTokens: z.number().int().min(2).default(32),
        /** Text-encoder transformer (src/model/text-encoder.ts); its width is the DiT's textWidth. */
        depth: z.number().int().min(1).default(2),
        heads: z.number().int().min(1).default(2),
        /** Give each token's input an embedding of the previous token too (text-encoder.ts). */
        prevToken: z.boolean().default(false),
        /** LayerNorm the summed input embeddings before the first block (text-encoder.ts). */
        embedNorm: z.boolean().default(false),
        /** Hashed (previous, this) token-pair embeddings with this many rows, 0 = none (text-encoder.ts). */
        bigramBuckets: z.number().int().min(0).default(0),
        /** Learning-rate factor for the caption encoder's parameters; 0 freezes it at its initialisation. */
        lrScale: z.number().min(0).default(1),
      })
      .strict()
      .prefault({}),
    objective: ObjectiveSchema.prefault({}),
    optimizer: OptimizerSchema.prefault({}),
    lr: z
      .object({
        lr: z.number().positive().default(3e-4),
        warmupSteps: z.number().int().min(0).default(50),
        schedule: z.enum(['cosine', 'constant']).default('cosine'),
        minLrRatio: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .prefault({}),
    steps: z.number().int().positive().default(1000),
    accumSteps: z.number().int().positive().default(1),
    ema: z
      .object({ decay: z.number().min(0).max(1).default(0.999), warmup: z.boolean().default(true) })
      .strict()
      .prefault({}),
    data: z
      .object({
        mode: z.enum(['bucket', 'pack']).default('bucket'),
        /** Spacetime tokens per batch (bucket) or per packed row (pack). */
        targetTokens: z.number().int().positive().default(512),
        maxBatch: z.number().int().positive().default(16),
        /** Packed rows per batch. */
        packRows: z.number().int().positive().default(1),
        dropLast: z.boolean().default(false),
        /** Latents are multiplied by this; "auto" = 1/std of the dataset (LDM's scale factor), resolved at start. */
        latentScale: z.union([z.number().positive(), z.literal('auto')]).default('auto'),
        /** Probability of mirroring a training clip left-right (latent flip + "left"/"right" swapped in its caption). */
        hflip: z.number().min(0).max(1).default(0),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        every: z.number().int().positive().default(10),
        evalEvery: z.number().int().min(0).default(100),
        evalLevels: z.array(z.number().gt(0).lt(1)).default([0.1, 0.3, 0.5, 0.7, 0.9]),
        previewEvery: z.number().int().min(0).default(0),
        previewSteps: z.number().int().positive().default(16),
        /** VAE checkpoint for decoding previews (none = previews off). */
        previewVae: z.string().optional(),
      })
      .strict()
      .prefault({}),
    checkpoint: z
      .object({ every: z.number().int().min(0).default(200), keepLast: z.number().int().min(0).default(3) })
      .strict()
      .prefault({}),
    sample: z
      .object({
        /** Default: euler for rectified flow, ddim for DDPM (the only valid pairings). */
        sampler: z.enum(['euler', 'heun', 'ddim']).optional(),
        steps: z.number().int().positive().default(30),
        cfg: z.number().min(0).default(4),
      })
      .strict()
      .prefault({}),
    seed: z.number().int().min(0).default(0),
    /** Data-parallel worker threads (parallel-train.ts); 1 = train in this thread. `--workers` overrides. */
    parallel: z
      .object({ workers: z.number().int().min(1).default(1) })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.model.textWidth % c.text.heads !== 0) ctx.addIssue({ code: 'custom', path: ['text', 'heads'], message: `model.textWidth ${c.model.textWidth} is not divisible by text.heads ${c.text.heads}` });
    if (c.data.mode === 'pack' && c.model.patch[0] !== 1 && c.objective.condModes.none < 1) {
      ctx.addIssue({ code: 'custom', path: ['data', 'mode'], message: 'packing with frame conditioning needs temporal patch size 1' });
    }
    const s = c.sample.sampler;
    if (s && (c.objective.kind === 'ddpm') !== (s === 'ddim')) {
      ctx.addIssue({ code: 'custom', path: ['sample', 'sampler'], message: c.objective.kind === 'ddpm' ? `'${s}' integrates a rectified-flow velocity; a DDPM model samples with 'ddim'` : "'ddim' needs a DDPM model; rectified flow samples with 'euler' or 'heun'" });
    }
  })
  .transform((c) => ({ ...c, sample: { ...c.sample, sampler: c.sample.sampler ?? (c.objective.kind === 'ddpm' ? ('ddim' as const) : ('euler' as const)) } }));

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Validate a config object; the error names the first bad field (and the file when given). */
export function parseTrainConfig(raw: unknown, file?: string): TrainConfig {
  const r = TrainConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const iss = r.error.issues[0];
  const where = iss.path.join('.') || '(root)';
  if (file) throw new FileError(file, `${where}: ${iss.message}`);
  throw new FlagError('config', `${where}: ${iss.message}`);
}

/** Read configs/train*.json (or nothing) and apply flag overrides, then validate once. */
export async function loadTrainConfig(file: string | undefined, overrides: { steps?: number; seed?: number } = {}): Promise<TrainConfig> {
  let raw: Record<string, unknown> = {};
  if (file) {
    raw = (await readJsonFile(file, 'cannot read config file')) as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FileError(file, 'expected a JSON object');
  }
  if (overrides.steps !== undefined) raw = { ...raw, steps: overrides.steps };
  if (overrides.seed !== undefined) raw = { ...raw, seed: overrides.seed };
  return parseTrainConfig(raw, file);
}

/** A config object for JSON (numbers for latentScale once resolved). */
export function assertResolved(cfg: TrainConfig): asserts cfg is TrainConfig & { data: { latentScale: number } } {
  if (cfg.data.latentScale === 'auto') throw new SpacetimeError('internal: latentScale must be resolved before saving the config');
}
