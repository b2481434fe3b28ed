// Image primitives for flow and temporal metrics: float planes, RGB → luma (ITU-R BT.601
// weights), separable Gaussian blur, pyramid decimation, bilinear sampling with border clamp,
// and backward warping of an image by a flow field (the warp of Lai et al. 2018, §3.2).
import type { Frame } from '../data/video.js';

/** A single-channel float image, row-major (H, W). */
export interface Plane {
  width: number;
  height: number;
  data: Float32Array;
}

/** A dense flow field: pixel (x, y) of frame A moves to (x + u, y + v) in frame B. (H, W) each. */
export interface Flow {
  width: number;
  height: number;
  u: Float32Array;
  v: Float32Array;
}

/** Luma in 0..1 from an 8-bit RGB frame: Y = 0.299 R + 0.587 G + 0.114 B. */
export function luma(f: Frame): Plane {
  const n = f.width * f.height;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (0.299 * f.data[3 * i] + 0.587 * f.data[3 * i + 1] + 0.114 * f.data[3 * i + 2]) / 255;
  return { width: f.width, height: f.height, data };
}

/** Normalised 1-D Gaussian taps for radius r. */
export function gaussianKernel(sigma: number, r = Math.max(1, Math.ceil(3 * sigma))): Float32Array {
  const k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

const clampi = (i: number, n: number) => (i < 0 ? 0 : i >= n ? n - 1 : i);

/** Separable convolution of a (H, W) plane with a symmetric kernel, border replicated (in-place safe). */
export function convolveSeparable(src: Float32Array, w: number, h: number, k: Float32Array, out = new Float32Array(w * h), tmp = new Float32Array(w * h)): Float32Array {
  const r = (k.length - 1) >> 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      if (x >= r && x < w - r) {
        const base = row + x - r;
        for (let j = 0; j < k.length; j++) acc += k[j] * src[base + j];
      } else {
        for (let j = -r; j <= r; j++) acc += k[j + r] * src[row + clampi(x + j, w)];
      }
      tmp[row + x] = acc;
    }
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    if (y >= r && y < h - r) {
      for (let x = 0; x < w; x++) out[row + x] = 0;
      for (let j = 0; j < k.length; j++) {
        const kj = k[j];
        const srow = (y - r + j) * w;
        for (let x = 0; x < w; x++) out[row + x] += kj * tmp[srow + x];
      }
    } else {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let j = -r; j <= r; j++) acc += k[j + r] * tmp[clampi(y + j, h) * w + x];
        out[row + x] = acc;
      }
    }
  }
  return out;
}

/**
 * Mean over a (2r+1)² box, border replicated, by running sums: O(1) per pixel whatever r
 * (in-place safe).
 */
export function boxFilter(src: Float32Array, w: number, h: number, r: number, out = new Float32Array(w * h), tmp = new Float32Array(w * h)): Float32Array {
  const n = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let acc = 0;
    for (let j = -r; j <= r; j++) acc += src[row + clampi(j, w)];
    for (let x = 0; x < w; x++) {
      tmp[row + x] = acc / n;
      acc += src[row + clampi(x + r + 1, w)] - src[row + clampi(x - r, w)];
    }
  }
  const col = new Float64Array(w);
  for (let j = -r; j <= r; j++) {
    const srow = clampi(j, h) * w;
    for (let x = 0; x < w; x++) col[x] += tmp[srow + x];
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const add = clampi(y + r + 1, h) * w;
    const sub = clampi(y - r, h) * w;
    for (let x = 0; x < w; x++) {
      out[row + x] = col[x] / n;
      col[x] += tmp[add + x] - tmp[sub + x];
    }
  }
  return out;
}

export function blur(p: Plane, sigma: number): Plane {
  return { width: p.width, height: p.height, data: convolveSeparable(p.data, p.width, p.height, gaussianKernel(sigma)) };
}

/** Half-resolution plane: Gaussian anti-alias (σ = 1) then take every second pixel (ceil sizes). */
export function downsample(p: Plane): Plane {
  const b = blur(p, 1);
  const w = Math.ceil(p.width / 2);
  const h = Math.ceil(p.height / 2);
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = b.data[2 * y * p.width + 2 * x];
  return { width: w, height: h, data };
}

/**
 * The bilinear cell of point (x, y) clamped to a (H, W) image: the flat indices of its four
 * corners and the fractions along x and y. Filled into `c` so per-pixel loops allocate nothing;
 * one cell serves every plane or channel read at that point (bilerp).
 */
export interface BilinearCell {
  i00: number;
  i01: number;
  i10: number;
  i11: number;
  fx: number;
  fy: number;
}

export function newCell(): BilinearCell {
  return { i00: 0, i01: 0, i10: 0, i11: 0, fx: 0, fy: 0 };
}

export function bilinearCell(x: number, y: number, w: number, h: number, c: BilinearCell): BilinearCell {
  x = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
  y = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = x0 + 1 < w ? x0 + 1 : x0;
  const y1 = y0 + 1 < h ? y0 + 1 : y0;
  c.i00 = y0 * w + x0;
  c.i01 = y0 * w + x1;
  c.i10 = y1 * w + x0;
  c.i11 = y1 * w + x1;
  c.fx = x - x0;
  c.fy = y - y0;
  return c;
}

/** Bilinear read through a cell; interleaved data reads channel `ch` of `stride` channels. */
export function bilerp(src: Float32Array, c: BilinearCell, stride = 1, ch = 0): number {
  const a = src[c.i00 * stride + ch] + c.fx * (src[c.i01 * stride + ch] - src[c.i00 * stride + ch]);
  const b = src[c.i10 * stride + ch] + c.fx * (src[c.i11 * stride + ch] - src[c.i10 * stride + ch]);
  return a + c.fy * (b - a);
}

const scratch = newCell();

/** Bilinear sample of a (H, W) plane at (x, y), coordinates clamped to the image. */
export function sampleBilinear(src: Float32Array, w: number, h: number, x: number, y: number): number {
  return bilerp(src, bilinearCell(x, y, w, h, scratch));
}

/**
 * Resize a flow field to (w, h): bilinear in position, vectors scaled by the size ratio
 * (used to carry a coarse pyramid estimate to the next finer level).
 */
export function resizeFlow(f: Flow, w: number, h: number): Flow {
  const u = new Float32Array(w * h);
  const v = new Float32Array(w * h);
  const sx = f.width / w;
  const sy = f.height / h;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const X = (x + 0.5) * sx - 0.5;
      const Y = (y + 0.5) * sy - 0.5;
      u[y * w + x] = sampleBilinear(f.u, f.width, f.height, X, Y) / sx;
      v[y * w + x] = sampleBilinear(f.v, f.width, f.height, X, Y) / sy;
    }
  return { width: w, height: h, u, v };
}

/**
 * Backward warp of an interleaved image (H, W, C) by `flow`: out(x) = img(x + flow(x)),
 * bilinear. Also returns a validity mask (1 where x + flow(x) lies inside the image).
 */
export function warpImage(img: Float32Array, channels: number, flow: Flow, scale = 1): { data: Float32Array; inside: Uint8Array } {
  const { width: w, height: h } = flow;
  const out = new Float32Array(w * h * channels);
  const inside = new Uint8Array(w * h);
  const cell = newCell();
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const sx = x + scale * flow.u[i];
      const sy = y + scale * flow.v[i];
      inside[i] = sx >= 0 && sx <= w - 1 && sy >= 0 && sy <= h - 1 ? 1 : 0;
      bilinearCell(sx, sy, w, h, cell);
      for (let c = 0; c < channels; c++) out[i * channels + c] = bilerp(img, cell, channels, c);
    }
  return { data: out, inside };
}

/** End-point error: mean over pixels (optionally masked) of ‖F − G‖₂. */
export function endPointError(a: Flow, b: Flow, mask?: Uint8Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.u.length; i++) {
    if (mask && !mask[i]) continue;
    s += Math.hypot(a.u[i] - b.u[i], a.v[i] - b.v[i]);
    n++;
  }
  return n ? s / n : 0;
}
