// Spacetime patches on plain Float32Arrays, for inference without TensorFlow.js (the ONNX
// pipeline). Same layout as src/model/patchify.ts (Sora, Brooks et al. 2024; ViViT tubelets):
// zero-pad (T, H, W) up to multiples of (pt, ph, pw); tokens t-major, then h, then w; each token
// flattened in (pt, ph, pw, C) order. Tested against the tfjs implementation.
export type Patch3 = readonly [number, number, number];

export interface TokenGrid {
  grid: [number, number, number];
  n: number;
  p: number;
}

export function tokenGrid(T: number, H: number, W: number, C: number, patch: Patch3): TokenGrid {
  const grid: [number, number, number] = [Math.ceil(T / patch[0]), Math.ceil(H / patch[1]), Math.ceil(W / patch[2])];
  return { grid, n: grid[0] * grid[1] * grid[2], p: patch[0] * patch[1] * patch[2] * C };
}

/**
 * Visits every in-clip pixel of every token: `visit(o, v)` with o the offset of the pixel's C
 * values in tokens (B, N, P) and v their offset in the video (B, T, H, W, C). Padding is skipped.
 */
function forEachPatchPixel(shape: readonly [number, number, number, number, number], patch: Patch3, g: TokenGrid, visit: (o: number, v: number) => void): void {
  const [B, T, H, W, C] = shape;
  const [pt, ph, pw] = patch;
  const [nt, nh, nw] = g.grid;
  for (let b = 0; b < B; b++)
    for (let it = 0; it < nt; it++)
      for (let ih = 0; ih < nh; ih++)
        for (let iw = 0; iw < nw; iw++) {
          const tok = ((b * nt + it) * nh + ih) * nw + iw;
          let o = tok * g.p;
          for (let a = 0; a < pt; a++)
            for (let bb = 0; bb < ph; bb++)
              for (let cc = 0; cc < pw; cc++) {
                const t = it * pt + a;
                const h = ih * ph + bb;
                const w = iw * pw + cc;
                if (t < T && h < H && w < W) visit(o, (((b * T + t) * H + h) * W + w) * C);
                o += C;
              }
        }
}

/** x (B, T, H, W, C) → tokens (B, N, P), zero padding outside the clip. */
export function patchifyData(x: Float32Array, shape: readonly [number, number, number, number, number], patch: Patch3): { tokens: Float32Array } & TokenGrid {
  const [B, T, H, W, C] = shape;
  const g = tokenGrid(T, H, W, C, patch);
  const out = new Float32Array(B * g.n * g.p);
  forEachPatchPixel(shape, patch, g, (o, v) => {
    for (let c = 0; c < C; c++) out[o + c] = x[v + c];
  });
  return { tokens: out, ...g };
}

/** Inverse of patchifyData, cropping the padding: tokens (B, N, P) → (B, T, H, W, C). */
export function unpatchifyData(tokens: Float32Array, shape: readonly [number, number, number, number, number], patch: Patch3): Float32Array {
  const [B, T, H, W, C] = shape;
  const g = tokenGrid(T, H, W, C, patch);
  const out = new Float32Array(B * T * H * W * C);
  forEachPatchPixel(shape, patch, g, (o, v) => {
    for (let c = 0; c < C; c++) out[v + c] = tokens[o + c];
  });
  return out;
}

/** (t, h, w) patch positions per token, t-major: Int32Array (N·3). */
export function gridPositionsData(grid: readonly [number, number, number]): Int32Array {
  const [nt, nh, nw] = grid;
  const pos = new Int32Array(nt * nh * nw * 3);
  let i = 0;
  for (let t = 0; t < nt; t++) for (let h = 0; h < nh; h++) for (let w = 0; w < nw; w++) pos.set([t, h, w], 3 * i++);
  return pos;
}
