// Temporal-consistency metrics as pure functions of frames, flows and features.
//  - flicker, motion_smoothness, dynamic_degree, subject/background_consistency follow VBench
//    (Huang et al., "VBench: Comprehensive Benchmark Suite for Video Generative Models", CVPR 2024)
//    and its code (vbench/temporal_flickering.py, motion_smoothness.py, dynamic_degree.py,
//    subject_consistency.py). Motion smoothness replaces VBench's AMT interpolator by a flow-based
//    one (Super SloMo intermediate-flow approximation, Jiang et al., CVPR 2018).
//  - warp_error follows Lai et al., "Learning Blind Video Temporal Consistency", ECCV 2018, and its
//    released evaluation code (evaluate_WarpError.py, utils.detect_occlusion), occlusion test of
//    Ruder et al. 2016.
// Frames are 8-bit RGB (H, W, 3); flows are in pixels.
import type { Frame } from '../data/video.js';
import { SpacetimeError } from '../util/errors.js';
import { sampleBilinear, warpImage, type Flow } from './warp.js';

/** VBench temporal_flickering: MAE_i = mean |f_i − f_{i+1}| over H×W×3 (0..255); score = (255 − mean_i MAE_i)/255. */
export function flicker(frames: readonly Frame[]): { score: number; maes: number[] } | null {
  if (frames.length < 2) return null;
  const maes: number[] = [];
  for (let i = 0; i + 1 < frames.length; i++) {
    const a = frames[i].data;
    const b = frames[i + 1].data;
    if (a.length !== b.length) throw new SpacetimeError(`frame ${i + 1} differs in size from frame ${i}`);
    let s = 0;
    for (let k = 0; k < a.length; k++) s += Math.abs(a[k] - b[k]);
    maes.push(s / a.length);
  }
  return { score: (255 - mean(maes)) / 255, maes };
}

/**
 * Occlusion mask of Lai et al. (utils.detect_occlusion, called with the backward flow warped by
 * the forward one), in the coordinates of frame t where F = flow t→t+1, B = flow t+1→t:
 *   occluded if |F(x) + B(x+F(x))|² > 0.01 (|F(x)|² + |B(x+F(x))|²) + 0.5          (consistency)
 *   or |∇F_u|² + |∇F_v|² > 0.01 |F(x)|² + 0.002                                     (motion boundary)
 * with forward differences f(x) − f(x+1) (zero on the last row/column). Returns 1 = occluded.
 */
export function occlusionMask(F: Flow, B: Flow): Uint8Array {
  const { width: w, height: h } = F;
  const occ = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const fu = F.u[i];
      const fv = F.v[i];
      const bu = sampleBilinear(B.u, w, h, x + fu, y + fv);
      const bv = sampleBilinear(B.v, w, h, x + fu, y + fv);
      const sum = (fu + bu) ** 2 + (fv + bv) ** 2;
      const magF = fu * fu + fv * fv;
      const magB = bu * bu + bv * bv;
      const inconsistent = sum > 0.01 * (magF + magB) + 0.5;
      const ux = x + 1 < w ? F.u[i] - F.u[i + 1] : 0;
      const uy = y + 1 < h ? F.u[i] - F.u[i + w] : 0;
      const vx = x + 1 < w ? F.v[i] - F.v[i + 1] : 0;
      const vy = y + 1 < h ? F.v[i] - F.v[i + w] : 0;
      const boundary = ux * ux + uy * uy + vx * vx + vy * vy > 0.01 * magF + 0.002;
      occ[i] = inconsistent || boundary ? 1 : 0;
    }
  return occ;
}

/**
 * Warping error of one pair (Lai et al. 2018, Eq. 11, the formula the project specifies): frame
 * t+1 warped back to t by the forward flow (bilinear), RGB in [0, 1], over non-occluded pixels M:
 *   E = Σ_x M(x)·‖f_t(x) − ŵ(f_{t+1})(x)‖² / Σ_x M(x),   ‖·‖² summed over the 3 channels
 * (all-occluded → the sum is divided by H·W). Lai et al.'s released evaluation code reads the
 * mask as a 3-channel image and so reports one third of this value; divide by 3 to compare.
 * Lai et al. take the flow from the unprocessed source video; for generated videos there is none,
 * so the flow comes from the evaluated video itself. Regions where that flow fails the
 * forward–backward test (e.g. an object that teleports) are masked as occluded, not penalised.
 */
export function pairWarpError(ft: Frame, ft1: Frame, F: Flow, B: Flow): { error: number; visible: number } {
  const n = ft.width * ft.height;
  const warped = warpImage(Float32Array.from(ft1.data), 3, F).data; // 0..255, scaled to [0, 1] below
  const occ = occlusionMask(F, B);
  let s = 0;
  let N = 0;
  for (let i = 0; i < n; i++) {
    if (occ[i]) continue;
    N += 1;
    for (let c = 0; c < 3; c++) {
      const d = (ft.data[3 * i + c] - warped[3 * i + c]) / 255;
      s += d * d;
    }
  }
  return { error: s / (N === 0 ? n : N), visible: N / n };
}

/** Mean over consecutive pairs of the Lai et al. warping error; fw[i] = flow i→i+1, bw[i] = flow i+1→i. */
export function warpError(frames: readonly Frame[], fw: readonly Flow[], bw: readonly Flow[]): { error: number; perPair: number[] } | null {
  if (frames.length < 2) return null;
  const perPair = fw.map((F, i) => pairWarpError(frames[i], frames[i + 1], F, bw[i]).error);
  return { error: mean(perPair), perPair };
}

/**
 * The frame halfway between a and b from bidirectional flow (Super SloMo approximation at t = ½:
 * F_{t→0} = ¼(F_{1→0} − F_{0→1}), F_{t→1} = ¼(F_{0→1} − F_{1→0})), both warps averaged where they
 * land inside the image, rounded to 8 bits like VBench's tensor2img.
 */
export function interpolateMidpoint(a: Frame, b: Frame, Fab: Flow, Fba: Flow): Frame {
  const { width: w, height: h } = a;
  const n = w * h;
  const Ft0: Flow = { width: w, height: h, u: new Float32Array(n), v: new Float32Array(n) };
  const Ft1: Flow = { width: w, height: h, u: new Float32Array(n), v: new Float32Array(n) };
  for (let i = 0; i < n; i++) {
    Ft0.u[i] = 0.25 * (Fba.u[i] - Fab.u[i]);
    Ft0.v[i] = 0.25 * (Fba.v[i] - Fab.v[i]);
    Ft1.u[i] = -Ft0.u[i];
    Ft1.v[i] = -Ft0.v[i];
  }
  const fa = Float32Array.from(a.data);
  const fb = Float32Array.from(b.data);
  const wa = warpImage(fa, 3, Ft0);
  const wb = warpImage(fb, 3, Ft1);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const ka = wa.inside[i] || !wb.inside[i] ? 1 : 0;
    const kb = wb.inside[i] || !wa.inside[i] ? 1 : 0;
    for (let c = 0; c < 3; c++) {
      const v = (ka * wa.data[3 * i + c] + kb * wb.data[3 * i + c]) / (ka + kb);
      out[3 * i + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { width: w, height: h, data: out };
}

/** Odd frames that VBench predicts: i = 1, 3, … with i + 1 < n (needs n ≥ 3). */
export function smoothnessTargets(n: number): number[] {
  const out: number[] = [];
  for (let i = 1; i + 1 < n; i += 2) out.push(i);
  return out;
}

/**
 * VBench motion_smoothness with our interpolator: each odd frame i is predicted from frames
 * i−1 and i+1; score = (255 − mean_i mean|pred_i − f_i|)/255 over H×W×3. `flows[k]` holds
 * [flow (i−1)→(i+1), flow (i+1)→(i−1)] for the k-th target of smoothnessTargets.
 */
export function motionSmoothness(frames: readonly Frame[], flows: readonly [Flow, Flow][]): { score: number; maes: number[] } | null {
  const targets = smoothnessTargets(frames.length);
  if (targets.length === 0) return null;
  const maes = targets.map((i, k) => predictionError(frames[i - 1], frames[i], frames[i + 1], flows[k][0], flows[k][1]));
  return { score: (255 - mean(maes)) / 255, maes };
}

/** mean |pred − f| over H×W×3 (0..255) for the midpoint prediction of `mid` from `prev` and `next`. */
export function predictionError(prev: Frame, mid: Frame, next: Frame, Fpn: Flow, Fnp: Flow): number {
  const pred = interpolateMidpoint(prev, next, Fpn, Fnp);
  let s = 0;
  for (let j = 0; j < mid.data.length; j++) s += Math.abs(pred.data[j] - mid.data[j]);
  return s / mid.data.length;
}

/** Python's round(): halves to even (VBench computes count_num with it). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Mean of the top 5% flow magnitudes (VBench get_score: cut = int(0.05·H·W), at least 1 here). */
export function topMotion(F: Flow): number {
  const n = F.u.length;
  const rad = new Float32Array(n);
  for (let i = 0; i < n; i++) rad[i] = Math.hypot(F.u[i], F.v[i]);
  rad.sort();
  const cut = Math.max(1, Math.floor(n * 0.05));
  let s = 0;
  for (let i = n - cut; i < n; i++) s += rad[i];
  return s / cut;
}

/** VBench's frame sampling for dynamic degree: every round(fps/8)-th frame (fps unknown → every frame). */
export function dynamicStride(fps: number): number {
  return fps > 0 ? Math.max(1, roundHalfEven(fps / 8)) : 1;
}

export interface DynamicDegree {
  dynamic: boolean;
  /** Per sampled pair: mean of the top 5% flow magnitudes (px). */
  pairs: number[];
  threshold: number;
  /** Pairs above threshold needed: round(4 · frames/16). */
  needed: number;
  stride: number;
}

/**
 * VBench dynamic_degree on flows between consecutive *sampled* frames (stride from dynamicStride):
 * thres = max(1, 8/fps) · 6 · min(H, W)/256, count_num = round(4 · n/16) with n the number of
 * sampled frames; dynamic when at least count_num pairs exceed thres.
 */
export function dynamicDegree(flows: readonly Flow[], width: number, height: number, frames: number, fps: number, stride: number): DynamicDegree {
  return dynamicFromPairs(flows.map(topMotion), width, height, frames, fps, stride);
}

/** dynamicDegree from per-pair top-5% magnitudes already computed. */
export function dynamicFromPairs(pairs: readonly number[], width: number, height: number, frames: number, fps: number, stride: number): DynamicDegree {
  const factor = fps > 0 ? Math.max(1, 8 / fps) : 1;
  const threshold = factor * 6 * (Math.min(width, height) / 256);
  const needed = roundHalfEven(4 * (frames / 16));
  const above = pairs.filter((p) => p > threshold).length;
  return { dynamic: above >= needed, pairs: [...pairs], threshold, needed, stride };
}

/** Cosine similarity clipped at 0 (VBench: max(0, F.cosine_similarity(...))). */
export function cosPlus(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new SpacetimeError(`feature lengths differ: ${a.length} vs ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  const d = Math.sqrt(aa) * Math.sqrt(bb);
  return d > 0 ? Math.max(0, ab / d) : 0; // a zero vector scores 0, as torch's normalize + cosine_similarity do
}

/**
 * VBench subject/background consistency: S = 1/(N−1) Σ_{i≥1} ½ [cos⁺(e_{i−1}, e_i) + cos⁺(e_0, e_i)].
 */
export function consistency(features: readonly Float32Array[]): number | null {
  if (features.length < 2) return null;
  let s = 0;
  for (let i = 1; i < features.length; i++) s += 0.5 * (cosPlus(features[i - 1], features[i]) + cosPlus(features[0], features[i]));
  return s / (features.length - 1);
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
