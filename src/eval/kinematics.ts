// Dynamics detectors over tracks: gravity violations (sustained upward acceleration of a free
// object, or an object leaving the circle of a pendulum) and time reversal (the arrow of time of
// dissipative motion: bounce energy must shrink by e² at each impact, sliding must slow under
// friction, and nothing at rest leaps up by itself). Finite differences on centroids follow the
// discrete kinematics of Newtonian projectile motion; cf. Physics-IQ (Motamed et al. 2025) and
// the "arrow of time" cue (Pickup et al. 2014, "Seeing the arrow of time").
import type { Detection } from './segment.js';
import { hidingDistance, typicalArea, type PhysicsEvent, type SceneContext } from './events.js';
import { radius, type Track } from './track.js';

/** A run of consecutive, clean (unhidden, untouched) frames of one track. */
interface Run {
  t: number[];
  x: number[];
  y: number[];
  dets: Detection[];
}

const touching = (a: Detection, b: Detection, pad: number) => Math.hypot(a.x - b.x, a.y - b.y) < radius(a) + radius(b) + pad;

/** Split a track into runs of consecutive frames that are fully visible and clear of other objects. */
export function cleanRuns(tr: Track, tracks: readonly Track[], ctx: SceneContext): Run[] {
  const runs: Run[] = [];
  let cur: Run | null = null;
  const typical = typicalArea(tr, ctx);
  for (const p of tr.points) {
    const ok =
      p.link !== 'jump' &&
      hidingDistance(p.det, ctx) > 0 &&
      p.det.area >= 0.85 * typical &&
      !tracks.some((o) => o !== tr && o.points.some((q) => q.t === p.t && touching(q.det, p.det, 3)));
    const contiguous: boolean = cur !== null && p.t === cur.t[cur.t.length - 1] + 1 && p.link !== 'gap';
    if (!ok) {
      cur = null;
      continue;
    }
    if (!contiguous) {
      cur = { t: [], x: [], y: [], dets: [] };
      runs.push(cur);
    }
    cur!.t.push(p.t);
    cur!.x.push(p.det.x);
    cur!.y.push(p.det.y);
    cur!.dets.push(p.det);
  }
  return runs.filter((r) => r.t.length >= 3);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : 0;
};

/** Is the object resting on (or within `pad` px of) the floor? */
const onFloor = (d: Detection, ctx: SceneContext, pad = 1.5) => ctx.floorY !== null && d.y1 >= ctx.floorY - 1 - pad;

/** Kasa least-squares circle fit; returns centre, radius and RMS radial residual. */
export function fitCircle(xs: readonly number[], ys: readonly number[]): { cx: number; cy: number; r: number; rms: number } | null {
  const n = xs.length;
  if (n < 4) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let suu = 0, svv = 0, suv = 0, suuu = 0, svvv = 0, suvv = 0, svuu = 0;
  for (let i = 0; i < n; i++) {
    const u = xs[i] - mx;
    const v = ys[i] - my;
    suu += u * u; svv += v * v; suv += u * v;
    suuu += u * u * u; svvv += v * v * v; suvv += u * v * v; svuu += v * u * u;
  }
  const det = suu * svv - suv * suv;
  if (Math.abs(det) < 1e-9) return null;
  const b1 = 0.5 * (suuu + suvv);
  const b2 = 0.5 * (svvv + svuu);
  const uc = (b1 * svv - b2 * suv) / det;
  const vc = (suu * b2 - suv * b1) / det;
  const cx = uc + mx;
  const cy = vc + my;
  const r = Math.sqrt(uc * uc + vc * vc + (suu + svv) / n);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (Math.hypot(xs[i] - cx, ys[i] - cy) - r) ** 2;
  return { cx, cy, r, rms: Math.sqrt(ss / n) };
}

/** A track that swings on a circle hung from above (a pendulum bob): its own path, not free flight. */
function pendulumFit(tr: Track, ctx: SceneContext): { cx: number; cy: number; r: number } | null {
  const n = tr.points.length;
  const head = tr.points.slice(0, Math.max(5, Math.ceil(0.5 * n)));
  const xs = head.map((p) => p.det.x);
  const ys = head.map((p) => p.det.y);
  if (Math.max(...xs) - Math.min(...xs) < 3 || Math.max(...ys) - Math.min(...ys) < 1.5) return null;
  const c = fitCircle(xs, ys);
  if (!c || c.rms > 0.35 || c.r > 1.2 * ctx.height || c.cy > Math.min(...head.map((p) => p.det.y)) - 0.5 * c.r) return null;
  // a swing passes under its pivot: the pivot lies over (or just beside) the stretch of path seen
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
  if (c.cx < lo - 0.3 * (hi - lo) || c.cx > hi + 0.3 * (hi - lo)) return null;
  // a looser fit (compressed video) must also be pulled back toward the pivot: horizontal
  // acceleration against the offset from it
  let su = 0, sa = 0, sua = 0;
  for (let i = 1; i < head.length - 1; i++) {
    if (head[i + 1].t - head[i].t !== 1 || head[i].t - head[i - 1].t !== 1) continue;
    const u = xs[i] - c.cx;
    const a = xs[i + 1] - 2 * xs[i] + xs[i - 1];
    su += u * u;
    sa += a * a;
    sua += u * a;
  }
  if (c.rms > 0.2 && !(sua < -0.85 * Math.sqrt(su * sa))) return null;
  return c;
}

/** Robust estimate of gravity (px/frame², positive = down) from free-flight samples of all tracks. */
export function estimateGravity(tracks: readonly Track[], ctx: SceneContext): number | null {
  const samples: number[] = [];
  for (const tr of tracks) {
    if (pendulumFit(tr, ctx)) continue;
    for (const run of cleanRuns(tr, tracks, ctx))
      for (let i = 1; i < run.t.length - 1; i++) {
        if ([i - 1, i, i + 1].some((j) => onFloor(run.dets[j], ctx, 2))) continue;
        samples.push(run.y[i + 1] - 2 * run.y[i] + run.y[i - 1]);
      }
  }
  return samples.length >= 3 ? median(samples) : null;
}

/** gravity_violation: sustained upward acceleration with nothing to push, or leaving a pendulum's circle. */
export function gravityEvents(tracks: readonly Track[], ctx: SceneContext, g: number | null): PhysicsEvent[] {
  const out: PhysicsEvent[] = [];
  const thr = Math.max(0.45, 0.3 * Math.abs(g ?? 0));
  for (const tr of tracks) {
    const pend = pendulumFit(tr, ctx);
    if (pend) {
      // off the circle, by more than 1.5 px, for two frames in a row (and inward/up: the string cannot push)
      const off = tr.points.map((p) => Math.hypot(p.det.x - pend.cx, p.det.y - pend.cy) - pend.r);
      for (let i = 1; i < off.length; i++) {
        const two = off[i] < -1.5 && off[i - 1] < -1.5 && tr.points[i].t === tr.points[i - 1].t + 1;
        if (two || off[i] < -3) {
          const j = two ? i - 1 : i;
          const s = tr.points[j];
          // off the circle by a single leap far beyond the swing's own steps: a teleport
          const step = (k: number) => Math.hypot(tr.points[k].det.x - tr.points[k - 1].det.x, tr.points[k].det.y - tr.points[k - 1].det.y);
          const leap = j > 0 && s.t === tr.points[j - 1].t + 1 ? step(j) : 0;
          const others = tr.points.slice(1).map((_, k) => (k + 1 === j ? 0 : step(k + 1)));
          if (leap > Math.max(...others) + radius(s.det) && leap > 2.5 * radius(s.det)) {
            out.push({ type: 'teleport', frame: s.t, object: tr.id, detail: `jumped ${leap.toFixed(1)} px off its pendulum swing`, confidence: Math.min(0.95, 0.5 + leap / 40) });
            break;
          }
          out.push({ type: 'gravity_violation', frame: s.t, object: tr.id, detail: `left the pendulum circle upward by ${(-off[i]).toFixed(1)} px`, confidence: Math.min(0.95, 0.5 + -off[i] / 8) });
          break;
        }
      }
      continue;
    }
    let found: PhysicsEvent | null = liftOff(tr, tracks, ctx);
    for (const run of found ? [] : cleanRuns(tr, tracks, ctx)) {
      const ay: number[] = [];
      // samples with the object on the floor are left out: the floor pushes up at an impact
      for (let i = 1; i < run.t.length - 1; i++) ay.push(onFloor(run.dets[i], ctx, 1) ? 0 : run.y[i + 1] - 2 * run.y[i] + run.y[i - 1]);
      for (let i = 0; i < ay.length && !found; i++) {
        let k = i;
        while (k < ay.length && ay[k] < -thr) k++;
        const len = k - i;
        const endsRun = k >= ay.length;
        // the run ends because the object leaves view upward soon after
        const lastPt = tr.points[tr.points.length - 1];
        const trackEnds = lastPt.t - run.t[run.t.length - 1] <= 3 && lastPt.det.y <= run.y[run.y.length - 1];
        const airborne = run.dets.slice(i, k + 2).every((d) => !onFloor(d, ctx, 3));
        // two samples only when the object then leaves view, and then they must be strong
        const strong = len >= 2 && ay.slice(i, k).every((v) => v < -1.6 * thr);
        if (len >= 3 || (strong && endsRun && trackEnds && airborne)) {
          const a = median(ay.slice(i, k));
          found = { type: 'gravity_violation', frame: run.t[i + 1], object: tr.id, detail: `accelerates upward at ${(-a).toFixed(2)} px/frame² for ${len} frames${g !== null ? ` (gravity ${g.toFixed(2)})` : ''}`, confidence: Math.min(0.95, 0.5 + (-a - thr) / (2 * thr) + 0.05 * len) };
        }
        i = Math.max(i, k - 1);
      }
      if (found) break;
    }
    if (found) out.push(found);
  }
  return out;
}

/** Least-squares quadratic y = a·t² + b·t + c; returns a (half the acceleration). */
function quadA(t: readonly number[], y: readonly number[]): number | null {
  const n = t.length;
  if (n < 3) return null;
  const S = (f: (i: number) => number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += f(i);
    return s;
  };
  const M = [
    [S((i) => t[i] ** 4), S((i) => t[i] ** 3), S((i) => t[i] ** 2)],
    [S((i) => t[i] ** 3), S((i) => t[i] ** 2), S((i) => t[i])],
    [S((i) => t[i] ** 2), S((i) => t[i]), n],
  ];
  const r = [S((i) => t[i] ** 2 * y[i]), S((i) => t[i] * y[i]), S((i) => y[i])];
  const det = (m: number[][]) => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const d = det(M);
  if (Math.abs(d) < 1e-9) return null;
  return det([[r[0], M[0][1], M[0][2]], [r[1], M[1][1], M[1][2]], [r[2], M[2][1], M[2][2]]]) / d;
}

/**
 * An object moving along (or resting on) the floor that leaves it, rising faster and faster with
 * nothing touching it: gravity points the wrong way. (Rising while slowing down is left to the
 * reversal detector: it is a launch played backwards.)
 */
function liftOff(tr: Track, tracks: readonly Track[], ctx: SceneContext): PhysicsEvent | null {
  if (ctx.floorY === null) return null;
  const floorY = ctx.floorY;
  const typical = typicalArea(tr, ctx);
  // cut off by a side of the frame, a blob keeps an unbiased height: keep it however small
  const side = (d: Detection) => d.x0 <= 0 || d.x1 >= ctx.width - 1;
  const pts = tr.points.filter((p) => p.det.area >= 0.5 * typical || side(p.det));
  for (let i = 1; i < pts.length - 2; i++) {
    const [a, b] = [pts[i - 1], pts[i]];
    const rolling = b.t === a.t + 1 && Math.abs(b.det.y - a.det.y) < 0.5 && onFloor(a.det, ctx, 1.5) && onFloor(b.det, ctx, 1.5);
    if (!rolling) continue;
    // launch from the last frame on the floor (a pause before the rise is not part of it)
    const c = pts[i + 1];
    if (c.t === b.t + 1 && Math.abs(c.det.y - b.det.y) < 0.3 && onFloor(c.det, ctx, 1.5)) continue;
    const rise = [b];
    for (const q of pts.slice(i + 1)) {
      if (q.det.y > rise[rise.length - 1].det.y + 0.3) break;
      rise.push(q);
    }
    const top = rise[rise.length - 1];
    if (rise.length === 3 && top === pts[pts.length - 1] && side(top.det) && b.det.y - top.det.y >= 2) {
      // leaving view at the side after two rising steps: the second must be clearly the faster
      const [s1, s2] = [b.det.y - rise[1].det.y, rise[1].det.y - top.det.y];
      if (rise[1].t === b.t + 1 && top.t === rise[1].t + 1 && s2 > s1 + 0.8 && s1 > 0.3) return { type: 'gravity_violation', frame: rise[1].t, object: tr.id, detail: `leaves the floor and accelerates upward (${(s2 - s1).toFixed(2)} px/frame²) as it leaves view`, confidence: Math.min(0.95, 0.5 + 0.2 * (s2 - s1)) };
    }
    if (rise.length < 4 || top.det.y1 >= floorY - 4 || b.det.y - top.det.y < 4) continue;
    // a hop that comes back down is not gravity reversed (a reversed settling bounce looks like one)
    if (pts.some((q) => q.t > top.t && q.det.y > top.det.y + 2)) continue;
    // lifting takes something underneath: a neighbour's top at or below the object's bottom
    const pushed = rise.some((q) => tracks.some((o) => o !== tr && o.points.some((r) => r.t === q.t && touching(r.det, q.det, 3) && r.det.y0 >= q.det.y1 - 2)));
    if (pushed) return null;
    // the launch point itself is left out: a launch played backwards jumps from rest, then slows
    const after = rise.slice(1);
    const qa = quadA(after.map((q) => q.t), after.map((q) => q.det.y));
    if (qa === null || qa > -0.1) return null;
    // and it must still be speeding up at the end (a backwards launch ends slow, at its apex)
    const speed = (i: number) => (after[i].det.y - after[i + 1].det.y) / (after[i + 1].t - after[i].t);
    if (after.length >= 3 && speed(after.length - 2) <= speed(0)) return null;
    // (when it rose unseen, behind an occluder, it left the floor right after it was last seen on it)
    const first = rise[1].t > b.t + 1 ? { t: b.t + 1 } : (rise.find((q) => q.det.y < b.det.y - 0.2) ?? rise[1]);
    return { type: 'gravity_violation', frame: first.t, object: tr.id, detail: `leaves the floor and accelerates upward (${(-2 * qa).toFixed(2)} px/frame²) with nothing pushing it`, confidence: Math.min(0.95, 0.6 - qa) };
  }
  return null;
}

/** Fit y(t) = y0 + v·(t − tm) + ½·g·(t − tm)² with g fixed; returns v at tm, y at tm and RMS residual. */
function fitFixedG(t: number[], y: number[], g: number): { v: number; y: number; tm: number; rms: number } {
  const tm = t.reduce((a, b) => a + b, 0) / t.length;
  const z = y.map((yi, i) => yi - 0.5 * g * (t[i] - tm) ** 2);
  const zm = z.reduce((a, b) => a + b, 0) / z.length;
  let num = 0, den = 0;
  for (let i = 0; i < t.length; i++) {
    num += (t[i] - tm) * (z[i] - zm);
    den += (t[i] - tm) ** 2;
  }
  const v = den > 0 ? num / den : 0;
  let ss = 0;
  for (let i = 0; i < t.length; i++) ss += (z[i] - (zm + v * (t[i] - tm))) ** 2;
  return { v, y: zm, tm, rms: Math.sqrt(ss / t.length) };
}

/**
 * reversal: energy grows across a floor impact (ballistic segments fitted with the clip's g),
 * or a sliding object speeds up along the floor with nothing pushing it.
 */
export function reversalEvents(tracks: readonly Track[], ctx: SceneContext, g: number | null): PhysicsEvent[] {
  const out: PhysicsEvent[] = [];
  for (const tr of tracks) {
    if (pendulumFit(tr, ctx)) continue;
    for (const run of cleanRuns(tr, tracks, ctx)) {
      // (1) energy across impacts: cut the run where vertical motion turns from down to up at the floor
      if (g !== null && g > 0.05 && ctx.floorY !== null) {
        const cuts: number[] = [];
        for (let i = 1; i < run.t.length - 1; i++) {
          const dyIn = run.y[i] - run.y[i - 1];
          const dyOut = run.y[i + 1] - run.y[i];
          const lowest = run.y[i] >= run.y[i - 1] && run.y[i] >= run.y[i + 1];
          if (lowest && onFloor(run.dets[i], ctx, 2 + Math.abs(dyIn)) && dyOut - dyIn < -1.5 * g - 0.3) cuts.push(i);
        }
        const bounds = [0, ...cuts, run.t.length - 1];
        const energy: ({ E: number; t: number } | null)[] = [];
        for (let s = 0; s + 1 < bounds.length; s++) {
          // segment strictly between impacts (the impact frames themselves straddle the bounce)
          const a = s === 0 ? bounds[s] : bounds[s] + 1;
          const b = s + 1 === bounds.length - 1 ? bounds[s + 1] : bounds[s + 1] - 1;
          if (b - a + 1 < 2) {
            energy.push(null);
            continue;
          }
          const ts = run.t.slice(a, b + 1);
          const ys = run.y.slice(a, b + 1);
          const resting = ys.every((v) => Math.abs(v - ys[0]) < 0.5) && run.dets.slice(a, b + 1).every((d) => onFloor(d, ctx, 1.5));
          let f = fitFixedG(ts, ys, resting ? 0 : g);
          // a run that opens or closes at an unseen impact: its end frame straddles the bounce
          if (!resting && f.rms > 0.6 && ts.length >= 5 && (a === 0 || b === run.t.length - 1)) {
            const [i0, i1] = a === 0 ? [1, ts.length] : [0, ts.length - 1];
            f = fitFixedG(ts.slice(i0, i1), ys.slice(i0, i1), g);
          }
          if (!resting && f.rms > 0.6) {
            energy.push(null);
            continue;
          }
          const half = run.dets[a].y1 - run.dets[a].y + 0.5;
          const yc = ctx.floorY - half;
          energy.push({ E: resting ? 0 : 0.5 * f.v * f.v + g * Math.max(0, yc - f.y), t: ts[0] });
        }
        for (let s = 0; s + 1 < energy.length; s++) {
          const [e0, e1] = [energy[s], energy[s + 1]];
          if (!e0 || !e1) continue;
          const scale = 0.5 * g * g + 1;
          if (e1.E > 1.2 * e0.E + 0.5 * scale) {
            const ratio = e0.E > 0 ? e1.E / e0.E : Infinity;
            out.push({ type: 'reversal', frame: 0, object: tr.id, detail: `energy grows ×${Number.isFinite(ratio) ? ratio.toFixed(2) : '∞'} across the impact at frame ${e1.t} (plays backwards)`, confidence: Math.min(0.95, 0.55 + 0.15 * Math.min(3, Number.isFinite(ratio) ? ratio - 1 : 3)) });
            break;
          }
        }
      }
      // (2) sliding along the floor and speeding up
      if (run.dets.every((d) => onFloor(d, ctx, 1.5)) && run.t.length >= 5) {
        const vx = run.x.slice(1).map((x, i) => Math.abs(x - run.x[i]));
        const n = vx.length;
        const tm = (n - 1) / 2;
        const vm = vx.reduce((a, b) => a + b, 0) / n;
        let num = 0, den = 0;
        for (let i = 0; i < n; i++) {
          num += (i - tm) * (vx[i] - vm);
          den += (i - tm) ** 2;
        }
        const slope = num / den;
        const gain = median(vx.slice(-2)) - median(vx.slice(0, 2));
        if (slope > 0.08 && gain > 0.8) {
          out.push({ type: 'reversal', frame: 0, object: tr.id, detail: `slides faster and faster (+${slope.toFixed(2)} px/frame²) against friction from frame ${run.t[0]}`, confidence: Math.min(0.95, 0.5 + slope) });
        }
      }
    }
  }
  // (3) at rest on the floor, then up in the air with nothing touching it: time runs backwards
  if (ctx.floorY !== null) {
    const floorY = ctx.floorY;
    for (const tr of tracks) {
      if (pendulumFit(tr, ctx)) continue;
      const pts = tr.points;
      for (let i = 1; i < pts.length; i++) {
        const rest = pts[i].t === pts[i - 1].t + 1 && Math.hypot(pts[i].det.x - pts[i - 1].det.x, pts[i].det.y - pts[i - 1].det.y) < 0.3 && onFloor(pts[i].det, ctx, 1.5);
        if (!rest) continue;
        const later = pts.slice(i + 1);
        const up = later.find((q) => q.det.y1 < floorY - 4 && q.det.y < pts[i].det.y - 4);
        if (!up) break;
        const between = later.filter((q) => q.t <= up.t);
        // a pusher is there before the leap (not the hole the object leaves in the background model)
        const pushed = between.some((q) => tracks.some((o) => o !== tr && o.points[0].t <= pts[i].t && o.points.some((r) => r.t === q.t && touching(r.det, q.det, 3))));
        if (!pushed) {
          out.push({ type: 'reversal', frame: 0, object: tr.id, detail: `rests on the floor at frame ${pts[i].t}, then leaps up by itself (frame ${up.t}): plays backwards`, confidence: 0.8 });
        }
        break;
      }
    }
  }
  // one clip-level reversal is enough
  const best = out.sort((a, b) => b.confidence - a.confidence)[0];
  return best ? [best] : [];
}
