// Hard scene-cut detection for ingest: a cut is declared before frame t when the mean absolute
// difference between frames t−1 and t (over RGB, 0..255) is both above an absolute floor and
// more than `threshold` times the running median of the differences inside the current shot.
// The running median makes the test adaptive: fast but continuous motion raises the baseline,
// so only a sudden jump far above the shot's usual change counts (the classic "pixel difference
// with adaptive threshold" detector; cf. PySceneDetect's ContentDetector/AdaptiveDetector).
import type { Frame } from './video.js';

export interface CutOptions {
  /** Ratio to the running median of in-shot differences (default 3). */
  threshold?: number;
  /** Absolute floor on the mean abs difference in 0..255 levels (default 12). */
  minDiff?: number;
  /** How many recent in-shot differences the median looks at (default 24). */
  window?: number;
}

/** Mean |a − b| over all channels, sampled on a grid of at most ~96×96 pixels. */
export function frameDifference(a: Frame, b: Frame): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error('frameDifference: frames differ in size');
  const sx = Math.max(1, Math.floor(a.width / 96));
  const sy = Math.max(1, Math.floor(a.height / 96));
  let sum = 0;
  let n = 0;
  for (let y = 0; y < a.height; y += sy) {
    for (let x = 0; x < a.width; x += sx) {
      const o = (y * a.width + x) * 3;
      sum += Math.abs(a.data[o] - b.data[o]) + Math.abs(a.data[o + 1] - b.data[o + 1]) + Math.abs(a.data[o + 2] - b.data[o + 2]);
      n += 3;
    }
  }
  return sum / n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Streaming detector: feed frames in order; `push` says whether a cut lies just before this frame. */
export class CutDetector {
  private prev: Frame | null = null;
  private history: number[] = [];
  private readonly threshold: number;
  private readonly minDiff: number;
  private readonly window: number;
  /** Differences seen, for diagnostics: diffs[t] is between frames t−1 and t (diffs[0] = 0). */
  readonly diffs: number[] = [];

  constructor(opts: CutOptions = {}) {
    this.threshold = opts.threshold ?? 3;
    this.minDiff = opts.minDiff ?? 12;
    this.window = opts.window ?? 24;
  }

  push(frame: Frame): boolean {
    const prev = this.prev;
    this.prev = frame;
    if (!prev) {
      this.diffs.push(0);
      return false;
    }
    const d = frameDifference(prev, frame);
    this.diffs.push(d);
    // With no in-shot history yet, the floor alone decides (scaled so a lone jump still must be large).
    const base = this.history.length ? median(this.history) : this.minDiff / this.threshold;
    const cut = d > this.minDiff && d > this.threshold * Math.max(base, 1);
    if (cut) this.history = [];
    else {
      this.history.push(d);
      if (this.history.length > this.window) this.history.shift();
    }
    return cut;
  }
}
