// Exponential moving average of the weights (Polyak & Juditsky 1992; used for sampling by DiT
// and Open-Sora). Warmup as in TensorFlow's ExponentialMovingAverage(num_updates):
// decay_k = min(decay, (1 + k)/(10 + k)), so early averages are not dominated by the init.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../model/types.js';
import { assignParams, paramsToTensors } from './checkpoint.js';
import type { TensorData } from './safetensors.js';

/** The decay used at update number k (0-based). Pure. */
export function emaDecay(k: number, decay: number, warmup: boolean): number {
  return warmup ? Math.min(decay, (1 + k) / (10 + k)) : decay;
}

export class Ema {
  readonly shadow: ParamStore = new Map();

  constructor(params: ParamStore) {
    for (const [name, p] of params) this.shadow.set(name, tf.tidy(() => tf.variable(tf.clone(p), false)));
  }

  /** shadow ← d·shadow + (1 − d)·p. */
  update(params: ParamStore, d: number): void {
    tf.tidy(() => {
      for (const [name, s] of this.shadow) s.assign(tf.add(tf.mul(s, d), tf.mul(params.get(name)!, 1 - d)));
    });
  }

  tensors(): Record<string, TensorData> {
    return paramsToTensors(this.shadow);
  }

  load(tensors: Record<string, TensorData>, file: string): void {
    assignParams(this.shadow, tensors, file);
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
  }
}
