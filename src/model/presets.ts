// DiT configuration: a zod schema validated once at the edge (STYLE.md §4) and the named presets,
// after DiT's model table (Peebles & Xie 2023, Table 1: S = 384×12×6, B = 768×12×12; "/2" =
// spatial patch 2). `DiT-bench` is the engine benchmark configuration (ENGINE-NOTES.md).
// rope.split counts rotation *pairs* per axis (t, h, w) and must sum to headDim / 2 where
// headDim = hidden / heads (see rope.ts).
import { z } from 'zod';
import { FlagError } from '../util/errors.js';

const int = z.number().int().positive();

export const DiTConfigSchema = z
  .object({
    hidden: int,
    depth: int,
    heads: int,
    mlpRatio: z.number().positive(),
    patch: z.tuple([int, int, int]),
    latentChannels: int,
    textWidth: int,
    qkNorm: z.boolean(),
    rope: z
      .object({
        split: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().nonnegative()]),
        theta: z.number().positive(),
        scale: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
      })
      .strict(),
    condMode: z.enum(['channel', 'embedding']),
    pooledText: z.boolean(),
    /**
     * What the pooled text vector summarises: the masked mean of the caption tokens (order-blind),
     * the first token's encoder output (the tokenizer's bos slot, which attends over the whole
     * caption: a [CLS]-style summary that sees word order), or both, each linearly projected.
     */
    textPool: z.enum(['mean', 'first', 'mean+first']).default('mean'),
    /**
     * Absolute position besides RoPE: 'fractional' adds learned projections of each token's frame,
     * row and column as fractions of its clip's patch grid (abspos.ts), so the model knows where the
     * left half and the start of a clip are at any resolution and duration; 'none' (RoPE only,
     * relative offsets) is the default and what checkpoints without the key were trained with.
     */
    absPos: z.enum(['none', 'fractional']).default('none'),
    /** Width of the sinusoidal timestep features before the timestep MLP (DiT: 256). */
    freqDim: int.refine((d) => d % 2 === 0, 'freqDim must be even'),
  })
  // a misspelt key is an error, not a silently ignored override
  .strict()
  .superRefine((c, ctx) => {
    if (c.hidden % c.heads !== 0) ctx.addIssue({ code: 'custom', path: ['heads'], message: `hidden ${c.hidden} is not divisible by heads ${c.heads}` });
    const hd = c.hidden / c.heads;
    if (hd % 2 !== 0) ctx.addIssue({ code: 'custom', path: ['heads'], message: `head dim ${hd} must be even for RoPE` });
    const pairs = c.rope.split[0] + c.rope.split[1] + c.rope.split[2];
    if (pairs !== hd / 2) ctx.addIssue({ code: 'custom', path: ['rope', 'split'], message: `rope.split sums to ${pairs}, must be head dim / 2 = ${hd / 2}` });
    if (!Number.isInteger(c.hidden * c.mlpRatio)) ctx.addIssue({ code: 'custom', path: ['mlpRatio'], message: 'hidden × mlpRatio must be an integer' });
  });

export type DiTConfig = z.infer<typeof DiTConfigSchema>;
export type TextPool = DiTConfig['textPool'];

/** Which summaries a textPool mode adds: the masked mean (text_pool) and/or the first token (text_first). */
export function textPoolParts(mode: TextPool): { mean: boolean; first: boolean } {
  return { mean: mode !== 'first', first: mode !== 'mean' };
}

/** An even split of headDim/2 rotation pairs: time gets a quarter, height and width the rest. */
export function defaultRopeSplit(headDim: number): [number, number, number] {
  const half = headDim / 2;
  const t = Math.max(1, Math.floor(half / 4));
  const h = Math.floor((half - t) / 2);
  return [t, h, half - t - h];
}

function preset(hidden: number, depth: number, heads: number, extra: Partial<DiTConfig> = {}): DiTConfig {
  return DiTConfigSchema.parse({
    hidden,
    depth,
    heads,
    mlpRatio: 4,
    patch: [1, 2, 2],
    latentChannels: 4,
    textWidth: hidden,
    qkNorm: true,
    rope: { split: defaultRopeSplit(hidden / heads), theta: 10000, scale: [1, 1, 1] },
    condMode: 'channel',
    pooledText: true,
    textPool: 'mean',
    absPos: 'none',
    freqDim: 256,
    ...extra,
  });
}

export const DIT_PRESETS: Record<string, DiTConfig> = {
  'DiT-T/2': preset(64, 2, 2),
  'DiT-S/2': preset(384, 12, 6),
  'DiT-B/2': preset(768, 12, 12),
  'DiT-bench': preset(256, 6, 4),
};

/** A preset name, or a partial config (optionally naming a `preset` to start from), validated. */
export function resolveDiTConfig(nameOrPartial: string | (Partial<DiTConfig> & { preset?: string })): DiTConfig {
  const pick = (name: string) => {
    const p = DIT_PRESETS[name];
    if (!p) throw new FlagError('model', `unknown DiT preset '${name}' (known: ${Object.keys(DIT_PRESETS).join(', ')})`);
    return p;
  };
  if (typeof nameOrPartial === 'string') return pick(nameOrPartial);
  const { preset: base, ...rest } = nameOrPartial;
  const start = base ? pick(base) : DIT_PRESETS['DiT-T/2'];
  const merged = { ...start, ...rest, rope: { ...start.rope, ...(rest.rope ?? {}) } };
  // A changed hidden/heads without an explicit split gets the default split for the new head dim.
  if (!rest.rope?.split && (rest.hidden !== undefined || rest.heads !== undefined) && merged.hidden % merged.heads === 0) merged.rope.split = defaultRopeSplit(merged.hidden / merged.heads);
  const r = DiTConfigSchema.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
    throw new FlagError(`model.${at.join('.')}`, issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message);
  }
  return r.data;
}
