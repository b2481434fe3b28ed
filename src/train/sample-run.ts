// `spacetime sample` as a library call: rebuild DiT + text encoder + tokenizer from a training
// checkpoint (EMA weights by default), sample a latent clip with the shared samplers
// (src/infer/sampler.ts) and classifier-free guidance, decode it with the VAE and write the video
// atomically (src/data/video.ts). No ONNX export needed.
import path from 'node:path';
import { writeVideo } from '../data/video.js';
import type { SamplerName } from '../infer/sampler.js';
import { latentFrames, loadVAE } from '../model/vae.js';
import { FlagError } from '../util/errors.js';
import { Progress, type ProgressOptions } from '../util/progress.js';
import { tokenCount } from './bucket.js';
import { loadSystem } from './build.js';
import { decodeToFrames, sampleLatent } from './preview.js';
import type { TrainState } from './run.js';

export interface SampleOptions {
  ckpt: string;
  prompt: string;
  out: string;
  vae?: string;
  steps?: number;
  cfg?: number;
  seed?: number;
  sampler?: SamplerName;
  /** Pixel frames (mapped to latent frames through the VAE's temporal compression). */
  frames?: number;
  /** Pixel size [W, H]. */
  size?: [number, number];
  ema?: boolean;
  progress?: ProgressOptions['stream'];
}

export async function runSample(o: SampleOptions): Promise<{ file: string; frames: number; width: number; height: number; latent: [number, number, number, number] }> {
  const { system, ck } = await loadSystem(o.ckpt, { ema: o.ema ?? true });
  try {
    const cfg = ck.config;
    const state = ck.state as Partial<TrainState>;
    const vaeDir = o.vae ?? cfg.log.previewVae;
    if (!vaeDir) throw new FlagError('vae', `needed to decode latents (the checkpoint ${ck.dir} names no VAE)`);
    const { vae } = await loadVAE(vaeDir);
    try {
      const s = vae.config.spatial_compression;
      const base = state.latentShape ?? [1 + Math.ceil(15 / vae.config.temporal_compression), 4, 4, cfg.model.latentChannels];
      let [T, H, W] = base;
      if (o.frames !== undefined) {
        if (!Number.isInteger(o.frames) || o.frames < 1) throw new FlagError('frames', `expected a positive integer, got ${o.frames}`);
        T = latentFrames(vae.config, o.frames);
      }
      if (o.size) {
        const [w, h] = o.size;
        if (w % s !== 0 || h % s !== 0) throw new FlagError('size', `${w}x${h} is not a multiple of the VAE's spatial compression ${s}`);
        [H, W] = [h / s, w / s];
      }
      const C = cfg.model.latentChannels;
      if (vae.config.latent_channels !== C) throw new FlagError('vae', `${vaeDir} has ${vae.config.latent_channels} latent channels, the DiT expects ${C}`);
      const shape: [number, number, number, number] = [T, H, W, C];
      const steps = o.steps ?? cfg.sample.steps;
      const sampler = o.sampler ?? cfg.sample.sampler;
      if (sampler === 'ddim' && cfg.objective.kind !== 'ddpm') throw new FlagError('sampler', 'ddim needs a DDPM-trained checkpoint (this one is rectified flow: use euler or heun)');
      if (sampler !== 'ddim' && cfg.objective.kind === 'ddpm') throw new FlagError('sampler', `${sampler} integrates a rectified-flow model; this checkpoint is DDPM (use ddim)`);
      const progress: { bar: Progress | null } = { bar: null };
      const z = await sampleLatent({
        model: system.dit,
        encodeText: system.encodeText,
        prompt: o.prompt,
        shape,
        tokens: tokenCount(shape, cfg.model.patch),
        objective: cfg.objective,
        sampler,
        steps,
        cfgScale: o.cfg ?? cfg.sample.cfg,
        seed: o.seed ?? 0,
        onStep: (done, total) => {
          progress.bar ??= new Progress('sample', total, { stream: o.progress });
          progress.bar.update(done);
        },
      });
      progress.bar?.finish();
      const scale = typeof cfg.data.latentScale === 'number' ? cfg.data.latentScale : 1;
      const frames = decodeToFrames(vae, z.map((v) => v / scale), shape);
      await writeVideo(o.out, frames, { fps: state.fps ?? 8, metadata: { comment: `spacetime sample ${path.basename(ck.dir)} seed ${o.seed ?? 0}` } });
      return { file: o.out, frames: frames.length, width: frames[0].width, height: frames[0].height, latent: shape };
    } finally {
      vae.dispose();
    }
  } finally {
    system.dispose();
  }
}
