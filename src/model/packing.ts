// Patch n' Pack (NaViT, Dehghani et al. 2023): clips of different durations and resolutions are
// patchified and concatenated into rows of a fixed token length; each token records its clip slot
// (`segment`, −1 = padding) and its (t, h, w) position inside its own clip, so the DiT can mask
// attention block-diagonally and apply RoPE per clip. unpackClips is the exact inverse.
import * as tf from '@tensorflow/tfjs-core';
import { SpacetimeError } from '../util/errors.js';
import { gridPositions, patchify, unpatchify, type Grid3, type Patch } from './patchify.js';
import type { PackedInput } from './types.js';

/** One clip to pack: latent (T, H, W, C) and optional per-frame clean flags (length T). */
export interface PackClip {
  latent: tf.Tensor4D;
  condFrames?: readonly number[];
}

/** Where a clip went: its row, slot, first token, token count, grid and original shape. */
export interface PackedClipRef {
  row: number;
  slot: number;
  offset: number;
  length: number;
  grid: Grid3;
  shape: [number, number, number, number];
}

/** Tokens, positions, segments and clean flags of packed rows, plus where each clip lies. */
export type PackedTokens = Pick<PackedInput, 'tokens' | 'pos' | 'segment' | 'cond' | 'slots'> & { clips: PackedClipRef[] };

/**
 * Pack rows of clips (`rows[r]` = the clips of row r, at most `slots` each) into (B, N, P) with
 * N = `length` (default: the longest row). Padding tokens are zeros with segment −1.
 */
export function packClips(rows: readonly (readonly PackClip[])[], patch: Patch, opts: { length?: number; slots?: number } = {}): PackedTokens {
  if (rows.length === 0 || rows.some((r) => r.length === 0)) throw new SpacetimeError('packClips: every row needs at least one clip');
  const c = rows[0][0].latent.shape[3];
  const pt = patch[0];
  const p = patch[0] * patch[1] * patch[2] * c;
  const slots = opts.slots ?? Math.max(...rows.map((r) => r.length));
  const clips: PackedClipRef[] = [];
  const rowLens = rows.map((r, ri) => {
    if (r.length > slots) throw new SpacetimeError(`packClips: row ${ri} has ${r.length} clips, more than ${slots} slots`);
    let off = 0;
    r.forEach((clip, si) => {
      const [t, h, w, cc] = clip.latent.shape;
      if (cc !== c) throw new SpacetimeError(`packClips: clip ${ri}/${si} has ${cc} channels, expected ${c}`);
      const grid = [Math.ceil(t / patch[0]), Math.ceil(h / patch[1]), Math.ceil(w / patch[2])] as Grid3;
      const len = grid[0] * grid[1] * grid[2];
      clips.push({ row: ri, slot: si, offset: off, length: len, grid, shape: [t, h, w, cc] });
      off += len;
    });
    return off;
  });
  const n = opts.length ?? Math.max(...rowLens);
  rowLens.forEach((len, ri) => {
    if (len > n) throw new SpacetimeError(`packClips: row ${ri} needs ${len} tokens, more than length ${n}`);
  });
  const b = rows.length;
  const pos = new Int32Array(b * n * 3);
  const segment = new Int32Array(b * n).fill(-1);
  const cond = new Float32Array(b * n * pt);
  for (const ref of clips) {
    const base = ref.row * n + ref.offset;
    pos.set(gridPositions(ref.grid), base * 3);
    segment.fill(ref.slot, base, base + ref.length);
    const frames = rows[ref.row][ref.slot].condFrames;
    if (frames) {
      if (frames.length !== ref.shape[0]) throw new SpacetimeError(`packClips: condFrames of clip ${ref.row}/${ref.slot} has ${frames.length} entries, expected ${ref.shape[0]}`);
      const per = ref.grid[1] * ref.grid[2];
      for (let k = 0; k < ref.length; k++) {
        const ti = Math.floor(k / per);
        for (let i = 0; i < pt; i++) cond[(base + k) * pt + i] = frames[ti * pt + i] ?? 0;
      }
    }
  }
  const tokens = tf.tidy(() => {
    const perRow = rows.map((r, ri) => {
      const parts = r.map((clip) => tf.reshape(patchify(tf.expandDims(clip.latent, 0) as tf.Tensor5D, patch).tokens, [-1, p])); // (n_i, P)
      if (rowLens[ri] < n) parts.push(tf.zeros([n - rowLens[ri], p]));
      return tf.concat(parts, 0); // (N, P)
    });
    return tf.stack(perRow) as tf.Tensor3D; // (B, N, P)
  });
  return { tokens, pos, segment, cond: tf.tensor3d(cond, [b, n, pt]), slots, clips };
}

/** Cut packed predictions (B, N, P) back into one (T, H, W, C) tensor per clip, in `clips` order. */
export function unpackClips(out: tf.Tensor3D, clips: readonly PackedClipRef[], patch: Patch): tf.Tensor4D[] {
  return clips.map((ref) =>
    tf.tidy(() => {
      const tok = tf.slice(out, [ref.row, ref.offset, 0], [1, ref.length, out.shape[2]]) as tf.Tensor3D; // (1, n_i, P)
      return tf.squeeze(unpatchify(tok, ref.grid, patch, ref.shape), [0]) as tf.Tensor4D; // (T, H, W, C)
    }),
  );
}
