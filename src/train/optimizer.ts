// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", Algorithm 2, with
// Adam's bias correction, Kingma & Ba 2015) and global-norm gradient clipping (Pascanu et al.
// 2013). The update matches PyTorch's AdamW: p ← p·(1 − lr·λ); m ← β1·m + (1−β1)·g;
// v ← β2·v + (1−β2)·g²; p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^k), v̂ = v/(1−β2^k).
// Vectors (biases, norm gains) get no weight decay (as in nanoGPT's configure_optimizers).
// State (m, v per parameter and the step k) saves to and loads from safetensors for exact resume.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { ParamStore } from '../model/types.js';
import { FileError } from '../util/errors.js';
import type { TensorData } from './safetensors.js';
import { tensorToFloat32 } from './safetensors.js';

export const OptimizerSchema = z
  .object({
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    eps: z.number().positive().default(1e-8),
    weightDecay: z.number().min(0).default(0.0),
    /** Global-norm clipping threshold; 0 disables. */
    clipNorm: z.number().min(0).default(1.0),
  })
  .strict();
export type OptimizerConfig = z.infer<typeof OptimizerSchema>;

export type Grads = Record<string, tf.Tensor>;

/** √Σ‖g‖² over all gradients (one sync). */
export function globalNorm(grads: Grads): number {
  const sq = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
  const n = Math.sqrt(sq.dataSync()[0]);
  sq.dispose();
  return n;
}

/** Scale gradients so their global norm is at most maxNorm; returns new tensors (caller disposes the old). */
export function clipByGlobalNorm(grads: Grads, norm: number, maxNorm: number): Grads {
  const scale = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  const out: Grads = {};
  for (const [k, g] of Object.entries(grads)) out[k] = scale === 1 ? g.clone() : tf.mul(g, scale);
  return out;
}

export class AdamW {
  /** Optimizer steps taken (k in the bias correction). */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  /**
   * `lrScale(name)` multiplies the learning rate of one parameter (its decay too, as lr·λ does);
   * 0 leaves it unchanged. Default 1 for all.
   */
  constructor(
    private readonly params: ParamStore,
    readonly cfg: OptimizerConfig,
    private readonly lrScale: (name: string) => number = () => 1,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** Apply one update with learning rate `lr` (gradients keyed by parameter name). */
  apply(grads: Grads, lr: number): void {
    this.step += 1;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    for (const [name, p] of this.params) {
      const g = grads[name];
      if (!g) continue; // parameter not used by this loss
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const decay = p.rank >= 2 ? weightDecay : 0;
      const lrP = lr * this.lrScale(name);
      tf.tidy(() => {
        const m2 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const upd = tf.div(tf.div(m2, bc1), tf.add(tf.sqrt(tf.div(v2, bc2)), eps));
        m.assign(m2);
        v.assign(v2);
        if (lrP === 0) return; // frozen: moments still follow the gradient, the weights stay bit for bit
        const decayed = decay > 0 ? tf.mul(p, 1 - lrP * decay) : p;
        p.assign(tf.sub(decayed, tf.mul(upd, lrP)));
      });
    }
  }

  /** m.<name>, v.<name> tensors for optimizer.safetensors (the step goes in state.json). */
  stateTensors(): Record<string, TensorData> {
    const out: Record<string, TensorData> = {};
    for (const [prefix, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of map) out[`${prefix}.${name}`] = { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
    }
    return out;
  }

  loadState(tensors: Record<string, TensorData>, step: number, file: string): void {
    for (const [prefix, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of map) {
        const d = tensors[`${prefix}.${name}`];
        if (!d) throw new FileError(file, `${prefix}.${name}: missing`);
        if (d.shape.join(',') !== t.shape.join(',')) throw new FileError(file, `${prefix}.${name}: expected shape (${t.shape.join(', ')}), got (${d.shape.join(', ')})`);
        const x = tf.tensor(tensorToFloat32(d), t.shape);
        t.assign(x);
        x.dispose();
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
