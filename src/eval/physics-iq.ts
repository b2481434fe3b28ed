// Physics-IQ metrics (Motamed et al. 2025, "Do generative video models understand physical
// principles?"), following the definitions of the published benchmark code
// (github.com/google-deepmind/physics-IQ-benchmark: binary_mask_generator.py,
// calculate_and_write_metrics_to_csv.py, calculate_iq_score.py); re-implemented here.
//
// Motion mask per frame: grey → 5x5 Gaussian blur → running background bg ← 0.7·bg + 0.3·g
// (updated before the difference, bg starts at frame 0, compared after rounding to uint8) →
// |g − bg| > 10 → open then close with a 5x5 square → binary; frame 0's mask is empty.
// Masks and frames are then resized to 1/`downscale` (bilinear; masks re-binarised at > 127).
//   Spatial IoU          IoU of the masks OR-ed over time.
//   Spatiotemporal IoU   per-frame IoU (1 when both are empty), averaged over frames.
//   Weighted spatial IoU Σmin/Σmax of the per-pixel fraction of frames in motion (1 when both empty).
//   MSE                  per-frame mean squared error of RGB in [0, 1], averaged over frames.
// Physical variance: the same four numbers between two real takes (real vs real-b). The
// Physics-IQ score = 100 · clip( mean(stIoU/var_st, sIoU/var_s, wIoU/var_w) − (MSE − var_mse), 0, 1 ).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readVideo, VIDEO_EXTS, type Frame } from '../data/video.js';
import { FileError, FlagError, SpacetimeError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { close, gaussianBlur5, open, resizeLinear, toGray } from './morphology.js';

export interface MotionMaskOptions {
  /** |g − bg| threshold in grey levels (benchmark: 10). */
  threshold?: number;
  /** Running-average weight of the new frame (benchmark: 0.3). */
  alpha?: number;
}

/** One binary mask per frame (values 0/1), W·H each. */
export function motionMasks(frames: readonly Frame[], opts: MotionMaskOptions = {}): Uint8Array[] {
  const thr = opts.threshold ?? 10;
  const alpha = opts.alpha ?? 0.3;
  if (frames.length === 0) return [];
  const { width: w, height: h } = frames[0];
  const masks: Uint8Array[] = [new Uint8Array(w * h)];
  const g0 = gaussianBlur5(toGray(frames[0])).data;
  const bg = Float64Array.from(g0);
  for (let t = 1; t < frames.length; t++) {
    const g = gaussianBlur5(toGray(frames[t])).data;
    const m = new Uint8Array(w * h);
    for (let i = 0; i < g.length; i++) {
      bg[i] = (1 - alpha) * bg[i] + alpha * g[i];
      const b = Math.min(255, Math.round(bg[i]));
      m[i] = Math.abs(g[i] - b) > thr ? 1 : 0;
    }
    masks.push(close(open(m, w, h, 5), w, h, 5));
  }
  return masks;
}

/** Resize a binary mask (0/1) like the benchmark: as a 0/255 image, bilinear, then > 127. */
export function resizeMask(m: Uint8Array, w: number, h: number, ow: number, oh: number): Uint8Array {
  if (ow === w && oh === h) return m;
  const img = new Uint8Array(m.length);
  for (let i = 0; i < m.length; i++) img[i] = m[i] ? 255 : 0;
  const r = resizeLinear(img, w, h, 1, ow, oh);
  const out = new Uint8Array(r.length);
  for (let i = 0; i < r.length; i++) out[i] = r[i] > 127 ? 1 : 0;
  return out;
}

/** IoU of two binary masks; 1 when both are empty. */
export function maskIoU(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** OR of masks over time. */
export function spatialMask(masks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(masks[0]?.length ?? 0);
  for (const m of masks) for (let i = 0; i < m.length; i++) if (m[i]) out[i] = 1;
  return out;
}

/** Fraction of frames in which each pixel is in motion. */
export function weightedSpatialMask(masks: readonly Uint8Array[]): Float64Array {
  const out = new Float64Array(masks[0]?.length ?? 0);
  for (const m of masks) for (let i = 0; i < m.length; i++) out[i] += m[i];
  for (let i = 0; i < out.length; i++) out[i] /= Math.max(1, masks.length);
  return out;
}

/** Σ min / Σ max of two weighted masks over pixels moving in either; 1 when neither moves. */
export function weightedIoU(a: Float64Array, b: Float64Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += Math.min(a[i], b[i]);
    union += Math.max(a[i], b[i]);
  }
  return union === 0 ? 1 : inter / union;
}

/** Per-frame IoU. */
export function spatiotemporalIoU(a: readonly Uint8Array[], b: readonly Uint8Array[]): number[] {
  return a.map((m, t) => maskIoU(m, b[t]));
}

/** Per-frame MSE of RGB scaled to [0, 1]. */
export function msePerFrame(a: readonly Uint8Array[], b: readonly Uint8Array[]): number[] {
  return a.map((x, t) => {
    const y = b[t];
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      const d = (x[i] - y[i]) / 255;
      s += d * d;
    }
    return s / x.length;
  });
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** The four Physics-IQ numbers between two clips. */
export interface PhysicsIQMetrics {
  spatial_iou: number;
  spatiotemporal_iou: number;
  weighted_spatial_iou: number;
  mse: number;
}

interface Prepared {
  masks: Uint8Array[];
  rgb: Uint8Array[];
}

export interface CompareOptions extends MotionMaskOptions {
  /** Masks and frames are compared at 1/downscale of the real video's size (benchmark: 4). */
  downscale?: number;
}

function prepare(frames: readonly Frame[], n: number, ow: number, oh: number, opts: MotionMaskOptions): Prepared {
  const used = frames.slice(0, n);
  const { width: w, height: h } = used[0];
  const masks = motionMasks(used, opts).map((m) => resizeMask(m, w, h, ow, oh));
  const rgb = used.map((f) => resizeLinear(f.data, w, h, 3, ow, oh));
  return { masks, rgb };
}

function metricsOf(a: Prepared, b: Prepared): PhysicsIQMetrics {
  return {
    spatial_iou: maskIoU(spatialMask(a.masks), spatialMask(b.masks)),
    spatiotemporal_iou: mean(spatiotemporalIoU(a.masks, b.masks)),
    weighted_spatial_iou: weightedIoU(weightedSpatialMask(a.masks), weightedSpatialMask(b.masks)),
    mse: mean(msePerFrame(a.rgb, b.rgb)),
  };
}

export interface PhysicsIQPairResult extends PhysicsIQMetrics {
  frames: number;
  width: number;
  height: number;
  /** Real take vs second real take: the physical variance of each metric (when a second take is given). */
  variance?: PhysicsIQMetrics;
}

/**
 * Compare a generated continuation with the real one (and the real one with a second real take,
 * when given). The clips are cut to their common length; the generated clip is resized to the
 * real clip's size before masks are computed, so both masks see the same geometry.
 */
export async function comparePhysicsIQ(generated: readonly Frame[], real: readonly Frame[], realB?: readonly Frame[], opts: CompareOptions = {}): Promise<PhysicsIQPairResult> {
  if (!generated.length || !real.length || (realB && !realB.length)) throw new SpacetimeError('physics-iq: empty clip');
  const n = Math.min(generated.length, real.length, realB?.length ?? Infinity);
  const { width: w, height: h } = real[0];
  const ds = Math.max(1, opts.downscale ?? 4);
  const ow = Math.max(1, Math.floor(w / ds));
  const oh = Math.max(1, Math.floor(h / ds));
  const fit = (fs: readonly Frame[]): Frame[] =>
    fs.slice(0, n).map((f) => (f.width === w && f.height === h ? f : { width: w, height: h, data: resizeLinear(f.data, f.width, f.height, 3, w, h) }));
  const pg = prepare(fit(generated), n, ow, oh, opts);
  const pr = prepare(real, n, ow, oh, opts);
  const out: PhysicsIQPairResult = { frames: n, width: ow, height: oh, ...metricsOf(pr, pg) };
  if (realB) out.variance = metricsOf(pr, prepare(fit(realB), n, ow, oh, opts));
  return out;
}

/**
 * The Physics-IQ score over a set of scenarios (calculate_iq_score.py): each IoU mean divided by
 * its physical-variance mean, averaged over the three, minus (MSE − variance MSE), ×100, clipped
 * to [0, 100]. Null when no scenario has a second real take.
 */
export function physicsIQScore(rows: readonly PhysicsIQPairResult[]): number | null {
  const withVar = rows.filter((r) => r.variance);
  if (!withVar.length || withVar.length !== rows.length) return null;
  const m = (f: (r: PhysicsIQPairResult) => number) => mean(withVar.map(f));
  const vs = m((r) => r.variance!.spatial_iou);
  const vst = m((r) => r.variance!.spatiotemporal_iou);
  const vw = m((r) => r.variance!.weighted_spatial_iou);
  const ratio = (x: number, v: number) => (v > 0 ? x / v : x > 0 ? Infinity : 1);
  const iouPart = (ratio(m((r) => r.spatiotemporal_iou), vst) + ratio(m((r) => r.spatial_iou), vs) + ratio(m((r) => r.weighted_spatial_iou), vw)) / 3;
  const score = 100 * (iouPart - (m((r) => r.mse) - m((r) => r.variance!.mse)));
  return Math.round(Math.max(0, Math.min(100, score)) * 100) / 100;
}

export interface PhysicsIQRunOptions extends CompareOptions {
  generated: string;
  real: string;
  realB?: string;
}

export interface PhysicsIQReport {
  videos: (PhysicsIQPairResult & { name: string; generated: string; real: string; real_b?: string })[];
  mean: PhysicsIQMetrics;
  variance: PhysicsIQMetrics | null;
  physics_iq_score: number | null;
}

async function listVideos(dir: string, flag: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    throw new FlagError(flag, `${dir}: no such directory`);
  }
  const out = new Map<string, string>();
  for (const n of names.sort()) {
    const ext = path.extname(n).toLowerCase();
    if ((VIDEO_EXTS as readonly string[]).includes(ext)) out.set(path.basename(n, path.extname(n)), path.join(dir, n));
  }
  if (!out.size) throw new FlagError(flag, `${dir}: no videos (${VIDEO_EXTS.join(' ')})`);
  return out;
}

/** Pair generated and real videos by file stem and score every pair. */
export async function runPhysicsIQ(o: PhysicsIQRunOptions): Promise<PhysicsIQReport> {
  const gen = await listVideos(o.generated, '--generated');
  const real = await listVideos(o.real, '--real');
  const realB = o.realB ? await listVideos(o.realB, '--real-b') : undefined;
  for (const name of gen.keys()) {
    if (!real.has(name)) throw new FileError(gen.get(name)!, `no real video named '${name}.*' in ${o.real}`);
    if (realB && !realB.has(name)) throw new FileError(gen.get(name)!, `no second real take named '${name}.*' in ${o.realB}`);
  }
  const bar = new Progress('physics-iq', gen.size);
  const videos: PhysicsIQReport['videos'] = [];
  for (const [name, g] of gen) {
    const r = real.get(name)!;
    const rb = realB?.get(name);
    const [fg, fr, fb] = await Promise.all([readVideo(g), readVideo(r), rb ? readVideo(rb) : Promise.resolve(undefined)]);
    const res = await comparePhysicsIQ(fg.frames, fr.frames, fb?.frames, o);
    videos.push({ name, generated: g, real: r, ...(rb ? { real_b: rb } : {}), ...res });
    bar.tick();
  }
  bar.finish();
  const avg = (f: (m: PhysicsIQMetrics) => number, xs: PhysicsIQMetrics[]) => mean(xs.map(f));
  const summary = (xs: PhysicsIQMetrics[]): PhysicsIQMetrics => ({
    spatial_iou: avg((m) => m.spatial_iou, xs),
    spatiotemporal_iou: avg((m) => m.spatiotemporal_iou, xs),
    weighted_spatial_iou: avg((m) => m.weighted_spatial_iou, xs),
    mse: avg((m) => m.mse, xs),
  });
  const vars = videos.flatMap((v) => (v.variance ? [v.variance] : []));
  return { videos, mean: summary(videos), variance: vars.length ? summary(vars) : null, physics_iq_score: physicsIQScore(videos) };
}
