// Sequence packing (NaViT "Patch n' Pack", Dehghani et al. 2023): clips of different shapes are
// patchified on the host and concatenated into rows of a token budget; the DiT attends
// block-diagonally (segment ids) with per-clip positions, noise level and caption (PackedInput in
// src/model/types.ts). The noise process is applied per clip exactly as on a grid (objective.ts):
// x_t = a·x0 + b·ε off the conditioning frames, target = ca·x0 + cb·ε, and the loss is each clip's
// mean over its real, non-conditioning values, averaged over clips, so a packed batch and the
// same clips in buckets give the same loss. Token layout matches patchify.ts: t-major tokens, each
// flattened in (pt, ph, pw, C) order, patch padding zero and excluded from the loss.
import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser, TextCond } from '../model/types.js';
import { Rng } from '../util/rng.js';
import { tokenCount } from './bucket.js';
import { drawLevel, motionWeights, sampleCondMask, type Draw } from './objective.js';
import type { ObjectiveConfig } from './objective-config.js';

export type Patch3 = readonly [number, number, number];

export interface PackClip {
  x0: Float32Array; // (T·H·W·C)
  shape: readonly [number, number, number, number]; // (T, H, W, C)
  caption: string;
}

/** One clip's random draw (as drawBatch makes for a grid sample). */
export interface ClipDraw {
  draw: Draw;
  noise: Float32Array; // (T·H·W·C)
  condMask: Float32Array; // (T)
  dropText: number; // 1 = empty caption
}

/** First-fit decreasing of clip token counts into rows of `capacity` tokens (stable, deterministic). */
export function planPacking(tokens: readonly number[], capacity: number): number[][] {
  const order = tokens.map((n, i) => i).sort((a, b) => tokens[b] - tokens[a] || a - b);
  const rows: { used: number; clips: number[] }[] = [];
  for (const i of order) {
    if (tokens[i] > capacity) throw new RangeError(`a clip of ${tokens[i]} tokens does not fit a packed row of ${capacity}`);
    const row = rows.find((r) => r.used + tokens[i] <= capacity);
    if (row) {
      row.used += tokens[i];
      row.clips.push(i);
    } else rows.push({ used: tokens[i], clips: [i] });
  }
  return rows.map((r) => r.clips);
}

/** Draw a clip's noise level, conditioning frames, caption dropout and noise (in that order). */
export function drawClip(clip: PackClip, patch: Patch3, rng: Rng, cfg: ObjectiveConfig): ClipDraw {
  const draw = drawLevel(tokenCount(clip.shape, patch), rng, cfg);
  const condMask = sampleCondMask(clip.shape[0], rng, cfg.condModes, cfg.condDropout);
  const dropText = rng.uniform() < cfg.captionDropout ? 1 : 0;
  return { draw, noise: rng.normals(clip.x0.length), condMask, dropText };
}

export interface PackedBatch {
  B: number;
  N: number;
  P: number;
  slots: number;
  xt: Float32Array; // (B·N·P)
  target: Float32Array; // (B·N·P)
  weight: Float32Array; // (B·N·P) loss weight: w_clip / (count_clip · clips)
  cond: Float32Array; // (B·N·pt)
  pos: Int32Array; // (B·N·3)
  segment: Int32Array; // (B·N)
  t: Float32Array; // (B·S)
  captions: string[]; // (B·S), '' for empty slots and dropped captions
  clips: number;
  tokens: number; // real tokens
}

/** Build the packed tensors' host data for `rows` (clip indices per row). */
export function buildPacked(clips: readonly PackClip[], draws: readonly ClipDraw[], rows: readonly (readonly number[])[], patch: Patch3, motionWeight = 0): PackedBatch {
  const [pt, ph, pw] = patch;
  const C = clips[0].shape[3];
  const P = pt * ph * pw * C;
  const B = rows.length;
  const S = Math.max(...rows.map((r) => r.length));
  const rowTokens = rows.map((r) => r.reduce((s, i) => s + tokenCount(clips[i].shape, patch), 0));
  const N = Math.max(...rowTokens);
  const nClips = rows.reduce((s, r) => s + r.length, 0);
  // Clips with at least one loss value (a clip is never all conditioning frames, see sampleCondMask).
  const hasLoss = rows.flat().filter((ci) => draws[ci].condMask.some((m) => !m)).length;
  const out: PackedBatch = {
    B, N, P, slots: S,
    xt: new Float32Array(B * N * P),
    target: new Float32Array(B * N * P),
    weight: new Float32Array(B * N * P),
    cond: new Float32Array(B * N * pt),
    pos: new Int32Array(B * N * 3),
    segment: new Int32Array(B * N).fill(-1),
    t: new Float32Array(B * S),
    captions: new Array<string>(B * S).fill(''),
    clips: nClips,
    tokens: rowTokens.reduce((a, b) => a + b, 0),
  };
  rows.forEach((row, r) => {
    let tok = 0;
    row.forEach((ci, s) => {
      const clip = clips[ci];
      const { draw, noise, condMask, dropText } = draws[ci];
      const [T, H, W, Cc] = clip.shape;
      if (Cc !== C) throw new RangeError(`packed clips must share the channel count (${Cc} vs ${C})`);
      const nt = Math.ceil(T / pt);
      const nh = Math.ceil(H / ph);
      const nw = Math.ceil(W / pw);
      // per-position weights (objective.ts motionWeights; all ones when off) and their sum over the
      // clip's loss values: each clip's loss is its weighted mean, as in the bucketed loss
      const posW = motionWeights(clip.x0, clip.shape, motionWeight);
      let count = 0;
      for (let f = 0; f < T; f++) if (!condMask[f]) for (let p = 0; p < H * W; p++) count += posW[f * H * W + p] * C;
      const wv = count > 0 ? draw.w / (count * Math.max(1, hasLoss)) : 0;
      out.t[r * S + s] = draw.t;
      out.captions[r * S + s] = dropText ? '' : clip.caption;
      for (let ti = 0; ti < nt; ti++)
        for (let hi = 0; hi < nh; hi++)
          for (let wi = 0; wi < nw; wi++) {
            const n = r * N + tok++;
            out.segment[n] = s;
            out.pos.set([ti, hi, wi], 3 * n);
            for (let dt = 0; dt < pt; dt++) {
              const f = ti * pt + dt;
              if (f < T && condMask[f]) out.cond[n * pt + dt] = 1;
              for (let dh = 0; dh < ph; dh++)
                for (let dw = 0; dw < pw; dw++) {
                  const y = hi * ph + dh;
                  const x = wi * pw + dw;
                  if (f >= T || y >= H || x >= W) continue; // patch padding: zero, no loss
                  const src = ((f * H + y) * W + x) * C;
                  const dst = n * P + ((dt * ph + dh) * pw + dw) * C;
                  for (let c = 0; c < C; c++) {
                    const x0 = clip.x0[src + c];
                    const e = noise[src + c];
                    if (condMask[f]) out.xt[dst + c] = x0;
                    else {
                      out.xt[dst + c] = draw.a * x0 + draw.b * e;
                      out.weight[dst + c] = wv * posW[(f * H + y) * W + x];
                    }
                    out.target[dst + c] = draw.ca * x0 + draw.cb * e;
                  }
                }
            }
          }
    });
  });
  return out;
}

/** The weighted packed loss: Σ weight·(pred − target)². Call inside tf.variableGrads. */
export function packedLoss(model: Denoiser, pb: PackedBatch, text: TextCond): tf.Scalar {
  if (!model.packed) throw new RangeError('this model has no packed forward (data.mode "pack" needs one)');
  const pt = pb.cond.length / (pb.B * pb.N);
  const pred = model.packed({
    tokens: tf.tensor3d(pb.xt, [pb.B, pb.N, pb.P]), // (B, N, P)
    cond: tf.tensor3d(pb.cond, [pb.B, pb.N, pt]), // (B, N, pt) clean-frame flags per token frame
    pos: pb.pos,
    segment: pb.segment,
    t: tf.tensor2d(pb.t, [pb.B, pb.slots]), // (B, S)
    text, // (B·S, L, E)
    slots: pb.slots,
  }); // (B, N, P)
  const se = tf.square(tf.sub(pred, tf.tensor3d(pb.target, [pb.B, pb.N, pb.P])));
  return tf.sum(tf.mul(se, tf.tensor3d(pb.weight, [pb.B, pb.N, pb.P]))) as tf.Scalar;
}

/**
 * An endless, resumable stream of clip sets for packing: each epoch is a seeded permutation of all
 * rows, cut greedily into sets of at most `budget` tokens (at least one clip each).
 */
export class PackSampler {
  private order: number[];

  constructor(
    private readonly tokens: readonly number[],
    private readonly budget: number,
    private readonly seed: number,
    private pos: { epoch: number; cursor: number } = { epoch: 0, cursor: 0 },
  ) {
    if (tokens.length === 0) throw new RangeError('no data to sample from');
    this.order = this.permutation(pos.epoch);
  }

  private permutation(epoch: number): number[] {
    return new Rng((this.seed * 1000003 + epoch * 7919 + 1) >>> 0).shuffle(this.tokens.map((_, i) => i));
  }

  next(): number[] {
    if (this.pos.cursor >= this.order.length) {
      this.pos = { epoch: this.pos.epoch + 1, cursor: 0 };
      this.order = this.permutation(this.pos.epoch);
    }
    const out: number[] = [];
    let used = 0;
    while (this.pos.cursor < this.order.length) {
      const i = this.order[this.pos.cursor];
      if (out.length > 0 && used + this.tokens[i] > this.budget) break;
      out.push(i);
      used += this.tokens[i];
      this.pos.cursor++;
    }
    return out;
  }

  state(): { epoch: number; cursor: number } {
    return { ...this.pos };
  }
}
