// The spacetime-patch diffusion transformer (DiT, Peebles & Xie 2023) for video, as Sora
// describes it (Brooks et al. 2024): latent video → spacetime patches → transformer blocks
// (dit-block.ts) conditioned on the noise level and the caption → per-patch prediction of the
// objective's target. Inputs of any duration, resolution and aspect ratio; several clips can share
// one sequence with block-diagonal attention and per-clip positions, noise level and caption
// (NaViT "Patch n' Pack", Dehghani et al. 2023).
//
// Forward pass (parameter names as in dit-params.ts):
//   tokens (B, N, Pout) [+ clean-frame mask channel] → x_embed → h (B·N, D) [+ φ(pos)·pos_embed]
//   c = t_embed(sinusoid(1000·t)) [+ text_pool(masked mean of text)] [+ text_first(first token)] per clip slot (B·S, D)
//   y = y_embed(text tokens) (B, S·L, D)
//   h = blocks.i(h; SiLU(c), y, RoPE(pos), masks)   i = 0 … depth−1
//   out = final.linear(LN(h)·(1 + γ) + β), [β, γ] = final.adaLN(SiLU(c)) → (B, N, Pout)
// grid() wraps it with patchify/unpatchify, one clip per row.
// Details an exporter must reproduce: LayerNorm and RMSNorm eps 1e-6, no affine in the DiT's
// LayerNorms; timestep features [cos, sin] of 1000·t·10000^(−i/(F/2)); GELU tanh approximation;
// 'channel' mode appends the clean flag as channel C of every patch pixel before x_embed
// ('embedding' mode adds mean-over-frames(flag)·cond_embed after it); cross-attention is ungated
// and reads LN(h); masked logits get −1e9 (−2e9 across packed clips); RoPE as in rope.ts.
import * as tf from '@tensorflow/tfjs-core';
import { SpacetimeError } from '../util/errors.js';
import { checkShape } from '../util/shape.js';
import { ABS_POS_FEATURES, fractionalPosFeatures } from './abspos.js';
import { MASKED } from './attention.js';
import { adaLNChunks, ditBlock, type BlockContext } from './dit-block.js';
import { ditParamSpecs, patchWidths } from './dit-params.js';
import { captionEmbed, pooledTextEmbed, slotOneHot, timestepEmbed } from './embed.js';
import { linear } from './linear.js';
import { layerNorm, modulate, silu } from './norm.js';
import { createParams, disposeParams, loadParams, param, type RawTensor } from './params.js';
import { condTokens, gridPositions, patchify, unpatchify } from './patchify.js';
import { DiTConfigSchema, type DiTConfig } from './presets.js';
import { ropeTables } from './rope.js';
import type { Denoiser, GridInput, PackedInput, ParamStore, TextCond } from './types.js';

export interface DiTModel extends Denoiser {
  config: DiTConfig;
  params: ParamStore;
  grid(inp: GridInput): tf.Tensor5D; // (B, T, H, W, C)
  packed(inp: PackedInput): tf.Tensor3D; // (B, N, Pout)
  dispose(): void;
}

/** What the shared core consumes; built by grid() and packed(). */
interface CoreInput {
  tokens: tf.Tensor3D; // (B, N, Pout)
  cond: tf.Tensor3D; // (B, N, pt) clean-frame flags per token frame
  pos: Int32Array; // (B·N·3)
  segment: Int32Array | null; // (B·N), null = one clip per row and no padding
  slots: number; // S
  t: tf.Tensor1D; // (B·S,)
  text: TextCond; // emb (B·S, L, E), mask (B·S, L)
}

/** Self-attention bias (B, 1, N, N): 0 inside a segment, MASKED across; padding (−1) is its own group. */
function segmentBias(segment: Int32Array, b: number, n: number): tf.Tensor4D | null {
  let single = true;
  for (let r = 0; r < b && single; r++) for (let i = 0; i < n; i++) if (segment[r * n + i] !== segment[r * n]) { single = false; break; }
  if (single) return null;
  const bias = new Float32Array(b * n * n);
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < n; i++) {
      const si = segment[r * n + i];
      for (let j = 0; j < n; j++) if (segment[r * n + j] !== si) bias[(r * n + i) * n + j] = MASKED;
    }
  }
  return tf.tensor4d(bias, [b, 1, n, n]);
}

/**
 * Cross-attention bias (B, 1, N, S·L) for packed rows: a token attends to the valid text tokens of
 * its own slot (0), not to its slot's padding (MASKED) and never to other slots (2·MASKED, so a slot
 * with no valid text still attends only within itself, exactly as it would alone).
 */
function packedTextBias(segment: Int32Array, mask: Float32Array, b: number, n: number, s: number, l: number): tf.Tensor4D {
  const k = s * l;
  const bias = new Float32Array(b * n * k);
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < n; i++) {
      const si = Math.max(0, segment[r * n + i]);
      const row = (r * n + i) * k;
      for (let j = 0; j < k; j++) {
        const sj = Math.floor(j / l);
        bias[row + j] = sj !== si ? 2 * MASKED : mask[(r * s + sj) * l + (j % l)] > 0.5 ? 0 : MASKED;
      }
    }
  }
  return tf.tensor4d(bias, [b, 1, n, k]);
}

function core(p: ParamStore, cfg: DiTConfig, inp: CoreInput): tf.Tensor3D {
  const [b, n] = inp.tokens.shape;
  const s = inp.slots;
  const [pt, ph, pw] = cfg.patch;
  const c = cfg.latentChannels;
  const { pout } = patchWidths(cfg);
  const l = inp.text.emb.shape[1];
  const { cos, sin } = ropeTables(inp.pos, cfg.hidden / cfg.heads, cfg.rope);
  const selfBias = inp.segment ? segmentBias(inp.segment, b, n) : null;
  const onehot = slotOneHot(inp.segment ?? new Int32Array(b * n), b, n, s);
  const crossBias = inp.segment
    ? packedTextBias(inp.segment, inp.text.mask.dataSync() as Float32Array, b, n, s, l)
    : tf.tidy(() => tf.reshape(tf.mul(tf.sub(1, inp.text.mask), MASKED), [b, 1, 1, l]) as tf.Tensor4D); // (B, 1, 1, L)
  try {
    return tf.tidy(() => {
      let x: tf.Tensor2D;
      if (cfg.condMode === 'channel') {
        const xr = tf.reshape(inp.tokens, [b * n, pt, ph * pw, c]); // (B·N, pt, ph·pw, C)
        const m = tf.mul(tf.reshape(inp.cond, [b * n, pt, 1, 1]), tf.ones([1, 1, ph * pw, 1])); // (B·N, pt, ph·pw, 1)
        x = tf.reshape(tf.concat([xr, m], 3), [b * n, -1]) as tf.Tensor2D; // (B·N, Pin)
      } else {
        x = tf.reshape(inp.tokens, [b * n, pout]) as tf.Tensor2D; // (B·N, Pout)
      }
      let h = linear(x, param(p, 'x_embed.weight'), param(p, 'x_embed.bias')); // (B·N, D)
      if (cfg.condMode === 'embedding') {
        const frac = tf.reshape(tf.mean(inp.cond, -1), [b * n, 1]); // (B·N, 1)
        h = tf.add(h, tf.mul(frac, param(p, 'cond_embed'))) as tf.Tensor2D; // (B·N, D)
      }
      if (cfg.absPos === 'fractional') {
        const feats = tf.tensor2d(fractionalPosFeatures(inp.pos, inp.segment, b, n), [b * n, ABS_POS_FEATURES]); // (B·N, 3K)
        h = tf.add(h, linear(feats, param(p, 'pos_embed.weight'))) as tf.Tensor2D; // (B·N, D)
      }
      let cvec = timestepEmbed(p, inp.t, cfg.freqDim); // (B·S, D)
      if (cfg.pooledText) cvec = tf.add(cvec, pooledTextEmbed(p, inp.text, cfg.textPool)) as tf.Tensor2D; // (B·S, D)
      const y = tf.reshape(captionEmbed(p, inp.text.emb), [b, s * l, cfg.hidden]) as tf.Tensor3D; // (B, S·L, D)
      const ctx: BlockContext = { b, n, heads: cfg.heads, qkNorm: cfg.qkNorm, cos, sin, selfBias, crossBias, y, onehot, cs: silu(cvec) };
      for (let i = 0; i < cfg.depth; i++) h = ditBlock(p, i, h, ctx); // (B·N, D)
      const [shift, scale] = adaLNChunks(p, 'final.adaLN', ctx, 2); // 2 × (B·N, D)
      const out = linear(modulate(layerNorm(h), shift, scale), param(p, 'final.linear.weight'), param(p, 'final.linear.bias')); // (B·N, Pout)
      return tf.reshape(out, [b, n, pout]) as tf.Tensor3D; // (B, N, Pout)
    });
  } finally {
    for (const x of [cos, sin, selfBias, onehot, crossBias]) x?.dispose();
  }
}

function gridForward(p: ParamStore, cfg: DiTConfig, inp: GridInput): tf.Tensor5D {
  const env = checkShape('grid xt', inp.xt.shape, ['B', 'T', 'H', 'W', cfg.latentChannels]);
  checkShape('grid t', inp.t.shape, ['B'], env);
  checkShape('grid text.emb', inp.text.emb.shape, ['B', 'L', cfg.textWidth], env);
  checkShape('grid text.mask', inp.text.mask.shape, ['B', 'L'], env);
  if (inp.condMask) checkShape('grid condMask', inp.condMask.shape, ['B', 'T'], env);
  const [b, t, h, w, c] = inp.xt.shape;
  const { tokens, grid, valid } = patchify(inp.xt, cfg.patch);
  valid.dispose();
  const n = grid[0] * grid[1] * grid[2];
  const one = gridPositions(grid);
  const pos = new Int32Array(b * n * 3);
  for (let r = 0; r < b; r++) pos.set(one, r * n * 3);
  const cm = inp.condMask ?? (tf.zeros([b, t]) as tf.Tensor2D);
  const cond = condTokens(cm, grid, cfg.patch[0]); // (B, N, pt)
  try {
    const out = core(p, cfg, { tokens, cond, pos, segment: null, slots: 1, t: inp.t, text: inp.text }); // (B, N, Pout)
    try {
      return unpatchify(out, grid, cfg.patch, [t, h, w, c]); // (B, T, H, W, C)
    } finally {
      out.dispose();
    }
  } finally {
    tokens.dispose();
    cond.dispose();
    if (!inp.condMask) cm.dispose();
  }
}

function packedForward(p: ParamStore, cfg: DiTConfig, inp: PackedInput): tf.Tensor3D {
  const { pout } = patchWidths(cfg);
  const s = inp.slots;
  const env = checkShape('packed tokens', inp.tokens.shape, ['B', 'N', pout]);
  checkShape('packed cond', inp.cond.shape, ['B', 'N', cfg.patch[0]], env);
  checkShape('packed t', inp.t.shape, ['B', s], env);
  checkShape('packed text.emb', inp.text.emb.shape, [env.B * s, 'L', cfg.textWidth], env);
  checkShape('packed text.mask', inp.text.mask.shape, [env.B * s, 'L'], env);
  const { B: b, N: n } = env;
  if (inp.pos.length !== b * n * 3) throw new SpacetimeError(`packed pos: expected ${b * n * 3} values (B·N·3), got ${inp.pos.length}`);
  if (inp.segment.length !== b * n) throw new SpacetimeError(`packed segment: expected ${b * n} values (B·N), got ${inp.segment.length}`);
  for (const sg of inp.segment) if (sg < -1 || sg >= s) throw new SpacetimeError(`packed segment: id ${sg} outside [-1, ${s})`);
  const t = tf.reshape(inp.t, [b * s]) as tf.Tensor1D; // (B·S,)
  try {
    return core(p, cfg, { tokens: inp.tokens, cond: inp.cond, pos: inp.pos, segment: inp.segment, slots: s, t, text: inp.text });
  } finally {
    t.dispose();
  }
}

function makeModel(config: DiTConfig, params: ParamStore): DiTModel {
  return {
    config,
    params,
    grid: (inp) => gridForward(params, config, inp),
    packed: (inp) => packedForward(params, config, inp),
    dispose: () => disposeParams(params),
  };
}

/** A freshly initialised DiT (adaLN-Zero init: its output is exactly zero until trained). */
export function createDiT(cfg: DiTConfig, seed: number): DiTModel {
  const config = DiTConfigSchema.parse(cfg);
  return makeModel(config, createParams(ditParamSpecs(config), seed));
}

/** A DiT from stored tensors (checkpoint); a missing, extra or mis-shaped key is an error naming it. */
export function loadDiT(cfg: DiTConfig, tensors: Record<string, RawTensor>): DiTModel {
  const config = DiTConfigSchema.parse(cfg);
  return makeModel(config, loadParams(ditParamSpecs(config), tensors, 'DiT checkpoint'));
}
