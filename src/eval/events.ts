// Object-permanence and identity detectors over tracks (the failure taxonomy of VideoPhy,
// Bansal et al. 2024, and PhyGenBench, Meng et al. 2024: objects vanish, appear from nowhere,
// jump, merge, split or change form). Each event is explained away when the scene accounts for
// it: the frame border, a static occluder the object moves behind, or contact with another object.
import type { Detection, Segmentation, StaticRegion } from './segment.js';
import { isStructure } from './segment.js';
import { lastVelocity, radius, type Track } from './track.js';

export const EVENT_TYPES = ['disappearance', 'appearance', 'teleport', 'merge', 'split', 'morph', 'gravity_violation', 'reversal', 'direction_mismatch'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One detected physics failure (DESIGN.md "Eval JSON"). `object` is a track id, or -1 for the clip. */
export interface PhysicsEvent {
  type: EventType;
  frame: number;
  object: number;
  detail: string;
  confidence: number;
}

/** Scene context shared by the detectors. */
export interface SceneContext {
  width: number;
  height: number;
  frames: number;
  /** Occluders: static structure other than the floor. */
  occluders: StaticRegion[];
  /** Top of the floor band (y of its first row), or null. */
  floorY: number | null;
}

export function sceneContext(seg: Segmentation): SceneContext {
  const floor = seg.statics.find((r) => r.x1 - r.x0 + 1 >= 0.9 * seg.width && r.y1 >= seg.height - 2);
  // the floor's top: the highest row of the bottom band where most pixels have the floor's colour
  let floorY: number | null = null;
  if (floor) {
    const { width: W, background: B } = seg;
    for (let y = floor.y1; y >= floor.y0; y--) {
      let n = 0;
      for (let x = 0; x < W; x++) {
        const i = 3 * (y * W + x);
        if (Math.max(Math.abs(B[i] - floor.rgb[0]), Math.abs(B[i + 1] - floor.rgb[1]), Math.abs(B[i + 2] - floor.rgb[2])) <= 30) n++;
      }
      if (n < 0.6 * W) break;
      floorY = y;
    }
  }
  return {
    width: seg.width,
    height: seg.height,
    frames: seg.detections.length,
    occluders: seg.statics.filter((r) => r !== floor && isStructure(r, seg.width) && Math.min(r.x1 - r.x0, r.y1 - r.y0) + 1 >= 3),
    floorY,
  };
}

type Box = { x0: number; y0: number; x1: number; y1: number };

/** Fraction of a box (shifted by dx, dy) that is visible: inside the frame and not behind an occluder. */
export function visibleFraction(b: Box, dx: number, dy: number, ctx: SceneContext): number {
  const x0 = b.x0 + dx;
  const x1 = b.x1 + dx;
  const y0 = b.y0 + dy;
  const y1 = b.y1 + dy;
  let vis = 0;
  let all = 0;
  for (let y = Math.floor(y0); y <= Math.ceil(y1); y++)
    for (let x = Math.floor(x0); x <= Math.ceil(x1); x++) {
      all++;
      if (x < 0 || y < 0 || x >= ctx.width || y >= ctx.height) continue;
      if (ctx.occluders.some((o) => x >= o.x0 - 1 && x <= o.x1 + 1 && y >= o.y0 - 1 && y <= o.y1 + 1)) continue;
      vis++;
    }
  return all ? vis / all : 0;
}

/** Distance in px from a box to the frame border or the nearest occluder. */
export function hidingDistance(b: Box, ctx: SceneContext): number {
  let d = Math.min(b.x0, b.y0, ctx.width - 1 - b.x1, ctx.height - 1 - b.y1);
  for (const o of ctx.occluders) {
    const gx = Math.max(0, o.x0 - b.x1, b.x0 - o.x1);
    const gy = Math.max(0, o.y0 - b.y1, b.y0 - o.y1);
    d = Math.min(d, Math.max(gx, gy));
  }
  return d;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};

/** Median area of a track over frames where it is fully visible. */
export function typicalArea(tr: Track, ctx: SceneContext): number {
  const clean = tr.points.filter((p) => hidingDistance(p.det, ctx) > 1).map((p) => p.det.area);
  return median(clean.length ? clean : tr.points.map((p) => p.det.area));
}

/** Is the end of a track (or, reversed, its start) explained by leaving view? */
function leavesView(pts: Track['points'], v: [number, number], ctx: SceneContext, typical: number): boolean {
  const last = pts[pts.length - 1].det;
  if (visibleFraction(last, v[0], v[1], ctx) < 0.5) return true;
  if (visibleFraction(last, 2 * v[0], 2 * v[1], ctx) < 0.25) return true;
  // still mostly hidden, right at the border or an occluder (its centroid moves with the visible part)
  if (last.area < 0.6 * typical && hidingDistance(last, ctx) <= 1) return true;
  // shrinking against the border or an occluder while moving into it
  return last.area < 0.8 * typical && visibleFraction(last, 1.5 * v[0] + Math.sign(v[0]) * 2, 1.5 * v[1] + Math.sign(v[1]) * 2, ctx) < 0.9;
}

const touching = (a: Detection, b: Detection, pad = 2) => Math.hypot(a.x - b.x, a.y - b.y) < radius(a) + radius(b) + pad;

/** disappearance, appearance, merge, split. */
export function permanenceEvents(tracks: readonly Track[], ctx: SceneContext): PhysicsEvent[] {
  const out: PhysicsEvent[] = [];
  const T = ctx.frames;
  const byId = new Map(tracks.map((t) => [t.id, t]));
  for (const tr of tracks) {
    const first = tr.points[0];
    const last = tr.points[tr.points.length - 1];
    const typical = typicalArea(tr, ctx);
    const conf = Math.min(0.95, 0.5 + 0.1 * tr.points.length);
    if (last.t < T - 1) {
      const v = lastVelocity(tr);
      // the blob it merged into grows by (part of) its area, or takes on a mixed colour, as they overlap
      const grew = (o: Track) => {
        const q = o.points.find((p) => p.t === last.t + 1)?.det;
        if (!q) return 0;
        const mid = o.points.map((p) => p.det).sort((a, b) => a.area - b.area)[o.points.length >> 1];
        const dc = Math.hypot(q.rgb[0] - mid.rgb[0], q.rgb[1] - mid.rgb[1], q.rgb[2] - mid.rgb[2]);
        return Math.hypot(q.x - last.det.x, q.y - last.det.y) > 3 * (radius(q) + radius(last.det)) ? 0 : Math.max((q.area - typicalArea(o, ctx)) / typical, dc / 40);
      };
      let other = tr.absorbedBy ? byId.get(tr.absorbedBy.track) : undefined;
      if (!other) other = tracks.filter((o) => o !== tr && grew(o) >= 0.4).sort((a, b) => grew(b) - grew(a))[0];
      const gone = leavesView(tr.points, v, ctx, typical);
      if (other && !gone && other.points[other.points.length - 1].t > last.t + 1) {
        out.push({ type: 'merge', frame: last.t + 1, object: tr.id, detail: `object ${tr.id} merged into object ${other.id}`, confidence: conf });
      } else if (!gone) {
        out.push({ type: 'disappearance', frame: last.t + 1, object: tr.id, detail: `vanished at (${last.det.x.toFixed(0)}, ${last.det.y.toFixed(0)}) away from the border and occluders`, confidence: conf });
      }
    }
    if (first.t > 0) {
      const rev = [...tr.points].reverse();
      const v0: [number, number] = tr.points.length > 1 ? [tr.points[0].det.x - tr.points[1].det.x, tr.points[0].det.y - tr.points[1].det.y] : [0, 0];
      const parent = tr.splitFrom ? byId.get(tr.splitFrom.track) : undefined;
      const came = leavesView(rev, v0, ctx, typical);
      if (parent && !came && parent.points[0].t < first.t) {
        out.push({ type: 'split', frame: first.t, object: tr.id, detail: `object ${tr.id} split off object ${parent.id}`, confidence: conf });
      } else if (!came) {
        out.push({ type: 'appearance', frame: first.t, object: tr.id, detail: `appeared at (${first.det.x.toFixed(0)}, ${first.det.y.toFixed(0)}) away from the border and occluders`, confidence: conf });
      }
    }
  }
  return out;
}

/** teleport: a displacement far outside the track's own motion. */
export function teleportEvents(tracks: readonly Track[], ctx: SceneContext): PhysicsEvent[] {
  const out: PhysicsEvent[] = [];
  for (const tr of tracks) {
    for (let i = 2; i < tr.points.length; i++) {
      const [a, b, c] = [tr.points[i - 2], tr.points[i - 1], tr.points[i]];
      if (c.t - b.t !== 1) continue;
      const dtp = b.t - a.t;
      const vx = (b.det.x - a.det.x) / dtp;
      const vy = (b.det.y - a.det.y) / dtp;
      const dx = c.det.x - b.det.x;
      const dy = c.det.y - b.det.y;
      const jump = Math.hypot(dx, dy);
      let resid = Math.hypot(dx - vx, dy - vy);
      // with a third point, also allow the track's own acceleration (swings, falls)
      if (i >= 3 && dtp === 1 && a.t - tr.points[i - 3].t === 1) {
        const z = tr.points[i - 3].det;
        const ax = b.det.x - 2 * a.det.x + z.x;
        const ay = b.det.y - 2 * a.det.y + z.y;
        resid = Math.min(resid, Math.hypot(dx - vx - ax, dy - vy - ay));
      }
      // a bounce is no jump: off the frame's sides or the floor, the predicted box is mirrored
      // (with any restitution in [0, 1]); off another object, one velocity component turns over
      const lim = { x: [0, ctx.width - 1], y: [0, (ctx.floorY ?? ctx.height) - 1] } as const;
      const mirror = (lo: number, hi: number, v: number, [a0, a1]: readonly number[]) => {
        const over = lo + v < a0 ? lo + v - a0 : hi + v > a1 ? hi + v - a1 : 0;
        return [v - over, v - 2 * over]; // from resting at the wall to a full elastic mirror
      };
      const [mx, my] = [mirror(b.det.x0, b.det.x1, vx, lim.x), mirror(b.det.y0, b.det.y1, vy, lim.y)];
      const seg = (p: number, q0: number, q1: number) => (p - q0) * (p - q1) <= 0 ? 0 : Math.min(Math.abs(p - q0), Math.abs(p - q1));
      resid = Math.min(resid, Math.hypot(seg(dx, mx[0], mx[1]), seg(dy, my[0], my[1])));
      const contact = tracks.some((o) => o !== tr && o.points.some((q) => (q.t === b.t || q.t === c.t) && touching(q.det, b.det, Math.hypot(vx, vy) + 2)));
      if (contact) for (const [fx, fy] of [[1, 0], [0, 1]]) {
        const e = Math.max(0, Math.min(1, fx ? -dx / (vx || 1e-9) : -dy / (vy || 1e-9)));
        resid = Math.min(resid, Math.hypot(dx - (fx ? -e * vx : vx), dy - (fy ? -e * vy : vy)));
      }
      const speed = Math.hypot(vx, vy);
      const r = radius(b.det);
      if (jump > speed + Math.max(5, r) && resid > 0.8 * speed + r + 2) {
        const conf = Math.min(0.95, 0.5 + (resid - 0.8 * speed - r) / (2 * r + 8));
        out.push({ type: 'teleport', frame: c.t, object: tr.id, detail: `jumped ${jump.toFixed(1)} px (speed ${speed.toFixed(1)} px/frame)`, confidence: conf });
      }
    }
  }
  return out;
}

/** morph: a step change in colour, size or shape (fill of the bounding box) that persists. */
export function morphEvents(tracks: readonly Track[], ctx: SceneContext): PhysicsEvent[] {
  const out: PhysicsEvent[] = [];
  for (const tr of tracks) {
    const others = tracks.filter((o) => o !== tr);
    const clean = tr.points.filter((p) => hidingDistance(p.det, ctx) > 1 && !others.some((o) => o.points.some((q) => q.t === p.t && touching(q.det, p.det, 3))));
    if (clean.length < 4) continue;
    const fill = (d: Detection) => d.area / ((d.x1 - d.x0 + 1) * (d.y1 - d.y0 + 1));
    let best: PhysicsEvent | null = null;
    for (let i = 2; i <= clean.length - 2; i++) {
      const pre = clean.slice(Math.max(0, i - 3), i);
      const post = clean.slice(i, i + 3);
      const med = (ps: typeof pre, f: (d: Detection) => number) => median(ps.map((p) => f(p.det)));
      const cPre = [0, 1, 2].map((k) => med(pre, (d) => d.rgb[k]));
      const cPost = [0, 1, 2].map((k) => med(post, (d) => d.rgb[k]));
      const dc = Math.hypot(cPre[0] - cPost[0], cPre[1] - cPost[1], cPre[2] - cPost[2]);
      const ar = med(post, (d) => d.area) / Math.max(1, med(pre, (d) => d.area));
      const df = Math.abs(med(post, fill) - med(pre, fill));
      const size = Math.min(med(pre, (d) => d.area), med(post, (d) => d.area));
      const score = Math.max(dc / 60, Math.abs(Math.log(ar)) / Math.log(1.5), size >= 80 ? df / 0.22 : 0);
      if (score < 1) continue;
      // a step, not drift: the two sides must each be steady
      const spread = (ps: typeof pre) => Math.max(...ps.map((p) => Math.abs(Math.log(p.det.area / Math.max(1, med(ps, (d) => d.area))))));
      if (Math.abs(Math.log(ar)) >= Math.log(1.5) && dc < 60 && (size < 80 || df < 0.22) && Math.max(spread(pre), spread(post)) > Math.abs(Math.log(ar)) / 2) continue;
      const what = dc >= 60 ? `colour changed by ${dc.toFixed(0)}` : Math.abs(Math.log(ar)) >= Math.log(1.5) ? `size changed ×${ar.toFixed(2)}` : `shape changed (fill ${df.toFixed(2)})`;
      // date the change to the single largest step between neighbouring clean frames
      let at = i;
      const step = (j: number) => {
        const [p, q] = [clean[j - 1].det, clean[j].det];
        return Math.hypot(p.rgb[0] - q.rgb[0], p.rgb[1] - q.rgb[1], p.rgb[2] - q.rgb[2]) / 60 + Math.abs(Math.log(q.area / p.area)) / Math.log(1.5);
      };
      for (const j of [i - 1, i + 1]) if (j >= 1 && j < clean.length && step(j) > step(at)) at = j;
      const ev: PhysicsEvent = { type: 'morph', frame: clean[at].t, object: tr.id, detail: what, confidence: Math.min(0.95, 0.4 + 0.2 * score) };
      if (!best || ev.confidence > best.confidence) best = ev;
    }
    if (best) out.push(best);
  }
  return out;
}

/**
 * split, seen as the parent's area halving in one step (the two half-size pieces still overlap
 * and drift apart later, often out of view or behind an occluder before they separate). A true
 * morph shrink is a stronger step (×0.36 for a ×0.6 rescale), so the ratio window starts above it;
 * the smaller size must persist and the object must be clear of the border, occluders and others.
 */
export function halvingEvents(tracks: readonly Track[], ctx: SceneContext, existing: readonly PhysicsEvent[]): PhysicsEvent[] {
  const out: PhysicsEvent[] = [];
  for (const tr of tracks) {
    const others = tracks.filter((o) => o !== tr);
    const free = (p: Track['points'][number]) => hidingDistance(p.det, ctx) > 1 && !others.some((o) => o.points.some((q) => q.t === p.t && touching(q.det, p.det, 3)));
    for (let k = 1; k < tr.points.length; k++) {
      const [p, q] = [tr.points[k - 1], tr.points[k]];
      if (q.t !== p.t + 1 || !free(p) || !free(q)) continue;
      const r = q.det.area / p.det.area;
      if (r < 0.42 || r > 0.68) continue;
      // the area before the step is the object's own (not a transient blob)
      const before = tr.points.slice(Math.max(0, k - 3), k).filter((s) => hidingDistance(s.det, ctx) > 1).map((s) => s.det.area);
      if (before.some((a) => Math.abs(Math.log(a / p.det.area)) > Math.log(1.15))) continue;
      // not a one-frame glitch: the next frame is still smaller (the pieces may overlap again later)
      const next = tr.points[k + 1];
      if (next && next.t === q.t + 1 && hidingDistance(next.det, ctx) > 1 && next.det.area > 0.86 * p.det.area) continue;
      if (existing.some((e) => (e.type === 'split' && Math.abs(e.frame - q.t) <= 2) || (e.type === 'morph' && e.confidence >= 0.5 && e.object === tr.id && Math.abs(e.frame - q.t) <= 1))) continue;
      out.push({ type: 'split', frame: q.t, object: tr.id, detail: `object ${tr.id} halved in area (×${r.toFixed(2)}): it broke into overlapping pieces`, confidence: 0.6 });
      break;
    }
  }
  return out;
}
