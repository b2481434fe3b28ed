// Generation-speed benchmark (issue: "seconds per clip for the DiT-bench-sized model at 16
// frames, 30 steps, through onnxruntime-node vs through tfjs-wasm"). A DiT-bench model with
// random weights (speed does not depend on the values) denoises one latent clip of 17 frames
// (1 + 4·4 with the default 4× temporal VAE → 5 latent frames) at 128×128 px (16×16 latent,
// 320 tokens), CFG batch of 2, with the shared Euler sampler. Reports median ms per model
// evaluation and the implied seconds per clip for `steps` steps (VAE decode excluded: it is the
// same graph on both paths and is measured separately by `spacetime generate`'s sidecar).
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { absPosFeed } from '../model/abspos.js';
import { selectBackend } from '../model/backend.js';
import { createDiT } from '../model/dit.js';
import { resolveDiTConfig } from '../model/presets.js';
import { ropeTables } from '../model/rope.js';
import { Rng } from '../util/rng.js';
import { buildDiT } from './export/dit.js';
import { paramReader } from './export/vae.js';
import { createSession, floatOutput, run } from './ort.js';
import { gridPositionsData, patchifyData } from './tokens.js';

export interface GenBenchResult {
  preset: string;
  latent: [number, number, number, number];
  tokens: number;
  cfgBatch: number;
  steps: number;
  onnx: { msPerEval: number; secondsPerClip: number; threads: number };
  tfjs: { backend: string; msPerEval: number; secondsPerClip: number };
  speedup: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchGeneration(opts: { backend?: string; steps?: number; reps?: number; threads?: number } = {}): Promise<GenBenchResult> {
  const steps = opts.steps ?? 30;
  const reps = opts.reps ?? 5;
  const backend = await selectBackend(opts.backend ?? 'wasm', { quiet: true });
  const cfg = resolveDiTConfig('DiT-bench');
  const model = createDiT(cfg, 0);
  const rng = new Rng(1);
  for (const v of model.params.values()) {
    const x = tf.mul(tf.tensor(rng.normals(v.size), v.shape), 0.02);
    v.assign(x as tf.Tensor);
    x.dispose();
  }
  const [B, T, H, W, C] = [2, 5, 16, 16, cfg.latentChannels];
  const L = 16;
  const x = rng.normals(B * T * H * W * C);
  const text = rng.normals(B * L * cfg.textWidth);
  const mask = new Float32Array(B * L).fill(1);
  const t = new Float32Array([0.5, 0.5]);

  // tfjs forward (the `spacetime sample` path)
  const xt = tf.tensor5d(x, [B, T, H, W, C]);
  const tt = tf.tensor1d(t);
  const emb = tf.tensor3d(text, [B, L, cfg.textWidth]);
  const mk = tf.tensor2d(mask, [B, L]);
  const tfMs: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    const out = model.grid({ xt, t: tt, text: { emb, mask: mk } });
    await out.data();
    out.dispose();
    if (i > 0) tfMs.push(performance.now() - t0);
  }
  tf.dispose([xt, tt, emb, mk]);

  // onnxruntime-node (the `spacetime generate` path)
  const threads = opts.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const sess = await createSession(buildDiT(cfg, paramReader(model.params)).toBytes(), { threads });
  const { tokens, grid, n, p } = patchifyData(x, [B, T, H, W, C], cfg.patch);
  const dh = cfg.hidden / cfg.heads;
  const rope = ropeTables(gridPositionsData(grid), dh, cfg.rope);
  const feeds = {
    tokens: { data: tokens, dims: [B, n, p] },
    cond: { data: new Float32Array(B * n * cfg.patch[0]), dims: [B, n, cfg.patch[0]] },
    t: { data: t, dims: [B] },
    text: { data: text, dims: [B, L, cfg.textWidth] },
    text_mask: { data: mask, dims: [B, L] },
    rope_cos: { data: rope.cos.dataSync() as Float32Array, dims: [n, dh] },
    rope_sin: { data: rope.sin.dataSync() as Float32Array, dims: [n, dh] },
    ...absPosFeed(cfg.absPos, gridPositionsData(grid)),
  };
  tf.dispose([rope.cos, rope.sin]);
  const oxMs: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    floatOutput((await run(sess, feeds)).out);
    if (i > 0) oxMs.push(performance.now() - t0);
  }
  await sess.release();
  model.dispose();
  const o = median(oxMs);
  const j = median(tfMs);
  return {
    preset: 'DiT-bench',
    latent: [T, H, W, C],
    tokens: n,
    cfgBatch: B,
    steps,
    onnx: { msPerEval: o, secondsPerClip: (o * steps) / 1000, threads },
    tfjs: { backend, msPerEval: j, secondsPerClip: (j * steps) / 1000 },
    speedup: j / o,
  };
}
