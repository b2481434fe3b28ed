// tfjs sampling with the shared pure samplers (src/infer/sampler.ts): the DiT becomes a Predict
// with classifier-free guidance (Ho & Salimans 2022; cond and uncond in one batched forward), the
// loop runs on Float32Array, and the VAE decodes the result to RGB frames. Used by the training
// previews and by `spacetime sample`.
import * as tf from '@tensorflow/tfjs-core';
import type { Frame } from '../data/video.js';
import { guided, sample, type SamplerName } from '../infer/sampler.js';
import type { Denoiser, TextCond } from '../model/types.js';
import type { VAE } from '../model/vae.js';
import { Rng } from '../util/rng.js';
import { rfShift } from './objective.js';
import type { ObjectiveConfig } from './objective-config.js';

export interface SampleLatentOptions {
  model: Denoiser;
  encodeText: (captions: string[]) => TextCond;
  prompt: string;
  shape: readonly [number, number, number, number]; // (T, H, W, C) latent
  /** Spacetime tokens of the clip (for the RF shift). */
  tokens: number;
  objective: ObjectiveConfig;
  sampler: SamplerName;
  steps: number;
  cfgScale: number;
  seed: number;
  /** Frame conditioning: clean latents (T·H·W·C) and a per-frame mask (T). */
  cond?: { clean: Float32Array; frames: Float32Array };
  onStep?: (done: number, total: number) => void;
}

/** Sample one latent clip (T·H·W·C). Leaves no tensors behind. */
export async function sampleLatent(o: SampleLatentOptions): Promise<Float32Array> {
  const [T, H, W, C] = o.shape;
  const per = T * H * W * C;
  const text = tf.tidy(() => {
    const c = o.encodeText([o.prompt, '']); // (2, L, E): cond, uncond
    return { emb: tf.keep(c.emb), mask: tf.keep(c.mask) };
  });
  const condMask = o.cond ? tf.tensor2d([...o.cond.frames, ...o.cond.frames], [2, T]) : undefined; // (2, T)
  const elementMask = o.cond ? new Uint8Array(per) : undefined;
  if (o.cond && elementMask) for (let f = 0; f < T; f++) if (o.cond.frames[f]) elementMask.fill(1, f * H * W * C, (f + 1) * H * W * C);
  try {
    const pair = async (x: Float32Array, t: number): Promise<[Float32Array, Float32Array]> => {
      const out = tf.tidy(() => {
        const xt = tf.tensor5d(x, [1, T, H, W, C]);
        return o.model.grid({ xt: tf.concat([xt, xt], 0) as tf.Tensor5D, t: tf.tensor1d([t, t]), text, condMask }); // (2, T, H, W, C)
      });
      const d = (await out.data()) as Float32Array;
      out.dispose();
      return [d.slice(0, per), d.slice(per)];
    };
    const shift = o.objective.rf.sampleShift ?? rfShift(o.tokens, o.objective);
    return await sample({
      predict: guided(pair, o.cfgScale),
      noise: new Rng(o.seed).normals(per),
      steps: o.steps,
      sampler: o.sampler,
      shift,
      ddpm: o.objective.kind === 'ddpm' ? o.objective.ddpm : undefined,
      cond: o.cond && elementMask ? { clean: o.cond.clean, mask: elementMask } : undefined,
      onStep: o.onStep,
    });
  } finally {
    text.emb.dispose();
    text.mask.dispose();
    condMask?.dispose();
  }
}

/** Decode a latent clip (already divided by the latent scale) to 8-bit RGB frames. */
export function decodeToFrames(vae: VAE, z: Float32Array, shape: readonly [number, number, number, number]): Frame[] {
  const x = tf.tidy(() => {
    const y = vae.decode(tf.tensor5d(z, [1, ...shape] as [number, number, number, number, number])); // (1, T', H', W', 3)
    return tf.clipByValue(tf.mul(tf.add(y, 1), 127.5), 0, 255);
  });
  const [, Tp, Hp, Wp] = x.shape;
  const data = x.dataSync();
  x.dispose();
  const frames: Frame[] = [];
  for (let f = 0; f < Tp; f++) {
    const rgb = new Uint8Array(Hp * Wp * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(data[f * Hp * Wp * 3 + i]);
    frames.push({ width: Wp, height: Hp, data: rgb });
  }
  return frames;
}

/** First, middle and last frame side by side (a TensorBoard preview image). */
export function filmstrip(frames: readonly Frame[]): Frame {
  const pick = [...new Set([0, Math.floor((frames.length - 1) / 2), frames.length - 1])].map((i) => frames[i]);
  const { width: w, height: h } = pick[0];
  const out = new Uint8Array(w * pick.length * h * 3);
  pick.forEach((f, k) => {
    for (let y = 0; y < h; y++) out.set(f.data.subarray(y * w * 3, (y + 1) * w * 3), (y * w * pick.length + k * w) * 3);
  });
  return { width: w * pick.length, height: h, data: out };
}
