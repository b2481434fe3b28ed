// Image resizing for network preprocessing: separable bilinear or bicubic (Keys kernel, a = −0.75,
// as PyTorch's `interpolate(mode='bicubic')`), half-pixel centres, no antialiasing (VBench uses
// torchvision Resize(antialias=False)), edge clamped; plus shorter-side resize and centre crop
// (torchvision Resize(int) / CenterCrop semantics).
import type { Frame } from '../data/video.js';

export type ResizeKernel = 'bilinear' | 'bicubic';

function cubic(x: number, a = -0.75): number {
  x = Math.abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** Per output index: source indices and weights along one axis. */
function taps(inSize: number, outSize: number, kernel: ResizeKernel): { idx: Int32Array; wts: Float32Array; k: number } {
  const k = kernel === 'bilinear' ? 2 : 4;
  const idx = new Int32Array(outSize * k);
  const wts = new Float32Array(outSize * k);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    const f = Math.floor(src);
    const t = src - f;
    for (let j = 0; j < k; j++) {
      const off = kernel === 'bilinear' ? j : j - 1;
      const w = kernel === 'bilinear' ? (j === 0 ? 1 - t : t) : cubic(t - off);
      idx[o * k + j] = Math.min(inSize - 1, Math.max(0, f + off));
      wts[o * k + j] = w;
    }
  }
  return { idx, wts, k };
}

/** Resize an interleaved (H, W, C) float image to (outH, outW, C). */
export function resizeImage(src: Float32Array | Uint8Array, w: number, h: number, c: number, outW: number, outH: number, kernel: ResizeKernel = 'bilinear'): Float32Array {
  const tx = taps(w, outW, kernel);
  const ty = taps(h, outH, kernel);
  const tmp = new Float32Array(h * outW * c); // (H, outW, C)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < outW; x++)
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let j = 0; j < tx.k; j++) acc += tx.wts[x * tx.k + j] * src[(y * w + tx.idx[x * tx.k + j]) * c + ch];
        tmp[(y * outW + x) * c + ch] = acc;
      }
  const out = new Float32Array(outH * outW * c);
  for (let y = 0; y < outH; y++)
    for (let j = 0; j < ty.k; j++) {
      const wy = ty.wts[y * ty.k + j];
      const row = ty.idx[y * ty.k + j] * outW * c;
      const orow = y * outW * c;
      for (let q = 0; q < outW * c; q++) out[orow + q] += wy * tmp[row + q];
    }
  return out;
}

/** torchvision Resize(size: int): the shorter side becomes `size`, the other int(size · long/short). */
export function shorterSide(w: number, h: number, size: number): [number, number] {
  return w <= h ? [size, Math.floor((size * h) / w)] : [Math.floor((size * w) / h), size];
}

/** Centre crop of an (H, W, C) image to (ch, cw) (torchvision CenterCrop rounding). */
export function centerCrop(src: Float32Array, w: number, h: number, c: number, cw: number, ch: number): Float32Array {
  const top = Math.round((h - ch) / 2);
  const left = Math.round((w - cw) / 2);
  const out = new Float32Array(cw * ch * c);
  for (let y = 0; y < ch; y++) out.set(src.subarray(((top + y) * w + left) * c, ((top + y) * w + left + cw) * c), y * cw * c);
  return out;
}

/** A frame as float RGB (H, W, 3) in 0..255, resized. */
export function resizeFrame(f: Frame, outW: number, outH: number, kernel: ResizeKernel = 'bilinear'): Float32Array {
  if (f.width === outW && f.height === outH) return Float32Array.from(f.data);
  return resizeImage(f.data, f.width, f.height, 3, outW, outH, kernel);
}
