// The video autoencoder: a causal (2+1)-D convolutional VAE that compresses RGB video
// (B, T, H, W, 3) in [−1, 1] to latents (B, 1 + (T − 1)/s_t, H/s, W/s, C), KL-regularised
// (Kingma & Welling, "Auto-Encoding Variational Bayes", 2014; LDM's KL autoencoder, Rombach et
// al. 2022). Causal in time (MAGVIT-v2, Yu et al. 2024): latent frame 0 encodes frame 0 alone,
// so an image is a one-frame video and images and videos share the model (Sora technical
// report, "Video compression network"). Blocks live in vae-blocks.ts.
//
// Exact forward (names are ParamStore keys = safetensors keys; weights HWIO (kh, kw, Ci, Co),
// temporal weights (kt, 1, Ci, Co); c_i = base_channels·channel_mult[i]; L = len(channel_mult);
// transitions i = 0..L−2: spatial ×2 down at i < log2(s), temporal ×2 down at i ≥ L−1−log2(s_t)):
//   encode(x):  x: T ≢ 1 (mod s_t) → repeat the last frame up to 1 + ⌈(T−1)/s_t⌉·s_t
//     h = encoder.conv_in(x)                                    spatial 3×3, 3 → c_0
//     for i in 0..L−1:
//       for j in 0..res_blocks−1: h = encoder.down.i.res.j(h)   resBlock c_{i−1}|c_i → c_i
//       if spatial down at i: h = encoder.down.i.down_s(h)     3×3 stride 2, pad (0,1)/(0,1)
//       if temporal down at i: h = encoder.down.i.down_t(h)    causal (kt,1) stride (2,1), pad kt−1 past
//     h = encoder.mid.res.0(h)
//     h = encoder.conv_out(silu(encoder.norm_out(h)))           spatial 3×3, c_{L−1} → 2C
//         (out_norm false: conv_out(silu(h)) — see the schema)
//     mean, logvar = h[..., :C], clip(h[..., C:], −30, 20)
//     shortcut: mean[..., :3] += blockAverage(x)                (see blockAverage)
//   decode(z):
//     h = decoder.conv_in(z)                                    spatial 3×3, C → c_{L−1}
//     h = decoder.mid.res.0(h)
//     for i in L−1..0:
//       for j: h = decoder.up.i.res.j(h)                        resBlock c_i → c_i
//       if i > 0 and temporal down at i−1: h = decoder.up.i.up_t(upsampleTimeCausal(h, 2))  causal (kt,1), c_i → c_i
//       if i > 0 and spatial down at i−1:  h = decoder.up.i.up_s(upsampleNearest2x(h))     3×3, c_i → c_{i−1}
//     x̂ = decoder.conv_out(silu(decoder.norm_out(h)))           spatial 3×3, c_0 → 3 (no squashing)
//         (out_norm false: conv_out(silu(h)))
//     shortcut: x̂ += blockRepeat(z[..., :3])                    (see blockRepeat)
// resBlock, groupNorm (per frame: statistics over (H, W, C/G) of each (b, t), G = min(groups, C),
// biased variance, eps), silu = x·sigmoid(x) and the up/down samplers are defined in
// vae-blocks.ts. Every conv adds its bias after the convolution; zero padding everywhere.
// Checkpoint: config.json = {kind: "spacetime-vae", model: VAEConfig, train, config_hash},
// model.safetensors = the parameters above as F32.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { assignParams, loadCheckpoint } from '../train/checkpoint.js';
import { FileError, SpacetimeError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { checkShape } from '../util/shape.js';
import type { ParamStore } from './types.js';
import { type BlockSettings, ParamBuilder, declareResBlock, groupNorm, resBlock, silu, spatialConv, temporalConv, upsampleNearest2x, upsampleTimeCausal } from './vae-blocks.js';

const pow2 = (max: number) =>
  z
    .number()
    .int()
    .refine((v) => v >= 1 && v <= max && (v & (v - 1)) === 0, `must be a power of two between 1 and ${max}`);

export const VAEConfigSchema = z
  .object({
    latent_channels: z.number().int().min(1).max(64).default(4),
    base_channels: z.number().int().min(1).max(512).default(16),
    channel_mult: z.array(z.number().int().min(1).max(16)).min(1).max(6).default([1, 2, 4, 4]),
    res_blocks: z.number().int().min(1).max(4).default(1),
    spatial_compression: pow2(32).default(8),
    temporal_compression: pow2(16).default(4),
    temporal_kernel: z.number().int().min(1).max(7).default(3),
    groups: z.number().int().min(1).default(8),
    eps: z.number().positive().default(1e-6),
    /**
     * GroupNorm before encoder.conv_out and decoder.conv_out (LDM layout). Per-frame statistics
     * remove each group's mean and scale, so with few channels a flat frame's absolute colour
     * does not reach the latent or the output: a 16-channel, 4-group VAE on the synthetic clips
     * learned luminance only (ball (158, 68, 212) → (145, 138, 151) after 1000 steps). false
     * feeds the residual stream straight to silu → conv_out.
     */
    out_norm: z.boolean().default(true),
    /**
     * A parameter-free colour shortcut around both halves (the residual autoencoding of DC-AE,
     * Chen et al. 2024, "Deep Compression Autoencoder for Efficient High-Resolution Diffusion
     * Models", reduced to its channel-averaged form): the encoder adds the block average of the
     * input RGB (s×s pixels × the frames of each causal latent step) to latent channels 0..2, and
     * the decoder adds those channels, nearest-upsampled, to its output. An untrained model then
     * already reconstructs the blurred clip, colour included, and the convolutions learn the
     * detail. Needs latent_channels ≥ 3.
     */
    shortcut: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    const transitions = c.channel_mult.length - 1;
    if (Math.log2(c.spatial_compression) > transitions) {
      ctx.addIssue({ code: 'custom', path: ['spatial_compression'], message: `${c.spatial_compression}x needs at least ${Math.log2(c.spatial_compression) + 1} levels in channel_mult (has ${c.channel_mult.length})` });
    }
    if (Math.log2(c.temporal_compression) > transitions) {
      ctx.addIssue({ code: 'custom', path: ['temporal_compression'], message: `${c.temporal_compression}x needs at least ${Math.log2(c.temporal_compression) + 1} levels in channel_mult (has ${c.channel_mult.length})` });
    }
    if (c.shortcut && c.latent_channels < 3) ctx.addIssue({ code: 'custom', path: ['shortcut'], message: `needs latent_channels >= 3 (has ${c.latent_channels})` });
    for (const m of c.channel_mult) {
      const ch = c.base_channels * m;
      if (ch % Math.min(c.groups, ch) !== 0) ctx.addIssue({ code: 'custom', path: ['groups'], message: `${ch} channels do not split into ${c.groups} groups` });
    }
  });

export type VAEConfig = z.infer<typeof VAEConfigSchema>;

/** The VAE as the trainer, the encoder and the exporter see it. */
export interface VAE {
  readonly config: VAEConfig;
  readonly params: ParamStore;
  /** x (B, T, H, W, 3) in [−1, 1] → posterior mean and log-variance (B, T', H', W', C). */
  encode(x: tf.Tensor5D): { mean: tf.Tensor5D; logvar: tf.Tensor5D };
  /** z (B, T', H', W', C) → x̂ (B, 1 + (T' − 1)·s_t, H'·s, W'·s, 3), roughly in [−1, 1]. */
  decode(z: tf.Tensor5D): tf.Tensor5D;
  dispose(): void;
}

/** Which of the L − 1 level transitions downsample in space and in time. */
export function vaeLayout(cfg: VAEConfig): { channels: number[]; spatialDown: boolean[]; temporalDown: boolean[] } {
  const L = cfg.channel_mult.length;
  const ds = Math.log2(cfg.spatial_compression);
  const dt = Math.log2(cfg.temporal_compression);
  const idx = Array.from({ length: L - 1 }, (_, i) => i);
  return {
    channels: cfg.channel_mult.map((m) => m * cfg.base_channels),
    spatialDown: idx.map((i) => i < ds),
    temporalDown: idx.map((i) => i >= L - 1 - dt),
  };
}

/** Latent frames for T input frames (after padding T up to 1 mod s_t): 1 + ⌈(T − 1)/s_t⌉. */
export function latentFrames(cfg: VAEConfig, frames: number): number {
  return 1 + Math.ceil((frames - 1) / cfg.temporal_compression);
}

/** Decoded frames for T' latent frames: 1 + (T' − 1)·s_t. */
export function pixelFrames(cfg: VAEConfig, latent: number): number {
  return 1 + (latent - 1) * cfg.temporal_compression;
}

/** Largest usable clip length ≤ frames: T ≡ 1 (mod s_t). */
export function trimFrames(cfg: VAEConfig, frames: number): number {
  return frames < 1 ? 0 : 1 + Math.floor((frames - 1) / cfg.temporal_compression) * cfg.temporal_compression;
}

/** Latent (T', H', W', C) for a (T, H, W) video. */
export function latentShape(cfg: VAEConfig, frames: number, height: number, width: number): [number, number, number, number] {
  return [latentFrames(cfg, frames), height / cfg.spatial_compression, width / cfg.spatial_compression, cfg.latent_channels];
}

/** sha256 (first 16 hex) of the canonical model config: identifies the architecture. */
export function configHash(cfg: VAEConfig): string {
  const canon = VAEConfigSchema.parse(cfg);
  // out_norm and shortcut joined the schema later: left out at their defaults so earlier hashes stay valid
  const keys = (Object.keys(canon).sort() as (keyof VAEConfig)[]).filter((k) => (k !== 'out_norm' || !canon.out_norm) && (k !== 'shortcut' || canon.shortcut));
  const text = JSON.stringify(keys.map((k) => [k, canon[k]]));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function settings(cfg: VAEConfig): BlockSettings {
  return { groups: cfg.groups, temporalKernel: cfg.temporal_kernel, eps: cfg.eps };
}

/** Declare every parameter (the order here is the order of the forward pass). */
function declare(pb: ParamBuilder, cfg: VAEConfig): void {
  const { channels: ch, spatialDown, temporalDown } = vaeLayout(cfg);
  const s = settings(cfg);
  const L = ch.length;
  const C = cfg.latent_channels;
  const kt = cfg.temporal_kernel;
  pb.conv('encoder.conv_in', 3, 3, 3, ch[0]);
  let c = ch[0];
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < cfg.res_blocks; j++) {
      declareResBlock(pb, `encoder.down.${i}.res.${j}`, c, ch[i], s);
      c = ch[i];
    }
    if (i < L - 1 && spatialDown[i]) pb.conv(`encoder.down.${i}.down_s`, 3, 3, c, c);
    if (i < L - 1 && temporalDown[i]) pb.conv(`encoder.down.${i}.down_t`, kt, 1, c, c);
  }
  declareResBlock(pb, 'encoder.mid.res.0', c, c, s);
  if (cfg.out_norm) pb.norm('encoder.norm_out', c);
  pb.conv('encoder.conv_out', 3, 3, c, 2 * C);

  pb.conv('decoder.conv_in', 3, 3, C, ch[L - 1]);
  c = ch[L - 1];
  declareResBlock(pb, 'decoder.mid.res.0', c, c, s);
  for (let i = L - 1; i >= 0; i--) {
    for (let j = 0; j < cfg.res_blocks; j++) {
      declareResBlock(pb, `decoder.up.${i}.res.${j}`, c, ch[i], s);
      c = ch[i];
    }
    if (i > 0 && temporalDown[i - 1]) pb.conv(`decoder.up.${i}.up_t`, kt, 1, c, c);
    if (i > 0 && spatialDown[i - 1]) {
      pb.conv(`decoder.up.${i}.up_s`, 3, 3, c, ch[i - 1]);
      c = ch[i - 1];
    }
  }
  if (cfg.out_norm) pb.norm('decoder.norm_out', c);
  pb.conv('decoder.conv_out', 3, 3, c, 3);
}

/** Repeat the last frame so that T ≡ 1 (mod s_t). */
function padTime(x: tf.Tensor5D, st: number): tf.Tensor5D {
  const t = x.shape[1];
  const extra = (st - ((t - 1) % st)) % st;
  if (extra === 0) return x;
  const [b, , h, w, c] = x.shape;
  const last = tf.slice(x, [0, t - 1, 0, 0, 0], [b, 1, h, w, c]); // (B, 1, H, W, 3)
  return tf.concat([x, ...Array.from({ length: extra }, () => last)], 1); // (B, T + extra, H, W, 3)
}

/**
 * The shortcut's encoder half: x (B, T, H, W, 3) with T ≡ 1 (mod st) → the mean of each latent
 * cell's pixels (B, T', H/s, W/s, 3): s×s pixels of frame 0 alone for latent frame 0, of frames
 * 1 + (k−1)·st … k·st for latent frame k (the causal grouping of the encoder).
 */
export function blockAverage(x: tf.Tensor5D, s: number, st: number): tf.Tensor5D {
  return tf.tidy(() => {
    const [b, t, h, w, c] = x.shape;
    const hs = h / s;
    const ws = w / s;
    const sp = tf.reshape(tf.mean(tf.reshape(x, [b * t * hs, s, ws, s, c]), [1, 3]), [b, t, hs * ws * c]); // (B, T, H'·W'·3)
    const first = tf.slice(sp, [0, 0, 0], [b, 1, hs * ws * c]); // (B, 1, H'·W'·3)
    const k = (t - 1) / st;
    const parts = [first];
    if (k > 0) parts.push(tf.mean(tf.reshape(tf.slice(sp, [0, 1, 0], [b, t - 1, hs * ws * c]), [b, k, st, hs * ws * c]), 2)); // (B, k, H'·W'·3)
    return tf.reshape(tf.concat(parts, 1), [b, 1 + k, hs, ws, c]); // (B, T', H', W', 3)
  });
}

/** The shortcut's decoder half: (B, T', H', W', c) → (B, 1 + (T'−1)·st, H'·s, W'·s, c), each cell repeated over its pixels. */
export function blockRepeat(z: tf.Tensor5D, s: number, st: number): tf.Tensor5D {
  let y = st > 1 ? upsampleTimeCausal(z, st) : z; // (B, T, H', W', c)
  for (let f = s; f > 1; f /= 2) y = upsampleNearest2x(y); // (B, T, ·, ·, c)
  return y;
}

function forwardEncode(params: ParamStore, cfg: VAEConfig, x: tf.Tensor5D): tf.Tensor5D {
  const { channels: ch, spatialDown, temporalDown } = vaeLayout(cfg);
  const s = settings(cfg);
  const L = ch.length;
  let h = spatialConv(padTime(x, cfg.temporal_compression), params, 'encoder.conv_in'); // (B, T, H, W, c0)
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < cfg.res_blocks; j++) h = resBlock(h, params, `encoder.down.${i}.res.${j}`, s); // (B, T_i, H_i, W_i, c_i)
    if (i < L - 1 && spatialDown[i]) h = spatialConv(h, params, `encoder.down.${i}.down_s`, 2); // (B, T_i, H_i/2, W_i/2, c_i)
    if (i < L - 1 && temporalDown[i]) h = temporalConv(h, params, `encoder.down.${i}.down_t`, 2); // (B, 1+(T_i−1)/2, ·, ·, c_i)
  }
  h = resBlock(h, params, 'encoder.mid.res.0', s); // (B, T', H', W', c_{L−1})
  return spatialConv(silu(cfg.out_norm ? groupNorm(h, params, 'encoder.norm_out', s) : h), params, 'encoder.conv_out'); // (B, T', H', W', 2C)
}

function forwardDecode(params: ParamStore, cfg: VAEConfig, zt: tf.Tensor5D): tf.Tensor5D {
  const { channels: ch, spatialDown, temporalDown } = vaeLayout(cfg);
  const s = settings(cfg);
  const L = ch.length;
  let h = spatialConv(zt, params, 'decoder.conv_in'); // (B, T', H', W', c_{L−1})
  h = resBlock(h, params, 'decoder.mid.res.0', s); // (B, T', H', W', c_{L−1})
  for (let i = L - 1; i >= 0; i--) {
    for (let j = 0; j < cfg.res_blocks; j++) h = resBlock(h, params, `decoder.up.${i}.res.${j}`, s); // (B, T_i, H_i, W_i, c_i)
    if (i > 0 && temporalDown[i - 1]) h = temporalConv(upsampleTimeCausal(h, 2), params, `decoder.up.${i}.up_t`); // (B, 2T_i−1, H_i, W_i, c_i)
    if (i > 0 && spatialDown[i - 1]) h = spatialConv(upsampleNearest2x(h), params, `decoder.up.${i}.up_s`); // (B, ·, 2H_i, 2W_i, c_{i−1})
  }
  return spatialConv(silu(cfg.out_norm ? groupNorm(h, params, 'decoder.norm_out', s) : h), params, 'decoder.conv_out'); // (B, T, H, W, 3)
}

/** Build a VAE with fresh parameters drawn from `seed` (validates `cfg`). */
export function createVAE(config: VAEConfig | z.input<typeof VAEConfigSchema>, seed = 0): VAE {
  const r = VAEConfigSchema.safeParse(config);
  if (!r.success) {
    const iss = r.error.issues[0];
    throw new SpacetimeError(`VAE config: ${iss.path.join('.') || '(root)'}: ${iss.message}`);
  }
  const cfg = Object.freeze(r.data) as VAEConfig;
  const params: ParamStore = new Map();
  declare(new ParamBuilder(params, new Rng(seed)), cfg);
  const sc = cfg.spatial_compression;
  const C = cfg.latent_channels;
  return {
    config: cfg,
    params,
    encode(x) {
      const env = checkShape('vae.encode input', x.shape, ['B', null, 'H', 'W', 3]);
      if (env.H % sc !== 0 || env.W % sc !== 0) {
        throw new SpacetimeError(`vae.encode input: height and width (${env.H}x${env.W}) must be multiples of the spatial compression ${sc}`);
      }
      return tf.tidy(() => {
        const xp = padTime(x, cfg.temporal_compression); // (B, T ≡ 1 mod s_t, H, W, 3); forwardEncode's own padTime is then a no-op
        const h = forwardEncode(params, cfg, xp); // (B, T', H', W', 2C)
        const [b, t, hh, ww] = h.shape;
        let mean = tf.slice(h, [0, 0, 0, 0, 0], [b, t, hh, ww, C]) as tf.Tensor5D; // (B, T', H', W', C)
        if (cfg.shortcut) mean = tf.add(mean, tf.pad(blockAverage(xp, sc, cfg.temporal_compression), [[0, 0], [0, 0], [0, 0], [0, 0], [0, C - 3]])); // (B, T', H', W', C)
        const logvar = tf.clipByValue(tf.slice(h, [0, 0, 0, 0, C], [b, t, hh, ww, C]), -30, 20); // (B, T', H', W', C)
        return { mean, logvar };
      });
    },
    decode(zt) {
      checkShape('vae.decode input', zt.shape, ['B', null, null, null, C]);
      return tf.tidy(() => {
        const y = forwardDecode(params, cfg, zt); // (B, T, H, W, 3)
        if (!cfg.shortcut) return y;
        const [b, t, hh, ww] = zt.shape;
        return tf.add(y, blockRepeat(tf.slice(zt, [0, 0, 0, 0, 0], [b, t, hh, ww, 3]), sc, cfg.temporal_compression)); // (B, T, H, W, 3)
      });
    },
    dispose() {
      for (const v of params.values()) v.dispose();
      params.clear();
    },
  };
}

/** The part of a VAE checkpoint's config.json that rebuilds the model (`train` and others pass through). */
export const VAECheckpointModelSchema = z.object({ kind: z.literal('spacetime-vae'), model: VAEConfigSchema, config_hash: z.string().optional() });

/** Load a VAE from a checkpoint directory (or a run directory → its `latest`), rebuilt from its config.json. */
export async function loadVAE(dir: string): Promise<{ vae: VAE; dir: string; step: number; hash: string }> {
  type Stored = z.infer<typeof VAECheckpointModelSchema>;
  const ck = await loadCheckpoint<Stored>(dir, { files: ['model'], configSchema: VAECheckpointModelSchema as unknown as z.ZodType<Stored> });
  const hash = configHash(ck.config.model);
  if (ck.config.config_hash !== undefined && ck.config.config_hash !== hash) {
    throw new FileError(`${ck.dir}/config.json`, `config_hash ${ck.config.config_hash} does not match its model config (${hash}): the file was edited`);
  }
  const vae = createVAE(ck.config.model, 0);
  try {
    assignParams(vae.params, ck.files.model, `${ck.dir}/model.safetensors`);
  } catch (err) {
    vae.dispose();
    throw err;
  }
  return { vae, dir: ck.dir, step: ck.step, hash };
}
