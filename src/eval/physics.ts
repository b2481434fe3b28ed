// `eval physics`: segment → track → detect physics failures, for one clip or many, in the JSON
// of DESIGN.md "Eval JSON". Detectors: object permanence and identity (events.ts), dynamics
// (kinematics.ts), prompt adherence (prompt-check.ts). The taxonomy follows VideoPhy (Bansal et
// al. 2024) and Physics-IQ (Motamed et al. 2025); the pipeline is classic detect-then-track.
import { readVideo, type Frame } from '../data/video.js';
import { writeFileAtomic } from '../util/atomic.js';
import { SpacetimeError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { halvingEvents, hidingDistance, morphEvents, permanenceEvents, sceneContext, teleportEvents, typicalArea, type PhysicsEvent, type SceneContext } from './events.js';
import { estimateGravity, gravityEvents, reversalEvents } from './kinematics.js';
import { colorName } from './palette.js';
import { promptEvents } from './prompt-check.js';
import { segmentFrames, type Detection, type Segmentation } from './segment.js';
import { trackObjects, type Track } from './track.js';

export interface PhysicsObject {
  id: number;
  color: string;
  first: number;
  last: number;
  /** [frame, x, y, area] per visible frame. */
  track: [number, number, number, number][];
}

export interface VideoPhysics {
  path: string;
  frames: number;
  objects: PhysicsObject[];
  events: PhysicsEvent[];
  scores: Record<string, number | null>;
  failures: number;
}

export interface PhysicsReport {
  videos: VideoPhysics[];
}

export interface PhysicsOptions {
  /** The prompt the clip was generated from (enables direction/colour/count checks). */
  prompt?: string;
  /** Events below this confidence are dropped (default 0.5). */
  minConfidence?: number;
}

/** Everything the detectors saw, for reports (boxes on filmstrips). */
export interface PhysicsAnalysis {
  result: VideoPhysics;
  segmentation: Segmentation;
  tracks: Track[];
  context: SceneContext;
  gravity: number | null;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/**
 * A split shows first as the parent shrinking (the two pieces still overlap) and only frames later
 * as two blobs. Date the split to the parent's shrink, which then is not a separate morph; with
 * no shrink seen, extrapolate the pieces' separation back to zero.
 */
function attributeSplits(events: PhysicsEvent[], tracks: readonly Track[]): PhysicsEvent[] {
  const drop = new Set<PhysicsEvent>();
  for (const e of events) {
    if (e.type !== 'split') continue;
    const child = tracks.find((t) => t.id === e.object);
    const parentId = child?.splitFrom?.track;
    const parent = tracks.find((t) => t.id === parentId);
    if (!child || !parent || child.points.length < 2) continue;
    // shrinks of the parent up to the birth are the split itself, not morphs
    for (const m of events) if (m.type === 'morph' && m.object === parentId && m.frame <= e.frame && m.frame >= e.frame - 8 && /size changed ×0\./.test(m.detail)) drop.add(m);
    // the parent's area halves when it splits (the pieces still overlap): date the split at the first such drop
    const pp = parent.points.filter((p) => p.t <= e.frame && p.t >= e.frame - 8);
    const cut = pp.find((p, i) => i > 0 && p.t === pp[i - 1].t + 1 && p.det.area / pp[i - 1].det.area < 0.75);
    if (cut) {
      e.frame = cut.t;
      continue;
    }
    const at = (tr: Track, t: number) => tr.points.find((p) => p.t === t)?.det;
    const [c0, c1] = [child.points[0], child.points[1]];
    const [p0, p1] = [at(parent, c0.t), at(parent, c1.t)];
    if (!p0 || !p1) continue;
    const d0 = Math.hypot(c0.det.x - p0.x, c0.det.y - p0.y);
    const d1 = Math.hypot(c1.det.x - p1.x, c1.det.y - p1.y);
    const rate = (d1 - d0) / (c1.t - c0.t);
    if (rate > 0.2) e.frame = Math.max(parent.points[0].t, Math.round(c0.t - d0 / rate));
  }
  // a shrink that is followed by the blob stretching out is two pieces drifting apart
  for (const m of events) {
    if (m.type !== 'morph' || drop.has(m) || !/size changed ×0\./.test(m.detail)) continue;
    const tr = tracks.find((t) => t.id === m.object);
    if (!tr || events.some((e) => e.type === 'split' && e.frame === m.frame)) continue;
    const ext = (d: Track['points'][number]['det']) => Math.max(d.x1 - d.x0, d.y1 - d.y0) + 1;
    const at = tr.points.find((p) => p.t === m.frame);
    const later = tr.points.filter((p) => p.t > m.frame);
    if (at && later.length && Math.max(...later.map((p) => ext(p.det))) >= 1.35 * ext(at.det)) {
      m.type = 'split';
      m.detail = `shrank then stretched into two pieces (${m.detail})`;
    }
  }
  return events.filter((e) => !drop.has(e));
}

/**
 * A track that vanishes in the very frame another of the same colour and size appears elsewhere
 * is one object that jumped (the tracker did not link a leap that long): a teleport.
 */
function pairTeleports(events: PhysicsEvent[], tracks: readonly Track[]): PhysicsEvent[] {
  const drop = new Set<PhysicsEvent>();
  const add: PhysicsEvent[] = [];
  const byId = (id: number) => tracks.find((t) => t.id === id);
  for (const d of events) {
    if (d.type !== 'disappearance') continue;
    const a = byId(d.object)?.points.at(-1)?.det;
    for (const e of events) {
      const b = byId(e.object)?.points[0]?.det;
      if (e.type !== 'appearance' || drop.has(e) || e.frame < d.frame || e.frame > d.frame + 1 || !a || !b) continue;
      if (Math.hypot(a.rgb[0] - b.rgb[0], a.rgb[1] - b.rgb[1], a.rgb[2] - b.rgb[2]) > 40 || Math.abs(Math.log(a.area / b.area)) > Math.log(1.5)) continue;
      drop.add(d).add(e);
      add.push({ type: 'teleport', frame: e.frame, object: d.object, detail: `vanished at (${a.x.toFixed(0)}, ${a.y.toFixed(0)}) and reappeared at (${b.x.toFixed(0)}, ${b.y.toFixed(0)}) as object ${e.object}`, confidence: Math.min(d.confidence, e.confidence) });
      break;
    }
  }
  return [...events.filter((e) => !drop.has(e)), ...add];
}

/**
 * A "ghost": where an object rests for half the clip the median background holds the object, and
 * the bare background shows up as a blob while the object is elsewhere. Such a blob has the colour
 * of the frame around it (a real object stands out from its surroundings); drop it.
 */
function isGhost(d: Detection, frame: Frame): boolean {
  const { width: W, height: H, data: B } = frame;
  let near = 0;
  let n = 0;
  for (let y = d.y0 - 2; y <= d.y1 + 2; y++)
    for (let x = d.x0 - 2; x <= d.x1 + 2; x++) {
      if (x < 0 || y < 0 || x >= W || y >= H || (x >= d.x0 && x <= d.x1 && y >= d.y0 && y <= d.y1)) continue;
      const i = 3 * (y * W + x);
      if (Math.max(Math.abs(B[i] - d.rgb[0]), Math.abs(B[i + 1] - d.rgb[1]), Math.abs(B[i + 2] - d.rgb[2])) <= 30) near++;
      n++;
    }
  // (the ring may run over the floor or a wall on some sides)
  return n >= 8 && near >= 0.4 * n;
}

/** Same-coloured blobs whose boxes touch are one object cut by an edge of the background model. */
function joinTouching(ds: Detection[]): Detection[] {
  const out = [...ds];
  for (let i = 0; i < out.length; i++)
    for (let j = i + 1; j < out.length; j++) {
      const [a, b] = [out[i], out[j]];
      const gap = Math.max(a.x0 - b.x1, b.x0 - a.x1, a.y0 - b.y1, b.y0 - a.y1);
      // (a cut along a row of the background model leaves a gap of up to 2 rows across the object)
      const xOverlap = (Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) + 1) / (Math.min(a.x1 - a.x0, b.x1 - b.x0) + 1);
      if (gap > (xOverlap >= 0.8 ? 2 : 1) || Math.hypot(a.rgb[0] - b.rgb[0], a.rgb[1] - b.rgb[1], a.rgb[2] - b.rgb[2]) > 30) continue;
      const n = a.area + b.area;
      const w = (u: number, v: number) => (u * a.area + v * b.area) / n;
      out[i] = { x: w(a.x, b.x), y: w(a.y, b.y), area: n, x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1), rgb: [w(a.rgb[0], b.rgb[0]), w(a.rgb[1], b.rgb[1]), w(a.rgb[2], b.rgb[2])] };
      out.splice(j, 1);
      j = i;
    }
  return out;
}

/**
 * Rejoin an object that passed behind an occluder and came out as a new track (the tracker links
 * them only when the slivers at the occluder's edges match in colour, which compression can spoil):
 * one track ends at an occluder, another of the same median colour starts at it within 8 frames, on
 * the side the first was heading to.
 */
function stitchOccluded(tracks: Track[], ctx: SceneContext): Track[] {
  const at = (d: Detection) => ctx.occluders.some((o) => Math.max(o.x0 - d.x1, d.x0 - o.x1, 0) <= 2 && Math.max(o.y0 - d.y1, d.y0 - o.y1, 0) <= 2);
  const med = (tr: Track) => [0, 1, 2].map((k) => tr.points.map((p) => p.det.rgb[k]).sort((a, b) => a - b)[tr.points.length >> 1]);
  const gone = new Set<Track>();
  for (const a of tracks) {
    const end = a.points[a.points.length - 1];
    if (gone.has(a) || end.t >= ctx.frames - 1 || a.absorbedBy || !at(end.det) || a.points.length < 2) continue;
    const vx = end.det.x - a.points[a.points.length - 2].det.x;
    // speed and size from frames where it is in full view (slivers at the wall bias the centroid)
    const full = (tr: Track) => tr.points.filter((p, i) => i > 0 && hidingDistance(p.det, ctx) > 1 && hidingDistance(tr.points[i - 1].det, ctx) > 1);
    const stepsOf = (tr: Track) => full(tr).map((p) => { const q = tr.points[tr.points.indexOf(p) - 1]; return Math.abs(p.det.x - q.det.x) / (p.t - q.t); });
    const ca = med(a);
    const b = tracks.find((b) => {
      const st = b.points[0];
      if (b === a || gone.has(b) || st.t <= end.t || st.t > end.t + 8 || !at(st.det) || b.splitFrom) return false;
      if (Math.abs(vx) >= 0.3 && Math.sign(st.det.x - end.det.x) !== Math.sign(vx)) return false;
      // at about the speed it had (a piece that broke off travels at its own)
      const steps = [...stepsOf(a), ...stepsOf(b)].sort((x, y) => x - y);
      if (steps.length) {
        const speed = steps[steps.length >> 1];
        const r = Math.sqrt(Math.max(typicalArea(a, ctx), typicalArea(b, ctx)) / Math.PI);
        const dx = Math.abs(st.det.x - end.det.x);
        if (Math.abs(dx - speed * (st.t - end.t)) > 2 * r + 2 + 0.3 * speed * (st.t - end.t)) return false;
      }
      const cb = med(b);
      return Math.hypot(ca[0] - cb[0], ca[1] - cb[1], ca[2] - cb[2]) < 50;
    });
    if (!b) continue;
    a.points.push(...b.points.map((p, i) => (i === 0 ? { ...p, link: 'gap' as const } : p)));
    a.absorbedBy = b.absorbedBy;
    gone.add(b);
  }
  if (!gone.size) return tracks;
  const kept = tracks.filter((t) => !gone.has(t));
  const ids = new Map(kept.map((t, i) => [t.id, i]));
  return kept.map((t) => ({
    ...t,
    id: ids.get(t.id)!,
    absorbedBy: t.absorbedBy && ids.has(t.absorbedBy.track) ? { track: ids.get(t.absorbedBy.track)!, t: t.absorbedBy.t } : undefined,
    splitFrom: t.splitFrom && ids.has(t.splitFrom.track) ? { track: ids.get(t.splitFrom.track)!, t: t.splitFrom.t } : undefined,
  }));
}

/** Analyse one clip held in memory. */
export function analyzePhysics(frames: readonly Frame[], path = '<memory>', opts: PhysicsOptions = {}): PhysicsAnalysis {
  if (frames.length < 3) throw new SpacetimeError(`${path}: physics checks need at least 3 frames, got ${frames.length}`);
  const seg = segmentFrames(frames);
  seg.detections = seg.detections.map((ds, t) => joinTouching(ds.filter((d) => !isGhost(d, frames[t]))));
  const ctx = sceneContext(seg);
  const tracks = stitchOccluded(trackObjects(seg, { occluders: ctx.occluders }), ctx);
  const g = estimateGravity(tracks, ctx);
  const gravity = gravityEvents(tracks, ctx, g);
  // an object that is already failing gravity is not also evidence of time reversal
  const reversal = reversalEvents(tracks, ctx, g).filter((e) => !gravity.some((v) => v.object === e.object));
  const raw = pairTeleports(attributeSplits([...permanenceEvents(tracks, ctx), ...teleportEvents(tracks, ctx), ...morphEvents(tracks, ctx), ...gravity, ...reversal], tracks), tracks);
  const objects: PhysicsObject[] = tracks.map((tr) => {
    const rgb = [0, 1, 2].map((k) => {
      const vs = tr.points.map((p) => p.det.rgb[k]).sort((a, b) => a - b);
      return vs[vs.length >> 1];
    });
    return {
      id: tr.id,
      color: colorName(rgb),
      first: tr.points[0].t,
      last: tr.points[tr.points.length - 1].t,
      track: tr.points.map((p) => [p.t, r2(p.det.x), r2(p.det.y), p.det.area] as [number, number, number, number]),
    };
  });
  raw.push(...halvingEvents(tracks, ctx, raw));
  if (opts.prompt) raw.push(...promptEvents(opts.prompt, objects, ctx));
  const minConf = opts.minConfidence ?? 0.5;
  const events = raw
    .filter((e) => e.confidence >= minConf)
    .map((e) => ({ ...e, confidence: r2(e.confidence) }))
    .sort((a, b) => a.frame - b.frame || a.object - b.object);
  const moving = tracks.filter((tr) => {
    const xs = tr.points.map((p) => p.det.x);
    const ys = tr.points.map((p) => p.det.y);
    return Math.max(...xs) - Math.min(...xs) + Math.max(...ys) - Math.min(...ys) > 2;
  }).length;
  const coverage = tracks.length ? tracks.reduce((s, tr) => s + tr.points.length, 0) / (tracks.length * frames.length) : 0;
  const plausibility = events.length ? 1 - Math.max(...events.map((e) => e.confidence)) : 1;
  const result: VideoPhysics = {
    path,
    frames: frames.length,
    objects,
    events,
    scores: {
      objects: tracks.length,
      moving_objects: moving,
      track_coverage: r2(coverage),
      gravity_px_per_frame2: g === null ? null : r2(g),
      mean_object_area: tracks.length ? r2(tracks.reduce((s, tr) => s + typicalArea(tr, ctx), 0) / tracks.length) : 0,
      plausibility: r2(plausibility),
    },
    failures: events.length,
  };
  return { result, segmentation: seg, tracks, context: ctx, gravity: g };
}

/** Analyse video files and (optionally) write the JSON report atomically. */
export async function evalPhysics(paths: readonly string[], opts: PhysicsOptions & { json?: string } = {}): Promise<PhysicsReport> {
  const bar = new Progress('eval physics', paths.length);
  const videos: VideoPhysics[] = [];
  for (const p of paths) {
    const { frames } = await readVideo(p);
    videos.push(analyzePhysics(frames, p, opts).result);
    bar.tick();
  }
  bar.finish();
  const report = { videos };
  if (opts.json) await writeFileAtomic(opts.json, JSON.stringify(report, null, 2) + '\n');
  return report;
}
