// Fractional absolute position features (model.absPos 'fractional'). RoPE (rope.ts) makes
// self-attention depend on relative offsets only, and nothing else in the DiT says where a token
// sits in the frame, so "starts on the left" can be learned only from border effects. These
// features give each token its row and column as fractions of its own clip's patch grid, so the
// left half of a clip is the same region at every resolution and aspect ratio (NaViT's
// "factorized & fractional positional embeddings", Dehghani et al. 2023, §3.1). Time is left to
// RoPE, so clips of any duration see the same features.
//
// For a token at patch row h, column w of a clip with a grid of Hc × Wc patches:
//   fy = (h + ½) / Hc, fx = (w + ½) / Wc  ∈ (0, 1)
//   φ = [cos(π·k·fy) for k = 1 … K, cos(π·k·fx) for k = 1 … K]   (K = ABS_POS_FREQS)
// a cosine (DCT-II) basis: cos(π·fy) alone is monotonic on (0, 1), so no two positions share
// features. The DiT adds φ·pos_embed.weight (2K, D) to each token after the patch embedding.
// Padding tokens (segment −1) get zero features.

/** Cosine frequencies per axis. */
export const ABS_POS_FREQS = 8;
/** Features per token: ABS_POS_FREQS for the row, then ABS_POS_FREQS for the column. */
export const ABS_POS_FEATURES = 2 * ABS_POS_FREQS;

/**
 * Features (rows·n, ABS_POS_FEATURES) for `rows` rows of `n` tokens with positions `pos`
 * (rows·n·3, (t, h, w) per token) and, for packed rows, segment ids (rows·n; −1 = padding; null =
 * one clip per row). A clip's grid extent is its largest row and column position + 1.
 */
export function fractionalPosFeatures(pos: Int32Array, segment: Int32Array | null, rows: number, n: number): Float32Array {
  const K = ABS_POS_FREQS;
  const out = new Float32Array(rows * n * ABS_POS_FEATURES);
  for (let r = 0; r < rows; r++) {
    // grid extent per segment of this row (Map: packed rows hold a few clips)
    const extent = new Map<number, [number, number]>();
    for (let i = 0; i < n; i++) {
      const j = r * n + i;
      const seg = segment ? segment[j] : 0;
      if (seg < 0) continue;
      const e = extent.get(seg) ?? [0, 0];
      e[0] = Math.max(e[0], pos[3 * j + 1] + 1);
      e[1] = Math.max(e[1], pos[3 * j + 2] + 1);
      extent.set(seg, e);
    }
    for (let i = 0; i < n; i++) {
      const j = r * n + i;
      const seg = segment ? segment[j] : 0;
      if (seg < 0) continue;
      const [hc, wc] = extent.get(seg) as [number, number];
      const fy = (pos[3 * j + 1] + 0.5) / hc;
      const fx = (pos[3 * j + 2] + 0.5) / wc;
      for (let k = 1; k <= K; k++) {
        out[j * ABS_POS_FEATURES + k - 1] = Math.cos(Math.PI * k * fy);
        out[j * ABS_POS_FEATURES + K + k - 1] = Math.cos(Math.PI * k * fx);
      }
    }
  }
  return out;
}
