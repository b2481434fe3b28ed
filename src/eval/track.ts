// Multi-object tracking by detection (SORT-style: Bewley et al. 2016, "Simple online and
// realtime tracking"): constant-velocity prediction, gated greedy assignment on a cost of
// position, colour and size, re-linking across short gaps (occluders), and bookkeeping of the
// cases the physics detectors need: links that break gating (a colour/size jump next to the
// prediction, a same-colour jump far from it), tracks absorbed into another blob, and tracks
// born touching another.
import type { Detection, Segmentation } from './segment.js';

export type LinkKind = 'track' | 'gap' | 'near' | 'jump';

export interface TrackPoint {
  t: number;
  det: Detection;
  /** How this point was linked to the previous one. */
  link: LinkKind;
}

export interface Track {
  id: number;
  points: TrackPoint[];
  /** The track vanished into the blob of another track at frame t. */
  absorbedBy?: { track: number; t: number };
  /** The track was born touching another track at frame t. */
  splitFrom?: { track: number; t: number };
}

export interface TrackOptions {
  /** Frames a lost track may be re-linked after (default 8). */
  maxGap?: number;
  /** Tracks shorter than this are dropped as noise (default 3). */
  minLength?: number;
  /** Static occluders: a track lost against one may re-emerge from it anywhere along it. */
  occluders?: readonly { x0: number; y0: number; x1: number; y1: number }[];
}

export const radius = (d: Detection): number => Math.sqrt(d.area / Math.PI);
const colDist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** Velocity (px/frame) from the last two points of a track. */
export function lastVelocity(tr: Track): [number, number] {
  const n = tr.points.length;
  if (n < 2) return [0, 0];
  const a = tr.points[n - 2];
  const b = tr.points[n - 1];
  const dt = b.t - a.t;
  return [(b.det.x - a.det.x) / dt, (b.det.y - a.det.y) / dt];
}

function predict(tr: Track, t: number): { x: number; y: number; gate: number; dt: number } {
  const last = tr.points[tr.points.length - 1];
  const [vx, vy] = lastVelocity(tr);
  const dt = t - last.t;
  const speed = Math.hypot(vx, vy);
  return { x: last.det.x + vx * dt, y: last.det.y + vy * dt, gate: 4 + 0.6 * radius(last.det) + (0.6 * speed + 1.5) * dt, dt };
}

/** Link per-frame detections into tracks. */
export function trackObjects(seg: Segmentation, opts: TrackOptions = {}): Track[] {
  const maxGap = opts.maxGap ?? 8;
  const minLength = opts.minLength ?? 3;
  const { width: W, height: H } = seg;
  const occluders = opts.occluders ?? [];
  const byOccluder = (d: Detection, m = 2) => occluders.some((o) => Math.max(o.x0 - d.x1, d.x0 - o.x1, 0) <= m && Math.max(o.y0 - d.y1, d.y0 - o.y1, 0) <= m);
  const atBorder = (d: Detection, m = 2) => d.x0 <= m || d.y0 <= m || d.x1 >= W - 1 - m || d.y1 >= H - 1 - m;
  const tracks: Track[] = [];
  const owner = new Map<Detection, Track>();
  seg.detections.forEach((dets, t) => {
    const lastT = (tr: Track) => tr.points[tr.points.length - 1].t;
    const cands = tracks.filter((tr) => !tr.absorbedBy || tr.absorbedBy.t <= t).filter((tr) => t - lastT(tr) >= 1 && t - lastT(tr) <= maxGap);
    const taken = new Set<Detection>();
    const done = new Set<Track>();
    const link = (tr: Track, d: Detection, kind: LinkKind) => {
      tr.points.push({ t, det: d, link: kind });
      taken.add(d);
      done.add(tr);
      owner.set(d, tr);
      if (tr.absorbedBy) delete tr.absorbedBy;
    };
    // pass 1: gated greedy assignment
    const pairs: { tr: Track; d: Detection; cost: number }[] = [];
    for (const tr of cands) {
      const p = predict(tr, t);
      const last = tr.points[tr.points.length - 1].det;
      for (const d of dets) {
        const dp = Math.hypot(d.x - p.x, d.y - p.y);
        const dc = colDist(d.rgb, last.rgb);
        const ar = Math.abs(Math.log(d.area / last.area));
        if (dp > p.gate || dc > 70 || ar > Math.log(3)) continue;
        pairs.push({ tr, d, cost: dp / p.gate + dc / 60 + ar / 0.8 + 0.3 * (p.dt - 1) });
      }
    }
    pairs.sort((a, b) => a.cost - b.cost);
    for (const { tr, d } of pairs) if (!done.has(tr) && !taken.has(d)) link(tr, d, predict(tr, t).dt > 1 ? 'gap' : 'track');
    // pass 2: tracks seen last frame that found nothing — a changed object next to the prediction,
    // or the same object far away
    for (const tr of cands) {
      if (done.has(tr) || t - lastT(tr) !== 1) continue;
      const p = predict(tr, t);
      const last = tr.points[tr.points.length - 1].det;
      const free = dets.filter((d) => !taken.has(d));
      const near = free
        .map((d) => ({ d, dp: Math.hypot(d.x - p.x, d.y - p.y) }))
        .filter((c) => c.dp < 1.5 * p.gate)
        .sort((a, b) => a.dp - b.dp)[0];
      if (near) {
        link(tr, near.d, 'near');
        continue;
      }
      if (atBorder(last, 3)) continue;
      const same = free
        .map((d) => ({ d, dc: colDist(d.rgb, last.rgb), ar: Math.abs(Math.log(d.area / last.area)) }))
        .filter((c) => c.dc < 40 && c.ar < Math.log(2))
        .sort((a, b) => a.dc - b.dc);
      if (same.length === 1) link(tr, same[0].d, 'jump');
    }
    // pass 3: a track lost against an occluder re-emerges from it, same colour, moving the same way
    for (const tr of cands) {
      if (done.has(tr) || t - lastT(tr) < 2) continue;
      const last = tr.points[tr.points.length - 1].det;
      if (!byOccluder(last)) continue;
      const [vx] = lastVelocity(tr);
      const em = dets
        .filter((d) => !taken.has(d) && byOccluder(d) && colDist(d.rgb, last.rgb) < 50 && (Math.abs(vx) < 0.3 || Math.sign(d.x - last.x) === Math.sign(vx)))
        .sort((a, b) => colDist(a.rgb, last.rgb) - colDist(b.rgb, last.rgb))[0];
      if (em) link(tr, em, 'gap');
    }
    // absorbed: a track that lost its blob right next to another track's blob
    for (const tr of cands) {
      if (done.has(tr) || t - lastT(tr) !== 1) continue;
      const p = predict(tr, t);
      const last = tr.points[tr.points.length - 1].det;
      for (const d of dets) {
        const o = owner.get(d);
        if (!o || o === tr) continue;
        const into = Math.hypot(d.x - p.x, d.y - p.y) < radius(d) + 1 || Math.hypot(d.x - last.x, d.y - last.y) < radius(d) + radius(last) + 2;
        if (into && !atBorder(last, 2)) {
          tr.absorbedBy = { track: o.id, t };
          break;
        }
      }
    }
    // births
    for (const d of dets) {
      if (taken.has(d)) continue;
      const tr: Track = { id: tracks.length, points: [{ t, det: d, link: 'track' }] };
      for (const e of dets) {
        const o = owner.get(e);
        if (!o || e === d) continue;
        const dist = Math.hypot(d.x - e.x, d.y - e.y);
        // a piece of the same colour, touching or close by (it drifted off while still merged with its parent)
        if (colDist(d.rgb, e.rgb) < 60 && dist < 3 * (radius(d) + radius(e))) tr.splitFrom = { track: o.id, t };
      }
      tracks.push(tr);
      owner.set(d, tr);
    }
  });
  const kept = tracks.filter((tr) => tr.points.length >= Math.min(minLength, seg.detections.length));
  const ids = new Map(kept.map((tr, i) => [tr.id, i]));
  return kept.map((tr) => ({
    ...tr,
    id: ids.get(tr.id)!,
    absorbedBy: tr.absorbedBy && ids.has(tr.absorbedBy.track) ? { track: ids.get(tr.absorbedBy.track)!, t: tr.absorbedBy.t } : undefined,
    splitFrom: tr.splitFrom && ids.has(tr.splitFrom.track) ? { track: ids.get(tr.splitFrom.track)!, t: tr.splitFrom.t } : undefined,
  }));
}
