// Throughput benchmark of one DiT training step (ENGINE-NOTES.md): rectified-flow MSE loss
// (Liu et al. 2022; SD3's formulation xt = (1 − t)·x0 + t·ε, target v = ε − x0), gradients of
// every parameter with tf.variableGrads and a plain SGD update (the benchmark measures the model,
// not the optimizer). On wasm it runs with our matmul kernels (wasm-gemm.ts) unless gemm: 'tfjs'.
// Reports the median step time over `steps` timed steps after `warmup`,
// tokens/s, forward-only time, and a per-kernel profile of one step (tf.profile).
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from './backend.js';
import { attentionImpl, setAttentionImpl, type AttentionImpl } from './attention.js';
import { createDiT, type DiTModel } from './dit.js';
import { countParams } from './params.js';
import { SpacetimeError } from '../util/errors.js';
import { resolveDiTConfig } from './presets.js';
import { ensureGradients } from './tf-gradients.js';
import { installWasmGemm, uninstallWasmGemm, wasmGemmActive } from './wasm-gemm.js';
import type { GridInput } from './types.js';

export interface BenchOptions {
  preset?: string;
  backend?: string;
  attention?: AttentionImpl | 'auto';
  batch?: number;
  frames?: number;
  size?: number;
  textLen?: number;
  steps?: number;
  warmup?: number;
  profile?: boolean;
  seed?: number;
  /** wasm only: 'spacetime' (our kernels, wasm-gemm.ts; the default) or 'tfjs' (tfjs-wasm's BatchMatMul). */
  gemm?: 'spacetime' | 'tfjs';
}

export interface BenchResult {
  backend: string;
  attention: AttentionImpl;
  /** Which matmul kernels ran: ours (wasm-gemm.ts) or the backend's own. */
  gemm: 'spacetime' | 'tfjs';
  preset: string;
  params: number;
  tokensPerStep: number;
  trainMs: number; // median
  trainTokensPerSec: number;
  forwardMs: number; // median
  stepMs: number[];
  /** CPU time of this process per step (user + system): the step time on an idle core. */
  trainCpuMs: number; // median
  cpuTokensPerSec: number;
  forwardCpuMs: number; // median
  profile: { kernel: string; ms: number; calls: number }[];
  profileTotalMs: number;
  profileWallMs: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The rectified-flow MSE loss of the model on one batch (a scalar). */
function rfLoss(model: DiTModel, x0: tf.Tensor5D, eps: tf.Tensor5D, t: tf.Tensor1D, text: GridInput['text']): tf.Scalar {
  return tf.tidy(() => {
    const tb = tf.reshape(t, [-1, 1, 1, 1, 1]); // (B, 1, 1, 1, 1)
    const xt = tf.add(tf.mul(tf.sub(1, tb), x0), tf.mul(tb, eps)) as tf.Tensor5D; // (B, T, H, W, C)
    const v = model.grid({ xt, t, text }); // (B, T, H, W, C)
    return tf.mean(tf.square(tf.sub(v, tf.sub(eps, x0)))) as tf.Scalar;
  });
}

export async function benchDiT(opts: BenchOptions = {}): Promise<BenchResult> {
  const { preset = 'DiT-bench', batch = 4, frames = 4, size = 16, textLen = 16, steps = 10, warmup = 2, profile = true, seed = 0 } = opts;
  const backend = await selectBackend(opts.backend ?? 'wasm', { quiet: true });
  await ensureGradients();
  if (opts.gemm === 'tfjs') uninstallWasmGemm();
  else installWasmGemm();
  setAttentionImpl(opts.attention ?? 'auto');
  const cfg = resolveDiTConfig(preset);
  const model = createDiT(cfg, seed);
  // adaLN-Zero makes the first steps degenerate (zero gates); perturb so every path carries work
  // (tfjs treats seed 0 as "unseeded", hence the offset).
  for (const v of model.params.values()) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.02, 'float32', seed + 7))));
  const x0 = tf.randomNormal([batch, frames, size, size, cfg.latentChannels], 0, 1, 'float32', seed + 1) as tf.Tensor5D;
  const eps = tf.randomNormal(x0.shape, 0, 1, 'float32', seed + 2) as tf.Tensor5D;
  const t = tf.randomUniform([batch], 0, 1, 'float32', seed + 3) as tf.Tensor1D;
  const text = { emb: tf.randomNormal([batch, textLen, cfg.textWidth], 0, 1, 'float32', seed + 4) as tf.Tensor3D, mask: tf.ones([batch, textLen]) as tf.Tensor2D };
  const vars = [...model.params.values()];
  const lr = 1e-4;
  const trainStep = () => {
    const { value, grads } = tf.variableGrads(() => rfLoss(model, x0, eps, t, text), vars);
    tf.tidy(() => {
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
    });
    const loss = value.dataSync()[0];
    value.dispose();
    tf.dispose(grads);
    return loss;
  };
  const forward = () => {
    const l = rfLoss(model, x0, eps, t, text);
    l.dataSync();
    l.dispose();
  };
  try {
    const stepMs: number[] = [];
    const stepCpu: number[] = [];
    for (let i = 0; i < warmup + steps; i++) {
      const t0 = performance.now();
      const c0 = cpuMs();
      const loss = trainStep();
      if (!Number.isFinite(loss)) throw new SpacetimeError(`bench: loss is ${loss} at step ${i}`);
      if (i >= warmup) {
        stepMs.push(performance.now() - t0);
        stepCpu.push(cpuMs() - c0);
      }
    }
    const fwdMs: number[] = [];
    const fwdCpu: number[] = [];
    for (let i = 0; i < Math.max(3, Math.floor(steps / 2)); i++) {
      const t0 = performance.now();
      const c0 = cpuMs();
      forward();
      fwdMs.push(performance.now() - t0);
      fwdCpu.push(cpuMs() - c0);
    }
    const prof: Map<string, { ms: number; calls: number }> = new Map();
    let profileTotalMs = 0;
    let profileWallMs = 0;
    if (profile) {
      const t0 = performance.now();
      const info = await tf.profile(() => {
        trainStep();
      });
      profileWallMs = performance.now() - t0;
      for (const k of info.kernels) {
        const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        const e = prof.get(k.name) ?? { ms: 0, calls: 0 };
        e.ms += ms;
        e.calls += 1;
        prof.set(k.name, e);
        profileTotalMs += ms;
      }
    }
    const tokensPerStep = batch * Math.ceil(frames / cfg.patch[0]) * Math.ceil(size / cfg.patch[1]) * Math.ceil(size / cfg.patch[2]);
    const trainMs = median(stepMs);
    return {
      backend,
      attention: attentionImpl(),
      gemm: wasmGemmActive() ? 'spacetime' : 'tfjs',
      preset,
      params: countParams(model.params),
      tokensPerStep,
      trainMs,
      trainTokensPerSec: (tokensPerStep * 1000) / trainMs,
      forwardMs: median(fwdMs),
      stepMs,
      trainCpuMs: median(stepCpu),
      cpuTokensPerSec: (tokensPerStep * 1000) / median(stepCpu),
      forwardCpuMs: median(fwdCpu),
      profile: [...prof.entries()].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms),
      profileTotalMs,
      profileWallMs,
    };
  } finally {
    tf.dispose([x0, eps, t, text.emb, text.mask]);
    model.dispose();
    if (opts.gemm === 'tfjs') installWasmGemm();
  }
}
