// A small caption encoder: token + learned position embeddings and pre-LN transformer encoder
// blocks (Vaswani et al. 2017; pre-LN as in GPT-2/ViT, Xiong et al. 2020) with a key-padding mask,
// a final LayerNorm, giving one vector per token for the DiT's cross-attention (the role T5 plays
// in PixArt-α/SD3, at toy scale). Token ids come from the BPE tokenizer (tokenizer.ts).
// Embedding lookup is a one-hot product (its gradient is a plain matMul; a gather's gradient needs
// a scatter kernel the wasm backend lacks). With `prevToken`, each token's input also gets an
// embedding of the token before it (a bigram input, as a width-2 token convolution before the
// encoder, cf. the token shift of RWKV, Peng et al. 2023): "left" after "from" and "left" after
// "to" then enter the encoder as different vectors, so word order reaches every layer directly
// instead of only through the absolute position embeddings. With `embedNorm`, the summed input
// embeddings pass through a LayerNorm before the first block (BERT's embedding LayerNorm, Devlin
// et al. 2019 §3): the embeddings are initialised at 0.02 while the blocks' outputs start near unit
// scale, so without it the first attention layer's average over all tokens is as large as each
// token's own part of the output, and on the demo captions the shared part grows in training while
// the token-specific part shrinks (README, `text.embedNorm`).
// With `bigramBuckets` = Nb > 0, each token's input also gets an embedding of the (previous, this)
// token pair, hashed to one of Nb rows (fastText's hashed n-gram features, Joulin et al. 2017, §2.2):
//   bucket_j = (p_j · BIGRAM_MULT + id_j) mod Nb,  p_j = id_{j−1}, p_0 = V (no previous token)
// prevToken's input tok(id_j) + prev(id_{j−1}) is a sum, so summed over a caption it is the same
// for "from left to right" and "from right to left" (the same tokens, shifted): order then reaches
// the pooled caption vector and any near-uniform attention over the caption only through the
// blocks' nonlinearities, which start weak. The bigram pairs differ ("from left", "left to", "to
// right" against "from right", "right to", "to left"), so their sum, and every average over the
// caption, tells the two apart from the first step.
// Parameters (weights (in, out)):
//   tok_embed (V, E), pos_embed (maxLen, E), prev_embed (V, E) only with prevToken (none at j = 0)
//   bigram_embed (Nb, E) only with bigramBuckets > 0
//   emb_ln.{weight, bias} (E) only with embedNorm
//   blocks.i.ln1.{weight, bias} (E), blocks.i.attn.{q,k,v,proj}.{weight (E, E), bias (E)}
//   blocks.i.ln2.{weight, bias} (E), blocks.i.mlp.fc1.{weight (E, 4E), bias}, blocks.i.mlp.fc2.{weight (4E, E), bias}
//   ln_f.{weight, bias} (E)
import * as tf from '@tensorflow/tfjs-core';
import { SpacetimeError } from '../util/errors.js';
import { checkShape } from '../util/shape.js';
import { attend, MASKED } from './attention.js';
import { linear, matmul2d } from './linear.js';
import { geluTanh, layerNormAffine } from './norm.js';
import { createParams, disposeParams, loadParams, param, type ParamSpec, type RawTensor } from './params.js';
import type { ParamStore, TextCond } from './types.js';

export interface TextEncoderConfig {
  vocabSize: number;
  width: number;
  depth: number;
  heads: number;
  maxLen: number;
  /** Add an embedding of the previous token to each token's input (default false). */
  prevToken?: boolean;
  /** LayerNorm the summed input embeddings before the first block (default false). */
  embedNorm?: boolean;
  /** Hashed (previous, this) token-pair embeddings with this many rows; 0 or absent = none. */
  bigramBuckets?: number;
}

/** Multiplier of the bigram hash (an odd prime, so p ↦ p·M mod Nb is one-to-one for a power-of-two Nb). */
export const BIGRAM_MULT = 7919;

/**
 * Bigram bucket of every token of (b, l) ids: (p · BIGRAM_MULT + id) mod buckets, p the previous
 * token's id, or vocabSize for the first token of a row.
 */
export function bigramIds(ids: ArrayLike<number>, b: number, l: number, vocabSize: number, buckets: number): Int32Array {
  const out = new Int32Array(b * l);
  for (let r = 0; r < b; r++)
    for (let j = 0; j < l; j++) {
      const p = j === 0 ? vocabSize : ids[r * l + j - 1];
      out[r * l + j] = (p * BIGRAM_MULT + ids[r * l + j]) % buckets;
    }
  return out;
}

export interface TextEncoder {
  config: TextEncoderConfig;
  params: ParamStore;
  /** ids (B, L) int32, mask (B, L) 1 = real token → TextCond (emb (B, L, E), a copy of mask). */
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D): TextCond;
  dispose(): void;
}

export function textEncoderParamSpecs(cfg: TextEncoderConfig): ParamSpec[] {
  const e = cfg.width;
  const specs: ParamSpec[] = [
    { name: 'tok_embed', shape: [cfg.vocabSize, e], init: 'normal02' },
    { name: 'pos_embed', shape: [cfg.maxLen, e], init: 'normal02' },
  ];
  if (cfg.prevToken) specs.push({ name: 'prev_embed', shape: [cfg.vocabSize, e], init: 'normal02' });
  if (cfg.bigramBuckets) specs.push({ name: 'bigram_embed', shape: [cfg.bigramBuckets, e], init: 'normal02' });
  const ln = (name: string) => specs.push({ name: `${name}.weight`, shape: [e], init: 'ones' }, { name: `${name}.bias`, shape: [e], init: 'zeros' });
  if (cfg.embedNorm) ln('emb_ln');
  const lin = (name: string, i: number, o: number) => specs.push({ name: `${name}.weight`, shape: [i, o], init: 'xavier' }, { name: `${name}.bias`, shape: [o], init: 'zeros' });
  for (let i = 0; i < cfg.depth; i++) {
    ln(`blocks.${i}.ln1`);
    for (const m of ['q', 'k', 'v', 'proj']) lin(`blocks.${i}.attn.${m}`, e, e);
    ln(`blocks.${i}.ln2`);
    lin(`blocks.${i}.mlp.fc1`, e, 4 * e);
    lin(`blocks.${i}.mlp.fc2`, 4 * e, e);
  }
  ln('ln_f');
  return specs;
}

function checkConfig(cfg: TextEncoderConfig): void {
  for (const k of ['vocabSize', 'width', 'depth', 'heads', 'maxLen'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new SpacetimeError(`text encoder: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.bigramBuckets !== undefined && (!Number.isInteger(cfg.bigramBuckets) || cfg.bigramBuckets < 0)) throw new SpacetimeError(`text encoder: bigramBuckets must be a non-negative integer, got ${cfg.bigramBuckets}`);
  if (cfg.width % cfg.heads !== 0) throw new SpacetimeError(`text encoder: width ${cfg.width} is not divisible by heads ${cfg.heads}`);
}

function encode(p: ParamStore, cfg: TextEncoderConfig, ids: tf.Tensor2D, mask: tf.Tensor2D): TextCond {
  const env = checkShape('text ids', ids.shape, ['B', 'L']);
  checkShape('text mask', mask.shape, ['B', 'L'], env);
  const { B: b, L: l } = env;
  if (l > cfg.maxLen) throw new SpacetimeError(`text encoder: ${l} tokens exceed maxLen ${cfg.maxLen}`);
  const idv = ids.dataSync();
  for (const id of idv) if (id < 0 || id >= cfg.vocabSize || !Number.isInteger(id)) throw new SpacetimeError(`text encoder: token id ${id} outside [0, ${cfg.vocabSize})`);
  const e = cfg.width;
  const heads = cfg.heads;
  const emb = tf.tidy(() => {
    const oh = tf.cast(tf.oneHot(tf.reshape(tf.cast(ids, 'int32'), [b * l]) as tf.Tensor1D, cfg.vocabSize), 'float32') as tf.Tensor2D; // (B·L, V)
    const pos = tf.slice(param(p, 'pos_embed'), [0, 0], [l, e]); // (L, E)
    let h = tf.reshape(tf.add(tf.reshape(matmul2d(oh, param(p, 'tok_embed') as tf.Tensor2D), [b, l, e]), pos), [b * l, e]) as tf.Tensor2D; // (B·L, E)
    if (cfg.prevToken && l > 1) {
      const oh3 = tf.reshape(oh, [b, l, cfg.vocabSize]); // (B, L, V)
      const prev = tf.reshape(tf.concat([tf.zeros([b, 1, cfg.vocabSize]), tf.slice(oh3, [0, 0, 0], [b, l - 1, cfg.vocabSize])], 1), [b * l, cfg.vocabSize]) as tf.Tensor2D; // (B·L, V): row j = one-hot of token j − 1, zeros at j = 0
      h = tf.add(h, matmul2d(prev, param(p, 'prev_embed') as tf.Tensor2D)) as tf.Tensor2D; // (B·L, E)
    }
    if (cfg.bigramBuckets) {
      const bg = tf.tensor1d(bigramIds(idv, b, l, cfg.vocabSize, cfg.bigramBuckets), 'int32'); // (B·L)
      const ohb = tf.cast(tf.oneHot(bg, cfg.bigramBuckets), 'float32') as tf.Tensor2D; // (B·L, Nb)
      h = tf.add(h, matmul2d(ohb, param(p, 'bigram_embed') as tf.Tensor2D)) as tf.Tensor2D; // (B·L, E)
    }
    if (cfg.embedNorm) h = layerNormAffine(h, param(p, 'emb_ln.weight'), param(p, 'emb_ln.bias')); // (B·L, E)
    const bias = tf.reshape(tf.mul(tf.sub(1, mask), MASKED), [b, 1, 1, l]) as tf.Tensor4D; // (B, 1, 1, L)
    const heads4 = (x: tf.Tensor2D) => tf.transpose(tf.reshape(x, [b, l, heads, e / heads]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, L, dh)
    for (let i = 0; i < cfg.depth; i++) {
      const w = (n: string) => param(p, `blocks.${i}.${n}`);
      const x = layerNormAffine(h, w('ln1.weight'), w('ln1.bias')); // (B·L, E)
      const q = heads4(linear(x, w('attn.q.weight'), w('attn.q.bias'))); // (B, H, L, dh)
      const k = heads4(linear(x, w('attn.k.weight'), w('attn.k.bias'))); // (B, H, L, dh)
      const v = heads4(linear(x, w('attn.v.weight'), w('attn.v.bias'))); // (B, H, L, dh)
      const o = tf.reshape(tf.transpose(attend(q, k, v, bias), [0, 2, 1, 3]), [b * l, e]) as tf.Tensor2D; // (B·L, E)
      h = tf.add(h, linear(o, w('attn.proj.weight'), w('attn.proj.bias'))) as tf.Tensor2D; // (B·L, E)
      const u = geluTanh(linear(layerNormAffine(h, w('ln2.weight'), w('ln2.bias')), w('mlp.fc1.weight'), w('mlp.fc1.bias'))); // (B·L, 4E)
      h = tf.add(h, linear(u, w('mlp.fc2.weight'), w('mlp.fc2.bias'))) as tf.Tensor2D; // (B·L, E)
    }
    return tf.reshape(layerNormAffine(h, param(p, 'ln_f.weight'), param(p, 'ln_f.bias')), [b, l, e]) as tf.Tensor3D; // (B, L, E)
  });
  return { emb, mask: tf.clone(mask) };
}

function make(config: TextEncoderConfig, params: ParamStore): TextEncoder {
  return { config, params, encode: (ids, mask) => encode(params, config, ids, mask), dispose: () => disposeParams(params) };
}

/** A freshly initialised text encoder. */
export function createTextEncoder(cfg: TextEncoderConfig, seed: number): TextEncoder {
  checkConfig(cfg);
  return make({ ...cfg }, createParams(textEncoderParamSpecs(cfg), seed));
}

/** A text encoder from stored tensors; a missing, extra or mis-shaped key is an error naming it. */
export function loadTextEncoder(cfg: TextEncoderConfig, tensors: Record<string, RawTensor>): TextEncoder {
  checkConfig(cfg);
  return make({ ...cfg }, loadParams(textEncoderParamSpecs(cfg), tensors, 'text encoder checkpoint'));
}
