// Spacetime patches (Sora technical report, Brooks et al. 2024; ViViT tubelets, Arnab et al.
// 2021): a latent video (B, T, H, W, C) is zero-padded up to multiples of the patch (pt, ph, pw)
// and cut into N = nt·nh·nw non-overlapping patches, each flattened in (pt, ph, pw, C) order into
// a token of P = pt·ph·pw·C values; tokens are ordered t-major, then h, then w. unpatchify is the
// exact inverse and crops the padding away, so padded pixels never reach a loss.
// Because each pad is smaller than the patch, every token holds at least one real pixel: `valid`
// is all ones for a grid, and padding tokens only appear in packed rows (segment −1).
import * as tf from '@tensorflow/tfjs-core';
import { SpacetimeError } from '../util/errors.js';
import { checkShape } from '../util/shape.js';

export type Patch = readonly [number, number, number];
export type Grid3 = [number, number, number];

function checkPatch(patch: Patch): void {
  if (patch.length !== 3 || patch.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new SpacetimeError(`patch must be three positive integers (pt, ph, pw), got [${patch.join(', ')}]`);
  }
}

/** Patch grid (nt, nh, nw) and padding for a (T, H, W) latent. */
export function patchGrid(thw: readonly [number, number, number], patch: Patch): { grid: Grid3; pad: Grid3 } {
  checkPatch(patch);
  const grid = thw.map((s, i) => Math.ceil(s / patch[i])) as Grid3;
  const pad = thw.map((s, i) => grid[i] * patch[i] - s) as Grid3;
  return { grid, pad };
}

/** (t, h, w) patch positions of a grid's tokens in token order: Int32Array (N·3). */
export function gridPositions(grid: Grid3): Int32Array {
  const [nt, nh, nw] = grid;
  const pos = new Int32Array(nt * nh * nw * 3);
  let i = 0;
  for (let t = 0; t < nt; t++) for (let h = 0; h < nh; h++) for (let w = 0; w < nw; w++) pos.set([t, h, w], 3 * i++);
  return pos;
}

/**
 * x (B, T, H, W, C) → tokens (B, N, P), the grid, the zero padding per axis, and valid (B, N)
 * (1 = the token holds at least one real pixel).
 */
export function patchify(x: tf.Tensor5D, patch: Patch): { tokens: tf.Tensor3D; grid: Grid3; pad: Grid3; valid: tf.Tensor2D } {
  checkShape('patchify input', x.shape, ['B', 'T', 'H', 'W', 'C']);
  const [b, t, h, w, c] = x.shape;
  const { grid, pad } = patchGrid([t, h, w], patch);
  const [pt, ph, pw] = patch;
  const [nt, nh, nw] = grid;
  const n = nt * nh * nw;
  const tokens = tf.tidy(() => {
    const xp = pad.some((p) => p > 0) ? tf.pad(x, [[0, 0], [0, pad[0]], [0, pad[1]], [0, pad[2]], [0, 0]]) : x; // (B, nt·pt, nh·ph, nw·pw, C)
    const r = tf.reshape(xp, [b * nt, pt, nh, ph, nw, pw * c]); // (B·nt, pt, nh, ph, nw, pw·C)
    const p = tf.transpose(r, [0, 2, 4, 1, 3, 5]); // (B·nt, nh, nw, pt, ph, pw·C)
    return tf.reshape(p, [b, n, pt * ph * pw * c]) as tf.Tensor3D; // (B, N, P)
  });
  const valid = tf.ones([b, n]) as tf.Tensor2D; // (B, N)
  return { tokens, grid, pad, valid };
}

/** Exact inverse of patchify: tokens (B, N, P) → (B, T, H, W, C) with the padding cropped. */
export function unpatchify(tokens: tf.Tensor3D, grid: Grid3, patch: Patch, shape: readonly [number, number, number, number]): tf.Tensor5D {
  checkPatch(patch);
  const [t, h, w, c] = shape;
  const [pt, ph, pw] = patch;
  const [nt, nh, nw] = grid;
  const expect = patchGrid([t, h, w], patch).grid;
  if (expect.some((g, i) => g !== grid[i])) throw new SpacetimeError(`unpatchify: grid [${grid.join(', ')}] does not fit shape (${shape.join(', ')}) with patch [${patch.join(', ')}]`);
  const { B: b } = checkShape('unpatchify tokens', tokens.shape, ['B', nt * nh * nw, pt * ph * pw * c]);
  return tf.tidy(() => {
    const r = tf.reshape(tokens, [b * nt, nh, nw, pt, ph, pw * c]); // (B·nt, nh, nw, pt, ph, pw·C)
    const p = tf.transpose(r, [0, 3, 1, 4, 2, 5]); // (B·nt, pt, nh, ph, nw, pw·C)
    const full = tf.reshape(p, [b, nt * pt, nh * ph, nw * pw, c]) as tf.Tensor5D; // (B, nt·pt, nh·ph, nw·pw, C)
    if (nt * pt === t && nh * ph === h && nw * pw === w) return full;
    return tf.slice(full, [0, 0, 0, 0, 0], [b, t, h, w, c]) as tf.Tensor5D; // (B, T, H, W, C)
  });
}

/**
 * Per-token conditioning flags from a per-frame mask: condMask (B, T) (1 = clean frame) →
 * (B, N, pt), entry i = whether frame tIdx·pt + i of the token is clean (padded frames are 0).
 */
export function condTokens(condMask: tf.Tensor2D, grid: Grid3, pt: number): tf.Tensor3D {
  const { B: b } = checkShape('condMask', condMask.shape, ['B', null]);
  const [nt, nh, nw] = grid;
  const t = condMask.shape[1];
  return tf.tidy(() => {
    const m = nt * pt > t ? tf.pad(condMask, [[0, 0], [0, nt * pt - t]]) : condMask; // (B, nt·pt)
    const r = tf.reshape(m, [b, nt, 1, pt]); // (B, nt, 1, pt)
    return tf.reshape(tf.mul(r, tf.ones([1, 1, nh * nw, 1])), [b, nt * nh * nw, pt]) as tf.Tensor3D; // (B, N, pt)
  });
}
