// Object segmentation for physics checks: a per-pixel temporal-median background model
// (classic background subtraction, e.g. Piccardi 2004, "Background subtraction techniques: a
// review"), foreground = colour distance to it above a noise-adaptive threshold, 8-connected
// components, and a 2-means colour split of blobs that hold two differently coloured objects.
// Static structure (occluder walls, resting objects) is found in the background itself as
// regions that stand out from a smooth (planar) fit of the background.
import type { Frame } from '../data/video.js';
import { blobExtent } from '../util/blob.js';

/** One detected blob in one frame. Coordinates in pixels; (x, y) is the centroid. */
export interface Detection {
  x: number;
  y: number;
  area: number;
  /** Bounding box, inclusive. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Mean colour of the blob's core pixels (those well above the threshold). */
  rgb: [number, number, number];
}

/** A static region of the background (an occluder, a wall, a resting object). */
export interface StaticRegion {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  area: number;
  rgb: [number, number, number];
}

export interface Segmentation {
  width: number;
  height: number;
  /** Background RGB (temporal median). */
  background: Uint8Array;
  /** Foreground threshold used (max-channel distance, 0..255). */
  threshold: number;
  detections: Detection[][];
  statics: StaticRegion[];
}

export interface SegmentOptions {
  /** Minimum blob area in pixels (default 12). */
  minArea?: number;
  /** Lower bound on the foreground threshold (default 24). */
  minThreshold?: number;
}

/** Per-pixel, per-channel temporal median. */
export function medianBackground(frames: readonly Frame[]): Uint8Array {
  const n = frames[0].data.length;
  const out = new Uint8Array(n);
  const T = frames.length;
  const hist = new Uint8Array(T);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < T; t++) hist[t] = frames[t].data[i];
    hist.sort();
    out[i] = T % 2 ? hist[(T - 1) >> 1] : (hist[T / 2 - 1] + hist[T / 2] + 1) >> 1;
  }
  return out;
}

/** Max-channel absolute difference per pixel. */
function diffMap(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length / 3);
  for (let i = 0; i < out.length; i++) {
    const d0 = Math.abs(a[3 * i] - b[3 * i]);
    const d1 = Math.abs(a[3 * i + 1] - b[3 * i + 1]);
    const d2 = Math.abs(a[3 * i + 2] - b[3 * i + 2]);
    out[i] = Math.max(d0, d1, d2);
  }
  return out;
}

/**
 * 8-connected components of a binary mask (pixel index lists). With `rgb`, neighbours join only
 * when their colours are within `maxStep` (max-channel), so touching objects of different colours
 * stay apart.
 */
export function components(mask: Uint8Array, w: number, h: number, rgb?: Uint8Array, maxStep = 40): number[][] {
  const seen = new Uint8Array(w * h);
  const comps: number[][] = [];
  const stack: number[] = [];
  // with colours: a pixel joins when it is close to the component's seed colour (no chaining through blended edges)
  const diff = (p: number, q: number) => (rgb ? Math.max(Math.abs(rgb[3 * p] - rgb[3 * q]), Math.abs(rgb[3 * p + 1] - rgb[3 * q + 1]), Math.abs(rgb[3 * p + 2] - rgb[3 * q + 2])) : 0);
  const near = (p: number, q: number) => diff(p, q) <= maxStep;
  // with colours, seeds are taken from flat interiors first, so a blended edge pixel never seeds
  // a region that then swallows both colours it blends
  const flatAt = (p: number) => {
    if (!rgb) return true;
    const x = p % w;
    const y = (p - x) / w;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        if (diff(p, ny * w + nx) > 12) return false;
      }
    return true;
  };
  const order: number[] = [];
  for (let s = 0; s < w * h; s++) if (mask[s] && flatAt(s)) order.push(s);
  for (let s = 0; s < w * h; s++) if (mask[s] && !flatAt(s)) order.push(s);
  for (const s of order) {
    if (seen[s]) continue;
    const px: number[] = [];
    seen[s] = 1;
    stack.push(s);
    while (stack.length) {
      const p = stack.pop()!;
      px.push(p);
      const x = p % w;
      const y = (p - x) / w;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const q = ny * w + nx;
          if (mask[q] && !seen[q] && near(s, q)) {
            seen[q] = 1;
            stack.push(q);
          }
        }
    }
    comps.push(px);
  }
  return comps;
}

const dist3 = (a: readonly number[], b: readonly number[]): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

function meanColor(px: readonly number[], rgb: Uint8Array): [number, number, number] {
  const c: [number, number, number] = [0, 0, 0];
  for (const p of px) for (let k = 0; k < 3; k++) c[k] += rgb[3 * p + k];
  return c.map((v) => v / Math.max(1, px.length)) as [number, number, number];
}

function detectionOf(px: readonly number[], core: readonly number[], w: number, rgb: Uint8Array): Detection {
  const { mx, my, x0, y0, x1, y1 } = blobExtent(px, w);
  // centroid in continuous image coordinates (pixel i covers [i, i+1)), like the synthetic ground truth
  return { x: mx + 0.5, y: my + 0.5, area: px.length, x0, y0, x1, y1, rgb: meanColor(core.length ? core : px, rgb) };
}

/** Split a blob in two when its core pixels form two well-separated colour clusters (2-means). */
/** Distance from c to the segment a–b (is c a blend of a and b?). */
function segDist(c: readonly number[], a: readonly number[], b: readonly number[]): number {
  const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const len2 = ab[0] ** 2 + ab[1] ** 2 + ab[2] ** 2;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((c[0] - a[0]) * ab[0] + (c[1] - a[1]) * ab[1] + (c[2] - a[2]) * ab[2]) / len2)) : 0;
  return dist3(c, [a[0] + t * ab[0], a[1] + t * ab[1], a[2] + t * ab[2]]);
}

function colourSplit(px: number[], core: number[], rgb: Uint8Array, w: number, h: number, minArea: number, bg: Uint8Array): number[][] {
  if (core.length < 2 * minArea) return [px];
  const col = (p: number) => [rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]];
  // farthest-pair initialisation
  let a = col(core[0]);
  let best = -1;
  for (const p of core) {
    const d = dist3(col(p), a);
    if (d > best) [best, a] = [d, col(p)];
  }
  let b = a;
  best = -1;
  for (const p of core) {
    const d = dist3(col(p), a);
    if (d > best) [best, b] = [d, col(p)];
  }
  if (best < 70) return [px];
  let ca = a;
  let cb = b;
  for (let it = 0; it < 6; it++) {
    const sa = [0, 0, 0, 0];
    const sb = [0, 0, 0, 0];
    for (const p of core) {
      const c = col(p);
      const s = dist3(c, ca) <= dist3(c, cb) ? sa : sb;
      for (let k = 0; k < 3; k++) s[k] += c[k];
      s[3]++;
    }
    if (!sa[3] || !sb[3]) return [px];
    ca = [sa[0] / sa[3], sa[1] / sa[3], sa[2] / sa[3]];
    cb = [sb[0] / sb[3], sb[1] / sb[3], sb[2] / sb[3]];
  }
  if (dist3(ca, cb) < 80) return [px];
  // one colour being a blend of the other with the background is anti-aliasing, not two objects
  const bgc = meanColor(px, bg);
  if (segDist(ca, cb, bgc) < 30 || segDist(cb, ca, bgc) < 30) return [px];
  const parts: number[][] = [[], []];
  for (const p of px) parts[dist3(col(p), ca) <= dist3(col(p), cb) ? 0 : 1].push(p);
  const out: number[][] = [];
  for (const part of parts) {
    const m = new Uint8Array(w * h);
    for (const p of part) m[p] = 1;
    const cs = components(m, w, h).sort((u, v) => v.length - u.length);
    if (cs[0] && cs[0].length >= minArea) out.push(cs[0]);
  }
  // both halves must be substantial, else it was one object with shading or blended edges
  if (out.length < 2 || Math.min(out[0].length, out[1].length) < Math.max(minArea, 0.2 * px.length)) return [px];
  // two objects side by side: neither centroid lies inside the other's box (a rim of colour
  // bleed from chroma subsampling wraps around its object instead)
  const [da, db] = out.map((part) => detectionOf(part, part, w, rgb));
  const inside = (p: Detection, q: Detection) => p.x - 0.5 >= q.x0 && p.x - 0.5 <= q.x1 && p.y - 0.5 >= q.y0 && p.y - 0.5 <= q.y1;
  if (inside(da, db) || inside(db, da)) return [px];
  return out;
}

/**
 * Robust least-squares plane per channel (v = a + b·x + c·y) through the background proper:
 * seeded with the pixels near the median colour, then refitted on pixels within 30 of the plane.
 */
function planeFit(bg: Uint8Array, w: number, h: number): Float64Array {
  const n = w * h;
  const med = [0, 1, 2].map((k) => {
    const v: number[] = [];
    for (let i = 0; i < n; i += 3) v.push(bg[3 * i + k]);
    v.sort((a, b) => a - b);
    return v[v.length >> 1];
  });
  let use = new Uint8Array(n);
  for (let i = 0; i < n; i++) use[i] = Math.max(...[0, 1, 2].map((k) => Math.abs(bg[3 * i + k] - med[k]))) <= 40 ? 1 : 0;
  const fit = new Float64Array(bg.length);
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 3; k++) {
      const M = [
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
      ];
      const r = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        if (!use[i]) continue;
        const f = [1, i % w, Math.floor(i / w)];
        const v = bg[3 * i + k];
        for (let u = 0; u < 3; u++) {
          r[u] += f[u] * v;
          for (let s = 0; s < 3; s++) M[u][s] += f[u] * f[s];
        }
      }
      const coef = solve3(M, r) ?? [med[k], 0, 0];
      for (let i = 0; i < n; i++) fit[3 * i + k] = coef[0] + coef[1] * (i % w) + coef[2] * Math.floor(i / w);
    }
    use = new Uint8Array(n);
    for (let i = 0; i < n; i++) use[i] = Math.max(...[0, 1, 2].map((k) => Math.abs(bg[3 * i + k] - fit[3 * i + k]))) <= 30 ? 1 : 0;
  }
  return fit;
}

function solve3(M: number[][], r: number[]): number[] | null {
  const A = M.map((row, i) => [...row, r[i]]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let i = c + 1; i < 3; i++) if (Math.abs(A[i][c]) > Math.abs(A[p][c])) p = i;
    if (Math.abs(A[p][c]) < 1e-9) return null;
    [A[c], A[p]] = [A[p], A[c]];
    for (let i = 0; i < 3; i++) {
      if (i === c) continue;
      const f = A[i][c] / A[c][c];
      for (let j = c; j < 4; j++) A[i][j] -= f * A[c][j];
    }
  }
  return [A[0][3] / A[0][0], A[1][3] / A[1][1], A[2][3] / A[2][2]];
}

/** A static region is structure (floor, wall) rather than a resting object: grey and not white, or floor-wide. */
export function isStructure(r: StaticRegion, width: number): boolean {
  const mx = Math.max(...r.rgb);
  const mn = Math.min(...r.rgb);
  const sat = mx > 0 ? (mx - mn) / mx : 0;
  const thick = Math.min(r.x1 - r.x0, r.y1 - r.y0) + 1 >= 3 && r.area >= 40;
  return r.x1 - r.x0 + 1 >= 0.9 * width || (thick && sat < 0.25 && mx < 0.85 * 255);
}

/** Static regions: background pixels far (> 30 max-channel) from a planar fit of the background. */
export function staticRegions(bg: Uint8Array, w: number, h: number, minArea = 20): { regions: StaticRegion[]; pixels: number[][]; fit: Float64Array } {
  const fit = planeFit(bg, w, h);
  const m = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    let d = 0;
    for (let k = 0; k < 3; k++) d = Math.max(d, Math.abs(bg[3 * i + k] - fit[3 * i + k]));
    m[i] = d > 30 ? 1 : 0;
  }
  const pixels = components(m, w, h, bg, 40).filter((px) => px.length >= minArea);
  const regions = pixels.map((px) => {
    const d = detectionOf(px, px, w, bg);
    return { x0: d.x0, y0: d.y0, x1: d.x1, y1: d.y1, area: d.area, rgb: d.rgb };
  });
  return { regions, pixels, fit };
}

/** 3x3 binary opening: removes 1–2 px lines (pendulum strings) and specks. */
function open3(m: Uint8Array, w: number, h: number): Uint8Array {
  const pass = (src: Uint8Array, max: boolean) => {
    const out = new Uint8Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let v = max ? 0 : 1;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const nx = x + dx;
            const ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
            v = max ? v | src[ny * w + nx] : v & src[ny * w + nx];
          }
        out[y * w + x] = v;
      }
    return out;
  };
  return pass(pass(m, false), true);
}

/** Segment every frame into blobs against the median background. */
export function segmentFrames(frames: readonly Frame[], opts: SegmentOptions = {}): Segmentation {
  const { width: w, height: h } = frames[0];
  const minArea = opts.minArea ?? 12;
  const background = medianBackground(frames);
  const st = staticRegions(background, w, h);
  // Objects must not hide in the background (resting, or lingering on a path they retrace): outside
  // the static structure (floor, walls), the median is replaced by the smooth fit wherever they differ.
  const statics: StaticRegion[] = [];
  const structure = new Uint8Array(w * h);
  st.regions.forEach((r, i) => {
    if (!(isStructure(r, w) || r.area > 0.25 * w * h)) return;
    statics.push(r);
    for (const p of st.pixels[i]) structure[p] = 1;
  });
  // opened first: blended object edges that chained onto the floor are not structure
  const core = open3(structure, w, h);
  const grown = Uint8Array.from(core);
  for (let i = 0; i < w * h; i++) {
    if (!core[i]) continue;
    const x = i % w;
    const y = (i - x) / w;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) if (x + dx >= 0 && x + dx < w && y + dy >= 0 && y + dy < h) grown[(y + dy) * w + x + dx] = 1;
  }
  for (let i = 0; i < w * h; i++) {
    if (grown[i]) continue;
    const far = Math.max(...[0, 1, 2].map((k) => Math.abs(background[3 * i + k] - st.fit[3 * i + k]))) > 20;
    if (far) for (let k = 0; k < 3; k++) background[3 * i + k] = Math.round(Math.min(255, Math.max(0, st.fit[3 * i + k])));
  }
  const diffs = frames.map((f) => diffMap(f.data, background));
  // noise level: the 75th percentile of differences (most pixels are background in most frames)
  const sample: number[] = [];
  for (const d of diffs) for (let i = 0; i < d.length; i += 7) sample.push(d[i]);
  sample.sort((a, b) => a - b);
  const q75 = sample[Math.floor(sample.length * 0.75)] ?? 0;
  const threshold = Math.min(60, Math.max(opts.minThreshold ?? 24, 4 * q75 + 6));
  // A pixel that matches the smooth background estimate is background even where the median
  // holds an object that lingered there (a "ghost"); structure (floor, walls) is not smooth.
  const smoothFar = (f: Frame, i: number) => grown[i] || Math.max(Math.abs(f.data[3 * i] - st.fit[3 * i]), Math.abs(f.data[3 * i + 1] - st.fit[3 * i + 1]), Math.abs(f.data[3 * i + 2] - st.fit[3 * i + 2])) > threshold;
  const detections = frames.map((f, t) => {
    const d = diffs[t];
    const mask = open3(Uint8Array.from(d, (v, i) => (v > threshold && smoothFar(f, i) ? 1 : 0)), w, h);
    const out: Detection[] = [];
    for (const px of components(mask, w, h)) {
      if (px.length < minArea) continue;
      let peak = 0;
      for (const p of px) peak = Math.max(peak, d[p]);
      const core = px.filter((p) => d[p] >= 0.6 * peak);
      for (const part of colourSplit(px, core, f.data, w, h, minArea, background)) {
        const pc = part.filter((p) => d[p] >= 0.6 * peak);
        const det = detectionOf(part, pc, w, f.data);
        // strings and slivers are not objects
        if (Math.min(det.x1 - det.x0, det.y1 - det.y0) + 1 >= 3) out.push(det);
      }
    }
    return out;
  });
  return { width: w, height: h, background, threshold, detections, statics };
}
