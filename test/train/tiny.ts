// A tiny Denoiser for trainer tests (depends only on the interface in src/model/types.ts):
// a per-position dense layer on [x_t, t, cond, pooled text] → C.
import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser, GridInput, ParamStore, TextCond } from '../../src/model/types.js';
import { finalizeManifest, writeShard, type LatentRow } from '../../src/data/shards.js';
import { Rng } from '../../src/util/rng.js';

export function tinyDenoiser(C: number, E: number, seed = 1): Denoiser & { params: ParamStore } {
  const rng = new Rng(seed);
  const params: ParamStore = new Map([
    ['w', tf.variable(tf.tensor2d(rng.normals((C + 2) * C).map((v) => 0.3 * v), [C + 2, C]))],
    ['b', tf.variable(tf.zeros([C]))],
    ['wt', tf.variable(tf.tensor2d(rng.normals(E * C).map((v) => 0.1 * v), [E, C]))],
  ]);
  return {
    params,
    grid(inp: GridInput) {
      return tf.tidy(() => {
        const [B, T, H, W] = inp.xt.shape;
        const C = inp.xt.shape[4];
        const n = T * H * W;
        const x = tf.reshape(inp.xt, [B * n, C]); // (B·N, C)
        const t = tf.reshape(tf.tile(tf.reshape(inp.t, [B, 1]), [1, n]), [B * n, 1]); // (B·N, 1)
        const m = inp.condMask ?? tf.zeros([B, T]);
        const c = tf.reshape(tf.tile(tf.reshape(m, [B, T, 1]), [1, 1, H * W]), [B * n, 1]); // (B·N, 1)
        const h = tf.add(tf.matMul(tf.concat([x, t, c], 1), params.get('w')!), params.get('b')!); // (B·N, C)
        const pooled = tf.matMul(tf.mean(inp.text.emb, 1), params.get('wt')!); // (B, C)
        const out = tf.add(tf.reshape(h, [B, n, C]), tf.reshape(pooled, [B, 1, C]));
        return tf.reshape(out, [B, T, H, W, C]) as tf.Tensor5D;
      });
    },
  };
}

/** Captions → a fixed (B, 2, E) embedding from character codes (no parameters). */
export function charText(E: number): (captions: string[]) => TextCond {
  return (captions) =>
    tf.tidy(() => {
      const data = new Float32Array(captions.length * 2 * E);
      captions.forEach((c, i) => {
        for (let j = 0; j < 2 * E; j++) data[i * 2 * E + j] = c.length ? ((c.charCodeAt(j % c.length) % 7) - 3) / 3 : 0;
      });
      return { emb: tf.tensor3d(data, [captions.length, 2, E]), mask: tf.ones([captions.length, 2]) as tf.Tensor2D };
    });
}

/** A float32 latent shard set in `dir`: one clip per shape (T, H, W, C), N(0, 4) values, three captions in turn. */
export async function writeLatentFixture(dir: string, shapes: [number, number, number, number][], seed = 3): Promise<void> {
  const rng = new Rng(seed);
  const rows: LatentRow[] = shapes.map((s, i) => ({
    id: `clip${i}`,
    latent: rng.normals(s.reduce((a, b) => a * b)).map((v) => 2 * v),
    shape: s,
    fps: 8,
    caption: ['a red ball bounces', 'a blue box slides', 'a green ball falls'][i % 3],
    caption_source: 'test',
    width: s[2] * 8,
    height: s[1] * 8,
    frames: 1 + (s[0] - 1) * 4,
    bucket: s.join('x'),
  }));
  await writeShard(dir, 0, rows, { dtype: 'float32' });
  await finalizeManifest(dir, { schema_version: 1, vae: { id: 'test', config_hash: 'x' }, dtype: 'float32', stats: 'mean', version: 1 });
}
