// Image primitives for motion masks, following OpenCV's definitions as the Physics-IQ benchmark
// (Motamed et al. 2025) uses them: BGR2GRAY luma (ITU-R BT.601, 14-bit fixed point),
// GaussianBlur 5x5 with sigma 0 (binomial kernel [1 4 6 4 1]/16, reflect-101 border),
// erode/dilate with a rectangular kernel (pixels outside the image are ignored), morphological
// open (erode → dilate) and close (dilate → erode), and INTER_LINEAR resize (half-pixel centres).
import type { Frame } from '../data/video.js';

/** A single-channel 8-bit image, row-major. */
export interface Gray {
  width: number;
  height: number;
  data: Uint8Array;
}

/** RGB → 8-bit luma: round(0.299 R + 0.587 G + 0.114 B) in OpenCV's fixed point. */
export function toGray(f: Frame): Gray {
  const n = f.width * f.height;
  const out = new Uint8Array(n);
  const d = f.data;
  for (let i = 0; i < n; i++) out[i] = (d[3 * i] * 4899 + d[3 * i + 1] * 9617 + d[3 * i + 2] * 1868 + 8192) >> 14;
  return { width: f.width, height: f.height, data: out };
}

/** Reflect-101 index (…2 1 | 0 1 2 … n-1 | n-2 …). */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/** 5x5 Gaussian blur with sigma 0 (OpenCV: kernel [1,4,6,4,1]/16 per axis), rounded to uint8. */
export function gaussianBlur5(g: Gray): Gray {
  const { width: w, height: h, data } = g;
  const k = [1, 4, 6, 4, 1];
  const tmp = new Uint32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = -2; j <= 2; j++) s += k[j + 2] * data[y * w + reflect101(x + j, w)];
      tmp[y * w + x] = s;
    }
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = -2; j <= 2; j++) s += k[j + 2] * tmp[reflect101(y + j, h) * w + x];
      out[y * w + x] = (s + 128) >> 8;
    }
  return { width: w, height: h, data: out };
}

/** Separable min/max filter over a k x k square; out-of-image pixels do not take part. */
function rankFilter(m: Uint8Array, w: number, h: number, k: number, max: boolean): Uint8Array {
  const r = k >> 1;
  const pick = max ? Math.max : Math.min;
  const tmp = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = m[y * w + x];
      for (let i = Math.max(0, x - r); i <= Math.min(w - 1, x + r); i++) v = pick(v, m[y * w + i]);
      tmp[y * w + x] = v;
    }
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = tmp[y * w + x];
      for (let j = Math.max(0, y - r); j <= Math.min(h - 1, y + r); j++) v = pick(v, tmp[j * w + x]);
      out[y * w + x] = v;
    }
  return out;
}

export const erode = (m: Uint8Array, w: number, h: number, k = 5): Uint8Array => rankFilter(m, w, h, k, false);
export const dilate = (m: Uint8Array, w: number, h: number, k = 5): Uint8Array => rankFilter(m, w, h, k, true);
/** Opening: erosion then dilation (removes specks smaller than the kernel). */
export const open = (m: Uint8Array, w: number, h: number, k = 5): Uint8Array => dilate(erode(m, w, h, k), w, h, k);
/** Closing: dilation then erosion (fills holes smaller than the kernel). */
export const close = (m: Uint8Array, w: number, h: number, k = 5): Uint8Array => erode(dilate(m, w, h, k), w, h, k);

/** Bilinear resize of `c`-channel uint8 data (OpenCV INTER_LINEAR sample positions), rounded. */
export function resizeLinear(data: Uint8Array, w: number, h: number, c: number, ow: number, oh: number): Uint8Array {
  if (ow === w && oh === h) return data;
  const out = new Uint8Array(ow * oh * c);
  const sx = w / ow;
  const sy = h / oh;
  const axis = (d: number, s: number, n: number): [number, number, number] => {
    let f = (d + 0.5) * s - 0.5;
    if (f < 0) f = 0;
    let i = Math.floor(f);
    if (i >= n - 1) return [n - 1, n - 1, 0];
    const t = f - i;
    return [i, i + 1, t];
  };
  for (let y = 0; y < oh; y++) {
    const [y0, y1, ty] = axis(y, sy, h);
    for (let x = 0; x < ow; x++) {
      const [x0, x1, tx] = axis(x, sx, w);
      for (let ch = 0; ch < c; ch++) {
        const a = data[(y0 * w + x0) * c + ch];
        const b = data[(y0 * w + x1) * c + ch];
        const cc = data[(y1 * w + x0) * c + ch];
        const dd = data[(y1 * w + x1) * c + ch];
        const v = (1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * cc + tx * dd);
        out[(y * ow + x) * c + ch] = Math.round(v);
      }
    }
  }
  return out;
}
