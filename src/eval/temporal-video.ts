// Scores videos with the temporal metrics (temporal.ts): decodes each video, computes the flows
// each metric needs in frame order (forward/backward consecutive flows for warp error and, at
// stride 1, dynamic degree; (i−1)↔(i+1) flows for motion smoothness), extracts features, and assembles
// the stable Eval JSON of DESIGN.md: {"videos":[{path, frames, width, height, flicker,
// motion_smoothness, dynamic_degree, warp_error, subject_consistency, background_consistency,
// ...extras}], "mean":{...}}. A video that fails is reported and the rest are still scored.
import { probeVideo, readVideo, type Frame } from '../data/video.js';
import { FileError, oneLine } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import type { FeatureExtractor } from './features.js';
import type { FlowEstimator } from './flow-source.js';
import { consistency, dynamicFromPairs, dynamicStride, flicker, mean, pairWarpError, predictionError, smoothnessTargets, topMotion } from './temporal.js';

export interface TemporalOptions {
  flow: FlowEstimator;
  subject: FeatureExtractor;
  background: FeatureExtractor;
  /** Decode at most this long a side (aspect kept, even sizes), to bound time and memory on large videos. */
  maxSide?: number;
}

export interface TemporalScores {
  flicker: number | null;
  motion_smoothness: number | null;
  dynamic_degree: boolean | null;
  warp_error: number | null;
  subject_consistency: number | null;
  background_consistency: number | null;
  /** Extras: per-pair dynamic-degree magnitudes (px), the threshold, pairs needed and frame stride. */
  dynamic_pairs: number[];
  dynamic_threshold: number | null;
  dynamic_needed: number | null;
  dynamic_stride: number;
  /** Extras: per-pair flicker MAE (0..255) and warp error. */
  flicker_pairs: number[];
  warp_pairs: number[];
}

export interface TemporalVideo extends TemporalScores {
  path: string;
  frames: number;
  width: number;
  height: number;
  fps: number;
  scored_width: number;
  scored_height: number;
}

export interface TemporalReport {
  videos: TemporalVideo[];
  mean: Record<string, number | null>;
  errors: { path: string; error: string }[];
  /** Which flow and feature models produced the numbers (they are only comparable within one setting). */
  settings: { flow: string; subject_features: string; background_features: string };
}

export const METRICS = ['flicker', 'motion_smoothness', 'dynamic_degree', 'warp_error', 'subject_consistency', 'background_consistency'] as const;

/**
 * Score decoded frames (fps only matters for dynamic degree's sampling, as in VBench). Flows are
 * computed in frame order and dropped once used, so memory stays at a few flow fields whatever
 * the video length.
 */
export async function scoreFrames(frames: readonly Frame[], fps: number, o: TemporalOptions): Promise<TemporalScores> {
  const n = frames.length;
  const stride = dynamicStride(fps);
  const targets = new Set(smoothnessTargets(n));
  const warpPairs: number[] = [];
  const smoothMaes: number[] = [];
  const dynPairs: number[] = [];
  for (let i = 0; i + 1 < n; i++) {
    const F = await o.flow.flow(frames[i], frames[i + 1]);
    const B = await o.flow.flow(frames[i + 1], frames[i]);
    warpPairs.push(pairWarpError(frames[i], frames[i + 1], F, B).error);
    if (stride === 1) dynPairs.push(topMotion(F));
    const t = i; // odd frame t is predicted once frame t + 1 is reached
    if (targets.has(t)) {
      const fab = await o.flow.flow(frames[t - 1], frames[t + 1]);
      const fba = await o.flow.flow(frames[t + 1], frames[t - 1]);
      smoothMaes.push(predictionError(frames[t - 1], frames[t], frames[t + 1], fab, fba));
    }
    if (stride > 1 && (i + 1) % stride === 0) dynPairs.push(topMotion(await o.flow.flow(frames[i + 1 - stride], frames[i + 1])));
  }
  const sampled = Math.floor((n - 1) / stride) + 1;
  const fl = flicker(frames);
  const dd = sampled >= 2 ? dynamicFromPairs(dynPairs, frames[0].width, frames[0].height, sampled, fps, stride) : null;
  const subj = consistency(await o.subject.extract(frames));
  const back = consistency(await o.background.extract(frames));
  return {
    flicker: fl?.score ?? null,
    motion_smoothness: smoothMaes.length ? (255 - mean(smoothMaes)) / 255 : null,
    dynamic_degree: dd?.dynamic ?? null,
    warp_error: warpPairs.length ? mean(warpPairs) : null,
    subject_consistency: subj,
    background_consistency: back,
    dynamic_pairs: dd?.pairs ?? [],
    dynamic_threshold: dd?.threshold ?? null,
    dynamic_needed: dd?.needed ?? null,
    dynamic_stride: stride,
    flicker_pairs: fl?.maes ?? [],
    warp_pairs: warpPairs,
  };
}

/** The decode size for `maxSide`: the longer side scaled to it, both sides even (null = native). */
export function scoredSize(width: number, height: number, maxSide?: number): [number, number] | null {
  if (!maxSide || Math.max(width, height) <= maxSide) return null;
  const k = maxSide / Math.max(width, height);
  return [Math.max(2, 2 * Math.round((width * k) / 2)), Math.max(2, 2 * Math.round((height * k) / 2))];
}

export async function scoreVideo(file: string, o: TemporalOptions): Promise<TemporalVideo> {
  const probe = o.maxSide ? await probeVideo(file) : null;
  const size = probe ? scoredSize(probe.width, probe.height, o.maxSide) : null;
  const { frames, info } = await readVideo(file, size ? { width: size[0], height: size[1] } : {});
  const s = await scoreFrames(frames, info.fps, o);
  // width/height are the video's own; scored_width/height the size the metrics saw.
  return { path: file, frames: frames.length, width: info.width, height: info.height, fps: info.fps, scored_width: frames[0].width, scored_height: frames[0].height, ...s };
}

/** Means over the videos that have each metric; dynamic_degree's mean is the dynamic fraction (as VBench). */
export function meanScores(videos: readonly TemporalScores[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const m of METRICS) {
    const xs = videos.map((v) => v[m]).filter((x): x is number | boolean => x !== null).map(Number);
    out[m] = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  }
  return out;
}

/**
 * Score every video, two at a time (one decodes in ffmpeg while the other computes); failures are
 * collected (and passed to onError) instead of stopping the run. Results keep the input order.
 */
export async function evaluateTemporal(files: readonly string[], o: TemporalOptions, onError?: (path: string, reason: string) => void, concurrency = 2): Promise<TemporalReport> {
  const slots: (TemporalVideo | { path: string; error: string })[] = new Array(files.length);
  const bar = new Progress('eval temporal', files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const k = next++;
      const f = files[k];
      try {
        slots[k] = await scoreVideo(f, o);
      } catch (e) {
        let reason = e instanceof FileError ? e.reason : oneLine(e);
        while (reason.startsWith(`${f}: `)) reason = reason.slice(f.length + 2);
        slots[k] = { path: f, error: reason };
        onError?.(f, reason);
      }
      bar.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  bar.finish();
  const videos = slots.filter((r): r is TemporalVideo => !('error' in r));
  const errors = slots.filter((r): r is { path: string; error: string } => 'error' in r);
  return { videos, mean: meanScores(videos), errors, settings: { flow: o.flow.name, subject_features: o.subject.name, background_features: o.background.name } };
}
