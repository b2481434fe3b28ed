// Building the trained system from a config (STYLE.md §7: a checkpoint describes itself): the
// DiT (src/model/dit.ts), the caption encoder (src/model/text-encoder.ts) and the BPE tokenizer
// (src/model/tokenizer.ts). Their parameters form one store for the optimizer and EMA; in
// model.safetensors / ema.safetensors the DiT keys are stored as they are and the text encoder's
// under the prefix `text_encoder.`. tokenizer.json is stored in every checkpoint directory.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createDiT, type DiTModel } from '../model/dit.js';
import { createTextEncoder, type TextEncoder } from '../model/text-encoder.js';
import { BpeTokenizer } from '../model/tokenizer.js';
import type { ParamStore, TextCond } from '../model/types.js';
import { assignParams, loadCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { TrainConfigSchema, type TrainConfig } from './config.js';
import type { z } from 'zod';

export const TEXT_PREFIX = 'text_encoder.';
export const TOKENIZER_FILE = 'tokenizer.json';

/** The learning-rate factor of one parameter of a system: `text.lrScale` for the caption encoder's, 1 for the DiT's. */
export function paramLrScale(cfg: Pick<TrainConfig, 'text'>): (name: string) => number {
  return (name) => (name.startsWith(TEXT_PREFIX) ? cfg.text.lrScale : 1);
}

export interface System {
  dit: DiTModel;
  text: TextEncoder;
  tokenizer: BpeTokenizer;
  /** Every trainable parameter: DiT keys plus `text_encoder.*`. */
  params: ParamStore;
  /** Captions → (B, L, E) embeddings; call inside tf.tidy / variableGrads. */
  encodeText: (captions: string[]) => TextCond;
  dispose(): void;
}

/** A freshly initialised system (DiT seeded with cfg.seed, text encoder with cfg.seed + 1). */
export function buildSystem(cfg: TrainConfig, tokenizer: BpeTokenizer): System {
  const dit = createDiT(cfg.model, cfg.seed);
  const text = createTextEncoder({ vocabSize: tokenizer.vocabSize, width: cfg.model.textWidth, depth: cfg.text.depth, heads: cfg.text.heads, maxLen: cfg.text.maxTokens, prevToken: cfg.text.prevToken, embedNorm: cfg.text.embedNorm, bigramBuckets: cfg.text.bigramBuckets }, cfg.seed + 1);
  const params: ParamStore = new Map(dit.params);
  for (const [k, v] of text.params) params.set(`${TEXT_PREFIX}${k}`, v);
  const L = cfg.text.maxTokens;
  const encodeText = (captions: string[]): TextCond => {
    const { ids, mask } = tokenizer.encodeBatch(captions, L);
    const idT = tf.tensor2d(ids, [captions.length, L], 'int32'); // (B, L)
    const maskT = tf.tensor2d(mask, [captions.length, L]); // (B, L)
    try {
      return text.encode(idT, maskT);
    } finally {
      idT.dispose();
      maskT.dispose();
    }
  };
  return {
    dit,
    text,
    tokenizer,
    params,
    encodeText,
    dispose() {
      dit.dispose();
      text.dispose();
    },
  };
}

/**
 * Rebuild a system from a checkpoint (or a run directory → latest) using its config.json and
 * tokenizer.json only, with the EMA weights when `ema` (the default for sampling).
 */
export async function loadSystem(dir: string, opts: { ema?: boolean; withOptimizer?: boolean } = {}): Promise<{ system: System; ck: LoadedCheckpoint<TrainConfig, Record<string, unknown>> }> {
  const ck = await loadCheckpoint<TrainConfig, Record<string, unknown>>(dir, {
    files: opts.withOptimizer ? ['model', 'ema', 'optimizer'] : [opts.ema === false ? 'model' : 'ema'],
    configSchema: TrainConfigSchema as unknown as z.ZodType<TrainConfig>,
  });
  const tokenizer = await BpeTokenizer.load(path.join(ck.dir, TOKENIZER_FILE));
  const system = buildSystem(ck.config, tokenizer);
  try {
    const group = opts.withOptimizer || opts.ema === false ? 'model' : 'ema';
    assignParams(system.params, ck.files[group], path.join(ck.dir, `${group}.safetensors`));
  } catch (err) {
    system.dispose();
    throw err;
  }
  return { system, ck };
}
