// `eval physics`: segment → track → detect physics failures, for one clip or many, in the JSON
// of DESIGN.md "Eval JSON". Detectors: object permanence and identity (events.ts), dynamics
// (kinematics.ts), prompt adherence (prompt-check.ts). The taxonomy follows VideoPhy (Bansal et
// al. 2024) and Physics-IQ (Motamed et al. 2025); the pipeline is classic detect-then-track.
import { readVideo, type Frame } from '../data/video.js';
import { writeFileAtomic } from '../util/atomic.js';
import { SpacetimeError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { morphEvents, permanenceEvents, sceneContext, teleportEvents, typicalArea, type PhysicsEvent, type SceneContext } from './events.js';
import { estimateGravity, gravityEvents, reversalEvents } from './kinematics.js';
import { colorName } from './palette.js';
import { promptEvents } from './prompt-check.js';
import { segmentFrames, type Segmentation } from './segment.js';
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

/** Analyse one clip held in memory. */
export function analyzePhysics(frames: readonly Frame[], path = '<memory>', opts: PhysicsOptions = {}): PhysicsAnalysis {
  if (frames.length < 3) throw new SpacetimeError(`${path}: physics checks need at least 3 frames, got ${frames.length}`);
  const seg = segmentFrames(frames);
  const ctx = sceneContext(seg);
  const tracks = trackObjects(seg, { occluders: ctx.occluders });
  const g = estimateGravity(tracks, ctx);
  const gravity = gravityEvents(tracks, ctx, g);
  // an object that is already failing gravity is not also evidence of time reversal
  const reversal = reversalEvents(tracks, ctx, g).filter((e) => !gravity.some((v) => v.object === e.object));
  const raw = attributeSplits([...permanenceEvents(tracks, ctx), ...teleportEvents(tracks, ctx), ...morphEvents(tracks, ctx), ...gravity, ...reversal], tracks);
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
