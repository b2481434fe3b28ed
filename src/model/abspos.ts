// Fractional absolute position features (model.absPos 'fractional'). RoPE (rope.ts) makes
// self-attention depend on relative offsets only, and nothing else in the DiT says where a token
// sits in the clip, so "starts on the left and ends on the right" can be learned only from border
// effects. These features give each token its frame, row and column as fractions of its own clip's
// patch grid, so the left half of a clip, or its first frames, are the same region at every
// resolution, aspect ratio and duration (NaViT's "factorized & fractional positional embeddings",
// Dehghani et al. 2023, §3.1, extended to time). A direction is a change of place over time, so
// both are needed: with space alone a left-to-right and a right-to-left clip occupy the same places.
//
// For a token at patch frame t, row h, column w of a clip with a grid of Tc × Hc × Wc patches:
//   ft = (t + ½) / Tc, fy = (h + ½) / Hc, fx = (w + ½) / Wc  ∈ (0, 1)
//   φ = [cos(π·k·ft), cos(π·k·fy), cos(π·k·fx) for k = 1 … K]   (axis-major, K = ABS_POS_FREQS)
// a cosine (DCT-II) basis: cos(π·f) alone is monotonic on (0, 1), so no two positions share
// features. The DiT adds φ·pos_embed.weight (3K, D) to each token after the patch embedding.
// Padding tokens (segment −1) get zero features. A single-frame clip has ft = ½ everywhere.

/** Cosine frequencies per axis. */
export const ABS_POS_FREQS = 8;
/** Features per token: ABS_POS_FREQS each for the frame, the row and the column. */
export const ABS_POS_FEATURES = 3 * ABS_POS_FREQS;

/**
 * Features (rows·n, ABS_POS_FEATURES) for `rows` rows of `n` tokens with positions `pos`
 * (rows·n·3, (t, h, w) per token) and, for packed rows, segment ids (rows·n; −1 = padding; null =
 * one clip per row). A clip's grid extent is its largest frame, row and column position + 1.
 */
export function fractionalPosFeatures(pos: Int32Array, segment: Int32Array | null, rows: number, n: number): Float32Array {
  const K = ABS_POS_FREQS;
  const out = new Float32Array(rows * n * ABS_POS_FEATURES);
  for (let r = 0; r < rows; r++) {
    // grid extent per segment of this row (Map: packed rows hold a few clips)
    const extent = new Map<number, [number, number, number]>();
    for (let i = 0; i < n; i++) {
      const j = r * n + i;
      const seg = segment ? segment[j] : 0;
      if (seg < 0) continue;
      const e = extent.get(seg) ?? [0, 0, 0];
      for (let a = 0; a < 3; a++) e[a] = Math.max(e[a], pos[3 * j + a] + 1);
      extent.set(seg, e);
    }
    for (let i = 0; i < n; i++) {
      const j = r * n + i;
      const seg = segment ? segment[j] : 0;
      if (seg < 0) continue;
      const e = extent.get(seg) as [number, number, number];
      for (let a = 0; a < 3; a++) {
        const f = (pos[3 * j + a] + 0.5) / e[a];
        for (let k = 1; k <= K; k++) out[j * ABS_POS_FEATURES + a * K + k - 1] = Math.cos(Math.PI * k * f);
      }
    }
  }
  return out;
}

/**
 * The DiT graph's extra input for one clip with token positions `positions` (N·3): `{ pos_feats }`
 * for absPos 'fractional' models, nothing for 'none' (whose ONNX graph has no such input).
 */
export function absPosFeed(absPos: 'none' | 'fractional', positions: Int32Array): Record<string, { data: Float32Array; dims: number[] }> {
  if (absPos !== 'fractional') return {};
  const n = positions.length / 3;
  return { pos_feats: { data: fractionalPosFeatures(positions, null, 1, n), dims: [n, ABS_POS_FEATURES] } };
}
