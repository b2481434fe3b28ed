// A tiny Denoiser for trainer tests (depends only on the interface in src/model/types.ts):
// a per-position dense layer on [x_t, t, cond, pooled text] → C.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
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

/** The tiny DiT training config of the trainer tests (`over` replaces top-level fields). */
export function tinyTrainConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { preset: 'DiT-T/2', hidden: 16, depth: 1, heads: 2, textWidth: 16, latentChannels: 4, freqDim: 16 },
    text: { vocabSize: 300, maxTokens: 8, depth: 1, heads: 2 },
    lr: { lr: 0.003, warmupSteps: 2 },
    steps: 6,
    data: { targetTokens: 16, maxBatch: 2 },
    log: { every: 1, evalEvery: 2, evalLevels: [0.5] },
    checkpoint: { every: 2, keepLast: 2 },
    objective: { captionDropout: 0.3 },
    seed: 4,
    ...over,
  };
}

/** Write tinyTrainConfig(over) to dir/name and return the path. */
export async function writeTinyConfig(dir: string, name: string, over: Record<string, unknown> = {}): Promise<string> {
  const f = path.join(dir, name);
  await fs.writeFile(f, JSON.stringify(tinyTrainConfig(over)));
  return f;
}

/**
 * Start `spacetime train ARGS` from the built CLI, send SIGINT once a progress line with a loss
 * appears (its config must have steps 100000), and resolve with the exit code and output.
 */
export async function interruptTrain(cli: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [cli, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const started = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (/train: \d+\/100000.*loss/.test(err)) resolve();
    });
    child.on('close', () => reject(new Error(`train exited early: ${err}`)));
    setTimeout(() => reject(new Error(`no progress line within ${timeoutMs / 1000} s: ${err}`)), timeoutMs);
  });
  await started;
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve)); // live workers would keep it running
  return { code, out, err };
}
