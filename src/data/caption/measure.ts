// What can be measured from raw frames without a learned model, for the builtin captioner on
// videos without ground truth: brightness, dominant colours and their layout (palette names by
// CIELAB distance), global camera shift (exhaustive block matching of luma, median over frame
// pairs), and moving regions (temporal-median background subtraction → 4-connected components →
// greedy nearest-neighbour centroid tracks, colour-gated).
import type { Frame } from '../video.js';
import { colorName, regionWord } from './style.js';
import { blobExtent } from '../../util/blob.js';

export interface Track {
  color: string;
  /** (frame index in the sampled sequence, x, y, area) in original-frame pixels. */
  points: Array<{ t: number; x: number; y: number; area: number }>;
  /** Largest side of the bounding box, original pixels. */
  extent: number;
  /** Mean area / bounding-box area: ≈1 for boxes, ≈π/4 for balls. */
  fill: number;
}

export interface Measurement {
  width: number;
  height: number;
  /** Mean luma in 0..255. */
  brightness: number;
  /** Dominant colours of the background, largest first, with their share and region. */
  colors: Array<{ name: string; share: number; region: string }>;
  /** Median content shift per sampled frame step in original pixels (+x: content moves right). */
  cameraShift: { dx: number; dy: number };
  cameraMoving: boolean;
  tracks: Track[];
  /** Seconds between consecutive sampled frames. */
  step: number;
}

/** Work grid: frames are subsampled so the longer side is at most `maxSide`. */
function downsample(f: Frame, maxSide: number): { w: number; h: number; s: number; rgb: Uint8Array } {
  const s = Math.max(1, Math.ceil(Math.max(f.width, f.height) / maxSide));
  const w = Math.floor(f.width / s);
  const h = Math.floor(f.height / s);
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const si = ((y * s + (s >> 1)) * f.width + x * s + (s >> 1)) * 3;
      rgb[(y * w + x) * 3] = f.data[si];
      rgb[(y * w + x) * 3 + 1] = f.data[si + 1];
      rgb[(y * w + x) * 3 + 2] = f.data[si + 2];
    }
  }
  return { w, h, s, rgb };
}

function luma(rgb: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
  return out;
}

/** Content shift (sx, sy) from a to b minimising mean |a(x) − b(x + s)| over the overlap. */
function bestShift(a: Float32Array, b: Float32Array, w: number, h: number, r: number): [number, number] {
  let best: [number, number] = [0, 0];
  let bestErr = Infinity;
  for (let sy = -r; sy <= r; sy++) {
    for (let sx = -r; sx <= r; sx++) {
      let err = 0;
      let n = 0;
      for (let y = Math.max(0, -sy); y < Math.min(h, h - sy); y++) {
        for (let x = Math.max(0, -sx); x < Math.min(w, w - sx); x++) {
          err += Math.abs(a[y * w + x] - b[(y + sy) * w + x + sx]);
          n++;
        }
      }
      const e = err / Math.max(1, n) + 1e-3 * (Math.abs(sx) + Math.abs(sy)); // prefer no shift on ties
      if (e < bestErr) {
        bestErr = e;
        best = [sx, sy];
      }
    }
  }
  return best;
}

/** Fraction of pixels whose luma changes by more than `thr` between a and b. */
function changedFraction(a: Float32Array, b: Float32Array, thr: number): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > thr) n++;
  return n / Math.max(1, a.length);
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((p, q) => p - q);
  return s[s.length >> 1];
}

/** Connected components (4-neighbour) of a boolean mask; returns per-component pixel lists. */
function components(mask: Uint8Array, w: number, h: number, minArea: number): number[][] {
  const seen = new Uint8Array(w * h);
  const out: number[][] = [];
  const stack: number[] = [];
  for (let i = 0; i < w * h; i++) {
    if (!mask[i] || seen[i]) continue;
    const px: number[] = [];
    seen[i] = 1;
    stack.push(i);
    while (stack.length) {
      const p = stack.pop() as number;
      px.push(p);
      const x = p % w;
      const y = (p - x) / w;
      const nb = [x > 0 ? p - 1 : -1, x + 1 < w ? p + 1 : -1, y > 0 ? p - w : -1, y + 1 < h ? p + w : -1];
      for (const q of nb) {
        if (q >= 0 && mask[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    if (px.length >= minArea) out.push(px);
  }
  return out;
}

/** Mean colours of the quantised colour bins (32 levels per channel) covering at least `minShare` of the image. */
function dominantColors(rgb: Uint8Array, n: number, minShare: number): Array<[number, number, number]> {
  const count = new Map<number, [number, number, number, number]>();
  for (let i = 0; i < n; i++) {
    const k = ((rgb[3 * i] >> 5) << 6) | ((rgb[3 * i + 1] >> 5) << 3) | (rgb[3 * i + 2] >> 5);
    const e = count.get(k) ?? [0, 0, 0, 0];
    e[0]++;
    e[1] += rgb[3 * i];
    e[2] += rgb[3 * i + 1];
    e[3] += rgb[3 * i + 2];
    count.set(k, e);
  }
  return [...count.values()].filter((e) => e[0] >= minShare * n).map((e) => [e[1] / e[0], e[2] / e[0], e[3] / e[0]]);
}

/** Measure a clip from its frames (already sampled in time); `fps` is of the sampled sequence. */
export function measureFrames(frames: readonly Frame[], fps: number, maxSide = 96): Measurement {
  if (frames.length === 0) throw new Error('measureFrames: no frames');
  const W = frames[0].width;
  const H = frames[0].height;
  const small = frames.map((f) => downsample(f, maxSide));
  const { w, h, s } = small[0];
  const n = w * h;
  const lum = small.map((f) => luma(f.rgb, n));
  const brightness = lum.reduce((acc, l) => acc + l.reduce((p, q) => p + q, 0) / n, 0) / lum.length;

  // Camera: median over consecutive pairs of the best global shift.
  const r = Math.max(1, Math.min(4, Math.floor(Math.min(w, h) / 8)));
  const shifts = lum.slice(1).map((l, i) => bestShift(lum[i], l, w, h, r));
  const mdx = median(shifts.map((q) => q[0]));
  const mdy = median(shifts.map((q) => q[1]));
  const consistent = shifts.filter((q) => q[0] === mdx && q[1] === mdy).length;
  // A pan changes most pixels; a moving object on a still background changes few.
  const changed = median(lum.slice(1).map((l, i) => changedFraction(lum[i], l, 12)));
  const cameraMoving = shifts.length >= 2 && (mdx !== 0 || mdy !== 0) && consistent >= 0.6 * shifts.length && changed > 0.3;

  // Background: per-pixel, per-channel temporal median.
  const bg = new Uint8Array(n * 3);
  const col: number[] = new Array(small.length);
  for (let i = 0; i < n * 3; i++) {
    for (let t = 0; t < small.length; t++) col[t] = small[t].rgb[i];
    col.sort((p, q) => p - q);
    bg[i] = col[col.length >> 1];
  }

  // Dominant colours of the background with where their pixels sit.
  const byName = new Map<string, { count: number; sx: number; sy: number }>();
  for (let i = 0; i < n; i++) {
    const name = colorName(bg[3 * i], bg[3 * i + 1], bg[3 * i + 2]);
    const e = byName.get(name) ?? { count: 0, sx: 0, sy: 0 };
    e.count++;
    e.sx += i % w;
    e.sy += Math.floor(i / w);
    byName.set(name, e);
  }
  const colors = [...byName.entries()]
    .map(([name, e]) => ({ name, share: e.count / n, region: regionWord(e.sx / e.count + 0.5, e.sy / e.count + 0.5, w, h) }))
    .filter((c) => c.share >= 0.08)
    .sort((a, b) => b.share - a.share || (a.name < b.name ? -1 : 1))
    .slice(0, 3);

  // Moving regions (only meaningful with a static camera). A pixel whose colour is one of the
  // background's dominant colours is background even where the median holds a resting object.
  const dominant = dominantColors(bg, n, 0.1);
  const nearDominant = (r: number, g: number, b: number) => dominant.some((c) => Math.abs(r - c[0]) + Math.abs(g - c[1]) + Math.abs(b - c[2]) < 36);
  const tracks: Track[] = [];
  if (!cameraMoving && small.length >= 2) {
    const minArea = Math.max(3, Math.round(0.002 * n));
    const gate = 0.35 * Math.hypot(w, h);
    // Tracks survive gaps of up to MAX_GAP sampled frames (brief occlusion, a missed detection).
    const MAX_GAP = 3;
    type Live = { track: Track; x: number; y: number; last: number; rgb: [number, number, number]; fillSum: number; rgbSum: [number, number, number]; areaSum: number };
    const live: Live[] = [];
    small.forEach((f, t) => {
      const mask = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const d = Math.max(Math.abs(f.rgb[3 * i] - bg[3 * i]), Math.abs(f.rgb[3 * i + 1] - bg[3 * i + 1]), Math.abs(f.rgb[3 * i + 2] - bg[3 * i + 2]));
        mask[i] = d > 40 && !nearDominant(f.rgb[3 * i], f.rgb[3 * i + 1], f.rgb[3 * i + 2]) ? 1 : 0;
      }
      const comps = components(mask, w, h, minArea)
        .map((px) => {
          const { mx, my, x0, y0, x1, y1 } = blobExtent(px, w);
          let cr = 0, cg = 0, cb = 0;
          for (const p of px) {
            cr += f.rgb[3 * p];
            cg += f.rgb[3 * p + 1];
            cb += f.rgb[3 * p + 2];
          }
          const a = px.length;
          const rgb: [number, number, number] = [cr / a, cg / a, cb / a];
          return { x: mx, y: my, area: a, rgb, ext: Math.max(x1 - x0 + 1, y1 - y0 + 1), fill: a / ((x1 - x0 + 1) * (y1 - y0 + 1)) };
        })
        .sort((a, b) => b.area - a.area);
      const taken = new Set<Live>();
      for (const c of comps) {
        let best: Live | null = null;
        let bestD = Infinity;
        for (const l of live) {
          if (taken.has(l) || l.last >= t || l.last < t - MAX_GAP) continue;
          const mean = l.rgbSum.map((v) => v / l.areaSum); // the track's area-weighted colour
          const colourD = Math.abs(mean[0] - c.rgb[0]) + Math.abs(mean[1] - c.rgb[1]) + Math.abs(mean[2] - c.rgb[2]);
          const dist = Math.hypot(l.x - c.x, l.y - c.y);
          // Recent tracks win; the distance gate widens with the gap.
          const d = dist + 0.1 * colourD + gate * (t - l.last - 1);
          if (colourD < 150 && dist < gate * (t - l.last) && d < bestD) {
            bestD = d;
            best = l;
          }
        }
        const pt = { t, x: (c.x + 0.5) * s, y: (c.y + 0.5) * s, area: c.area * s * s };
        if (best) {
          taken.add(best);
          best.track.points.push(pt);
          best.track.extent = Math.max(best.track.extent, c.ext * s);
          best.fillSum += c.fill;
          for (let ch = 0; ch < 3; ch++) best.rgbSum[ch] += c.rgb[ch] * c.area;
          best.areaSum += c.area;
          Object.assign(best, { x: c.x, y: c.y, last: t, rgb: c.rgb });
        } else {
          const track: Track = { color: colorName(...c.rgb), points: [pt], extent: c.ext * s, fill: c.fill };
          const l: Live = { track, x: c.x, y: c.y, last: t, rgb: c.rgb, fillSum: c.fill, rgbSum: [c.rgb[0] * c.area, c.rgb[1] * c.area, c.rgb[2] * c.area], areaSum: c.area };
          taken.add(l);
          live.push(l);
        }
      }
    });
    for (const l of live) {
      l.track.fill = l.fillSum / l.track.points.length;
      // Name the colour from the area-weighted mean, so a sliver at the first sighting does not decide it.
      l.track.color = colorName(l.rgbSum[0] / l.areaSum, l.rgbSum[1] / l.areaSum, l.rgbSum[2] / l.areaSum);
      const p = l.track.points;
      const moved = Math.hypot(p[p.length - 1].x - p[0].x, p[p.length - 1].y - p[0].y);
      const travelled = p.slice(1).reduce((acc, q, i) => acc + Math.hypot(q.x - p[i].x, q.y - p[i].y), 0);
      if (p.length >= Math.max(2, Math.ceil(0.3 * small.length)) && (moved > 0.03 * Math.min(W, H) || travelled > 0.1 * Math.min(W, H))) tracks.push(l.track);
    }
    tracks.sort((a, b) => b.points.length * b.extent - a.points.length * a.extent);
  }
  return {
    width: W,
    height: H,
    brightness,
    colors,
    cameraShift: { dx: mdx * s, dy: mdy * s },
    cameraMoving,
    tracks: tracks.slice(0, 4),
    step: 1 / Math.max(fps, 1e-6),
  };
}
