// Caption-encoder ONNX graph vs tfjs (float32, 1e-4 relative) with padding masks and three lengths,
// with and without the previous-token input, the embedding LayerNorm and the hashed token pairs.
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { createTextEncoder } from '../../src/model/text-encoder.js';
import { buildTextEncoder } from '../../src/infer/export/text-encoder.js';
import { paramReader } from '../../src/infer/export/vae.js';
import { createSession, floatOutput, run } from '../../src/infer/ort.js';
import { Rng } from '../../src/util/rng.js';

describe('text encoder ONNX export parity', () => {
  beforeAll(async () => {
    await selectBackend('cpu', { quiet: true });
  });

  it.each([
    [false, false, 0],
    [true, false, 0],
    [true, true, 0],
    [true, true, 32],
  ])('matches tfjs for three batch sizes and lengths, with padding (prevToken %s, embedNorm %s, bigramBuckets %s)', async (prevToken, embedNorm, bigramBuckets) => {
    const cfg = { vocabSize: 40, width: 16, depth: 2, heads: 2, maxLen: 8, prevToken, embedNorm, bigramBuckets };
    const enc = createTextEncoder(cfg, 5);
    const rng = new Rng(3);
    for (const v of enc.params.values()) {
      const x = tf.add(v, tf.mul(tf.tensor(rng.normals(v.size), v.shape), 0.1));
      v.assign(x as tf.Tensor);
      x.dispose();
    }
    const sess = await createSession(buildTextEncoder(cfg, paramReader(enc.params)).toBytes(), { threads: 1 });
    for (const [B, L] of [[2, 8], [3, 5], [2, 1]]) {
      const ids = Int32Array.from({ length: B * L }, (_, i) => (i * 7 + 3) % cfg.vocabSize);
      const mask = Float32Array.from({ length: B * L }, (_, i) => (i % L < L - (i / L) ? 1 : 0));
      const ref = enc.encode(tf.tensor2d(ids, [B, L], 'int32'), tf.tensor2d(mask, [B, L]));
      const out = floatOutput((await run(sess, { ids: { data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [B, L] }, mask: { data: mask, dims: [B, L] } })).emb);
      const r = ref.emb.dataSync() as Float32Array;
      let m = 0;
      let s = 0;
      for (let i = 0; i < r.length; i++) {
        m = Math.max(m, Math.abs(out.data[i] - r[i]));
        s = Math.max(s, Math.abs(r[i]));
      }
      expect(out.dims).toEqual([B, L, cfg.width]);
      expect(m / s).toBeLessThan(1e-4);
      tf.dispose([ref.emb, ref.mask]);
    }
    enc.dispose();
  });
});
