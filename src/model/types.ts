// Interfaces shared by the model, the objectives, the samplers and the trainer (STYLE.md §2:
// the model is a function (xt, t, cond) → v; the noise process and the loop know nothing of
// its insides). Shape legend: B batch, T/H/W latent frames/height/width, C latent channels,
// N tokens, P = pt·ph·pw·C patch size, L text tokens, E text width, D hidden.
import type * as tf from '@tensorflow/tfjs-core';

/** Named trainable parameters; the names are the safetensors keys. */
export type ParamStore = Map<string, tf.Variable>;

/** Text conditioning: token embeddings and a 1/0 validity mask. */
export interface TextCond {
  emb: tf.Tensor3D; // (B, L, E)
  mask: tf.Tensor2D; // (B, L) 1 = real token
}

/** Input of the denoiser on a latent grid (bucketed batches: every clip in the batch has one shape). */
export interface GridInput {
  xt: tf.Tensor5D; // (B, T, H, W, C) noisy latents (conditioning frames already clean)
  t: tf.Tensor1D; // (B,) noise level in [0, 1] (RF time; DDPM maps its timestep to [0, 1])
  text: TextCond;
  /** Per-frame conditioning mask, 1 = clean conditioning latent frame. Absent = all zeros. */
  condMask?: tf.Tensor2D; // (B, T)
}

/**
 * Input on a packed token sequence (NaViT-style): several clips of different shapes in one row.
 * `segment` gives each token's clip index within its row (-1 = padding), `pos` its (t, h, w)
 * position inside its own clip (for RoPE), `t`/`text` are per clip.
 */
export interface PackedInput {
  tokens: tf.Tensor3D; // (B, N, P) patchified noisy latents
  pos: Int32Array; // (B·N·3) per-token (t, h, w) patch positions inside its clip
  segment: Int32Array; // (B·N) clip index inside the row, -1 for padding
  cond: tf.Tensor3D; // (B, N, pt) 1 = the token's i-th latent frame is a clean conditioning frame
  t: tf.Tensor2D; // (B, S) noise level per clip slot
  text: TextCond; // (B·S, L, E) text per clip slot, row-major over (B, S)
  slots: number; // S: clip slots per row
}

/** The denoiser as the objectives and samplers see it. */
export interface Denoiser {
  /** Predict the objective's target (v for rectified flow; eps or v for DDPM) on a grid. */
  grid(inp: GridInput): tf.Tensor5D; // (B, T, H, W, C)
  /** The same on packed tokens; returns per-token predictions. */
  packed?(inp: PackedInput): tf.Tensor3D; // (B, N, P)
}
