// Dense optical flow by polynomial expansion, coarse to fine: G. Farnebäck, "Two-Frame Motion
// Estimation Based on Polynomial Expansion", SCIA 2003. Each pixel's neighbourhood is fitted
// with f(x) ≈ xᵀAx + bᵀx + c (Gaussian-weighted least squares, separable correlations); a
// displacement d of the signal gives b₂ = b₁ − 2A d, solved in a box window for d, iterated
// with the current estimate (A = (A₁(x) + A₂(x+d̃))/2, Δb = −½(b₂(x+d̃) − b₁(x)) + A d̃) on a
// pyramid. The solve is damped towards the current estimate, so textureless regions keep the
// coarse-level motion instead of collapsing to zero.
import type { Frame } from '../data/video.js';
import { bilerp, bilinearCell, boxFilter, downsample, luma, newCell, resizeFlow, type Flow, type Plane } from './warp.js';

export interface FarnebackOptions {
  /** Max pyramid levels (coarsest side stays ≥ minSide). */
  levels: number;
  minSide: number;
  /** Polynomial expansion neighbourhood: radius n and Gaussian σ. */
  polyN: number;
  polySigma: number;
  /** Radius of the box window that pools the displacement equations (OpenCV's default window kind). */
  windowRadius: number;
  /** Iterations per pyramid level. */
  iterations: number;
  /** Damping towards the current estimate, relative to the mean structure energy. */
  damping: number;
}

export const FARNEBACK_DEFAULTS: FarnebackOptions = { levels: 5, minSide: 12, polyN: 3, polySigma: 1.2, windowRadius: 5, iterations: 3, damping: 1e-3 };

/** Polynomial expansion of one plane: A = [[a11, a12], [a12, a22]], b = [b1, b2] per pixel. (H, W) each. */
export interface Expansion {
  width: number;
  height: number;
  a11: Float32Array;
  a12: Float32Array;
  a22: Float32Array;
  b1: Float32Array;
  b2: Float32Array;
}

/** The per-frame work, done once per frame and shared by every pair that frame is in. */
export interface PreparedFrame {
  levels: Expansion[];
}

function correlate1d(src: Float32Array, w: number, h: number, k: Float32Array, vertical: boolean): Float32Array {
  const r = (k.length - 1) >> 1;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) {
        const xx = vertical ? x : Math.min(w - 1, Math.max(0, x + t));
        const yy = vertical ? Math.min(h - 1, Math.max(0, y + t)) : y;
        acc += k[t + r] * src[yy * w + xx];
      }
      out[y * w + x] = acc;
    }
  return out;
}

/** Fit the quadratic model to every pixel's neighbourhood (Farnebäck 2003, §2; separable form). */
export function polyExpand(p: Plane, n: number, sigma: number): Expansion {
  const { width: w, height: h } = p;
  const g0 = new Float32Array(2 * n + 1);
  const g1 = new Float32Array(2 * n + 1);
  const g2 = new Float32Array(2 * n + 1);
  let s0 = 0;
  let s2 = 0;
  let s4 = 0;
  for (let t = -n; t <= n; t++) {
    const g = Math.exp((-t * t) / (2 * sigma * sigma));
    g0[t + n] = g;
    g1[t + n] = t * g;
    g2[t + n] = t * t * g;
    s0 += g;
    s2 += t * t * g;
    s4 += t * t * t * t * g;
  }
  // Gram matrix of the basis {1, x, y, x², y², xy} under the separable weight g(x)g(y).
  const m0 = s0 * s0;
  const m2 = s0 * s2;
  const m4 = s0 * s4;
  const m22 = s2 * s2;
  // Inverse of the coupled block [[m0, m2, m2], [m2, m4, m22], [m2, m22, m4]] rows for x², y².
  const M = [
    [m0, m2, m2],
    [m2, m4, m22],
    [m2, m22, m4],
  ];
  const inv = invert3(M);
  const v0 = correlate1d(p.data, w, h, g0, true);
  const v1 = correlate1d(p.data, w, h, g1, true);
  const v2 = correlate1d(p.data, w, h, g2, true);
  const c1 = correlate1d(v0, w, h, g0, false);
  const cx = correlate1d(v0, w, h, g1, false);
  const cxx = correlate1d(v0, w, h, g2, false);
  const cy = correlate1d(v1, w, h, g0, false);
  const cxy = correlate1d(v1, w, h, g1, false);
  const cyy = correlate1d(v2, w, h, g0, false);
  const N = w * h;
  const e: Expansion = { width: w, height: h, a11: new Float32Array(N), a12: new Float32Array(N), a22: new Float32Array(N), b1: new Float32Array(N), b2: new Float32Array(N) };
  for (let i = 0; i < N; i++) {
    e.b1[i] = cx[i] / m2;
    e.b2[i] = cy[i] / m2;
    e.a12[i] = cxy[i] / m22 / 2;
    e.a11[i] = inv[1][0] * c1[i] + inv[1][1] * cxx[i] + inv[1][2] * cyy[i];
    e.a22[i] = inv[2][0] * c1[i] + inv[2][1] * cxx[i] + inv[2][2] * cyy[i];
  }
  return e;
}

function invert3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}

/** Build the luma pyramid of a frame and expand every level (finest first). */
export function prepareFrame(f: Frame | Plane, o: FarnebackOptions = FARNEBACK_DEFAULTS): PreparedFrame {
  let p: Plane = 'data' in f && f.data instanceof Float32Array ? (f as Plane) : luma(f as Frame);
  const levels: Expansion[] = [polyExpand(p, o.polyN, o.polySigma)];
  while (levels.length < o.levels && Math.min(Math.ceil(p.width / 2), Math.ceil(p.height / 2)) >= o.minSide) {
    p = downsample(p);
    levels.push(polyExpand(p, o.polyN, o.polySigma));
  }
  return { levels };
}

/** One Farnebäck iteration at one level, updating (u, v) in place. */
function refine(e1: Expansion, e2: Expansion, u: Float32Array, v: Float32Array, r: number, damping: number): void {
  const { width: w, height: h } = e1;
  const N = w * h;
  const G11 = new Float32Array(N);
  const G12 = new Float32Array(N);
  const G22 = new Float32Array(N);
  const H1 = new Float32Array(N);
  const H2 = new Float32Array(N);
  const cell = newCell();
  let energy = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const X = x + u[i];
      const Y = y + v[i];
      // Points carried outside the image have no partner: they contribute nothing (damping holds them).
      if (X < -0.5 || Y < -0.5 || X > w - 0.5 || Y > h - 0.5) continue;
      bilinearCell(X, Y, w, h, cell);
      const a11 = 0.5 * (e1.a11[i] + bilerp(e2.a11, cell));
      const a12 = 0.5 * (e1.a12[i] + bilerp(e2.a12, cell));
      const a22 = 0.5 * (e1.a22[i] + bilerp(e2.a22, cell));
      const db1 = -0.5 * (bilerp(e2.b1, cell) - e1.b1[i]) + a11 * u[i] + a12 * v[i];
      const db2 = -0.5 * (bilerp(e2.b2, cell) - e1.b2[i]) + a12 * u[i] + a22 * v[i];
      G11[i] = a11 * a11 + a12 * a12;
      G12[i] = a12 * (a11 + a22);
      G22[i] = a12 * a12 + a22 * a22;
      H1[i] = a11 * db1 + a12 * db2;
      H2[i] = a12 * db1 + a22 * db2;
      energy += G11[i] + G22[i];
    }
  const tmp = new Float32Array(N);
  boxFilter(G11, w, h, r, G11, tmp);
  boxFilter(G12, w, h, r, G12, tmp);
  boxFilter(G22, w, h, r, G22, tmp);
  boxFilter(H1, w, h, r, H1, tmp);
  boxFilter(H2, w, h, r, H2, tmp);
  const lambda = damping * (energy / N) + 1e-12;
  for (let i = 0; i < N; i++) {
    const g11 = G11[i] + lambda;
    const g22 = G22[i] + lambda;
    const g12 = G12[i];
    const r1 = H1[i] + lambda * u[i];
    const r2 = H2[i] + lambda * v[i];
    const det = g11 * g22 - g12 * g12;
    u[i] = (g22 * r1 - g12 * r2) / det;
    v[i] = (g11 * r2 - g12 * r1) / det;
  }
}

/** Flow from prepared frame A to prepared frame B. */
export function flowPrepared(a: PreparedFrame, b: PreparedFrame, o: FarnebackOptions = FARNEBACK_DEFAULTS): Flow {
  const L = Math.min(a.levels.length, b.levels.length);
  let flow: Flow | null = null;
  for (let l = L - 1; l >= 0; l--) {
    const e1 = a.levels[l];
    const e2 = b.levels[l];
    const f: Flow = flow ? resizeFlow(flow, e1.width, e1.height) : { width: e1.width, height: e1.height, u: new Float32Array(e1.width * e1.height), v: new Float32Array(e1.width * e1.height) };
    for (let k = 0; k < o.iterations; k++) refine(e1, e2, f.u, f.v, o.windowRadius, o.damping);
    flow = f;
  }
  return flow as Flow;
}

/** Dense flow from frame A to frame B: pixel x of A is found at x + flow(x) in B. */
export function farneback(a: Frame | Plane, b: Frame | Plane, o: Partial<FarnebackOptions> = {}): Flow {
  const opts = { ...FARNEBACK_DEFAULTS, ...o };
  return flowPrepared(prepareFrame(a, opts), prepareFrame(b, opts), opts);
}
