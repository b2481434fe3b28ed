// The caption encoder on a tiny config (cpu backend): shapes, the key-padding mask (real tokens
// ignore padding), bad token ids, gradients reach the embeddings, stored-tensor round trip, and the
// previous-token input, the hashed token-pair input and the embedding LayerNorm against their closed
// forms in float64.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { BIGRAM_MULT, bigramIds, createTextEncoder, loadTextEncoder } from '../../src/model/text-encoder.js';

beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
  await ensureGradients();
});

const cfg = { vocabSize: 20, width: 8, depth: 1, heads: 2, maxLen: 6 };
const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('text encoder', () => {
  it('encodes (B, L) ids to (B, L, E) and real tokens ignore the padding', () => {
    const enc = createTextEncoder(cfg, 0);
    const mask = tf.tensor2d([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]);
    const ids1 = tf.tensor2d([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]], undefined, 'int32');
    const ids2 = tf.tensor2d([[3, 4, 5, 17, 9], [1, 2, 3, 4, 5]], undefined, 'int32');
    const a = enc.encode(ids1, mask);
    const b = enc.encode(ids2, mask);
    expect(a.emb.shape).toEqual([2, 5, 8]);
    expect(maxAbs(a.mask, mask)).toBe(0);
    expect(maxAbs(tf.slice(a.emb, [0, 0, 0], [1, 3, 8]), tf.slice(b.emb, [0, 0, 0], [1, 3, 8]))).toBeLessThan(1e-6);
    expect(maxAbs(tf.slice(a.emb, [0, 3, 0], [1, 2, 8]), tf.slice(b.emb, [0, 3, 0], [1, 2, 8]))).toBeGreaterThan(1e-3);
    tf.dispose([mask, ids1, ids2, a.emb, a.mask, b.emb, b.mask]);
    enc.dispose();
  });

  it('rejects out-of-vocabulary ids and too-long inputs', () => {
    const enc = createTextEncoder(cfg, 0);
    const ids = tf.tensor2d([[1, 20]], undefined, 'int32');
    const m = tf.ones([1, 2]) as tf.Tensor2D;
    expect(() => enc.encode(ids, m)).toThrow(/token id 20 outside \[0, 20\)/);
    const long = tf.zeros([1, 7], 'int32') as tf.Tensor2D;
    const ml = tf.ones([1, 7]) as tf.Tensor2D;
    expect(() => enc.encode(long, ml)).toThrow(/7 tokens exceed maxLen 6/);
    expect(() => createTextEncoder({ ...cfg, heads: 3 }, 0)).toThrow(/not divisible/);
    tf.dispose([ids, m, long, ml]);
    enc.dispose();
  });

  it('passes gradients to the used embeddings only, and round-trips through stored tensors', () => {
    const enc = createTextEncoder(cfg, 1);
    const ids = tf.tensor2d([[2, 3]], undefined, 'int32');
    const m = tf.ones([1, 2]) as tf.Tensor2D;
    const emb = enc.params.get('tok_embed')!;
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
      const out = enc.encode(ids, m);
      return tf.sum(tf.square(out.emb)) as tf.Scalar;
    }), [...enc.params.values()]);
    const g = grads[emb.name].arraySync() as number[][];
    expect(g[2].some((x) => Math.abs(x) > 1e-6)).toBe(true);
    expect(g[7].every((x) => x === 0)).toBe(true);
    value.dispose();
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    const stored: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of enc.params) stored[k] = { shape: v.shape, data: v.dataSync() as Float32Array };
    const enc2 = loadTextEncoder(cfg, stored);
    const a = enc.encode(ids, m);
    const b = enc2.encode(ids, m);
    expect(maxAbs(a.emb, b.emb)).toBe(0);
    expect(() => loadTextEncoder({ ...cfg, width: 16 }, stored)).toThrow(/'tok_embed' has shape \(20, 8\), expected \(20, 16\)/);
    tf.dispose([ids, m, a.emb, a.mask, b.emb, b.mask]);
    enc.dispose();
    enc2.dispose();
  });

  it('prevToken adds prev_embed of the token before each token (none for the first), closed form in float64 (1e-5)', () => {
    const enc = createTextEncoder({ ...cfg, prevToken: true }, 3);
    expect(enc.params.get('prev_embed')?.shape).toEqual([cfg.vocabSize, cfg.width]);
    const plain = createTextEncoder(cfg, 3);
    expect(plain.params.has('prev_embed')).toBe(false);
    expectSilencedClosedForm(enc, false);
    enc.dispose();
    plain.dispose();
  });

  it('embedNorm LayerNorms tok + pos + prev before the blocks, closed form in float64 (1e-5)', () => {
    const enc = createTextEncoder({ ...cfg, prevToken: true, embedNorm: true }, 4);
    expect(enc.params.get('emb_ln.weight')?.shape).toEqual([cfg.width]);
    const plain = createTextEncoder(cfg, 4);
    expect(plain.params.has('emb_ln.weight')).toBe(false);
    expectSilencedClosedForm(enc, true);
    enc.dispose();
    plain.dispose();
  });

  it('hashes (previous, this) token pairs to (p · 7919 + id) mod Nb, with p = V before the first token', () => {
    expect(BIGRAM_MULT).toBe(7919);
    // rows [4, 9, 4] and [9, 4, 7], V = 20, Nb = 16: written out by hand
    expect(Array.from(bigramIds([4, 9, 4, 9, 4, 7], 2, 3, 20, 16))).toEqual([
      (20 * 7919 + 4) % 16, (4 * 7919 + 9) % 16, (9 * 7919 + 4) % 16,
      (20 * 7919 + 9) % 16, (9 * 7919 + 4) % 16, (4 * 7919 + 7) % 16,
    ]);
    // "a b c" and "c b a" (the same tokens reversed): the same multiset of tokens and of previous
    // tokens but different pairs, which is what makes the order visible to a caption average
    const fwd = Array.from(bigramIds([1, 2, 3], 1, 3, 20, 64)).sort();
    const rev = Array.from(bigramIds([3, 2, 1], 1, 3, 20, 64)).sort();
    expect(fwd).not.toEqual(rev);
  });

  it('bigramBuckets adds bigram_embed of each token pair, closed form in float64 (1e-5); rejects a bad count', () => {
    const enc = createTextEncoder({ ...cfg, prevToken: true, embedNorm: true, bigramBuckets: 16 }, 6);
    expect(enc.params.get('bigram_embed')?.shape).toEqual([16, cfg.width]);
    const plain = createTextEncoder({ ...cfg, bigramBuckets: 0 }, 6);
    expect(plain.params.has('bigram_embed')).toBe(false);
    expectSilencedClosedForm(enc, true);
    expect(() => createTextEncoder({ ...cfg, bigramBuckets: -1 }, 0)).toThrow(/bigramBuckets must be a non-negative integer/);
    enc.dispose();
    plain.dispose();
  });
});

/** LayerNorm of one vector in float64 (eps 1e-6, as the encoder). */
function layerNorm64(x: number[], w: number[], b: number[]): number[] {
  const mu = x.reduce((a, c) => a + c, 0) / x.length;
  const va = x.reduce((a, c) => a + (c - mu) ** 2, 0) / x.length;
  return x.map((v, k) => ((v - mu) / Math.sqrt(va + 1e-6)) * w[k] + b[k]);
}

/**
 * Silence the blocks (zero output projections) of a prevToken encoder, randomise its LayerNorm gains and biases, and
 * check every output against ln_f([emb_ln](tok + pos + prev [+ bigram])) computed in float64 (1e-5).
 */
function expectSilencedClosedForm(enc: ReturnType<typeof createTextEncoder>, embedNorm: boolean): void {
  for (const [k, v] of enc.params) if (/attn\.proj|mlp\.fc2/.test(k)) v.assign(tf.zerosLike(v));
  for (const [k, v] of enc.params) if (/^(ln_f|emb_ln)\./.test(k)) v.assign(tf.randomNormal(v.shape, k.endsWith('weight') ? 1 : 0, 0.3, 'float32', k.length));
  const ids = [[4, 9, 4, 2], [9, 4, 7, 7]];
  const out = tf.tidy(() => enc.encode(tf.tensor2d(ids, undefined, 'int32'), tf.ones([2, 4]) as tf.Tensor2D).emb.arraySync() as number[][][]);
  const get = (k: string) => enc.params.get(k)!.arraySync() as number[][] & number[];
  const vec = (k: string) => get(k) as unknown as number[];
  const [tok, pos, prev] = [get('tok_embed'), get('pos_embed'), get('prev_embed')];
  const nb = enc.config.bigramBuckets ?? 0;
  const bigram = nb ? get('bigram_embed') : null;
  for (let r = 0; r < 2; r++)
    for (let j = 0; j < 4; j++) {
      const pair = bigram ? bigram[((j > 0 ? ids[r][j - 1] : enc.config.vocabSize) * 7919 + ids[r][j]) % nb] : null;
      const x = tok[ids[r][j]].map((v, k) => v + pos[j][k] + (j > 0 ? prev[ids[r][j - 1]][k] : 0) + (pair ? pair[k] : 0));
      const h = embedNorm ? layerNorm64(x, vec('emb_ln.weight'), vec('emb_ln.bias')) : x;
      layerNorm64(h, vec('ln_f.weight'), vec('ln_f.bias')).forEach((v, k) => expect(Math.abs(v - out[r][j][k])).toBeLessThan(1e-5));
    }
}
