// Synthetic physics clips: sample a scene, simulate it, optionally plant one known failure,
// render anti-aliased RGB frames, and write the ground truth and a caption (DESIGN.md "Clip
// dataset"; `spacetime synth`). `renderClip` works in memory (tests, eval); `synthDataset`
// writes clip-00000.mp4 … plus clips.jsonl into a new directory, atomically.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { produceDirAtomic } from '../../util/atomic.js';
import { FileError, SpacetimeError } from '../../util/errors.js';
import { Progress, type ProgressOptions } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { writeClips, type Clip, type PhysicsTruth } from '../clips.js';
import { writeVideo, type Frame } from '../video.js';
import { writeCaption, type ClipEvent } from './caption.js';
import { OBJECT_COLORS } from './palette.js';
import { simulate } from './physics.js';
import { hiddenByOccluder, inFrame, isVisible, renderFrames, type DrawState } from './render.js';
import { sampleScene, type SceneKind, type SceneSetup } from './scenes.js';
import type { SynthOptions } from './options.js';
import { objectsNeeded, plantViolation, sceneAllows, type Plantable, type Planted } from './violations.js';

export { SCENES, type SceneKind, type SceneSetup } from './scenes.js';
export { PLANTABLE, type Plantable } from './violations.js';
export type { SynthOptions } from './options.js';

export interface ClipSpec {
  scene: SceneKind;
  width: number;
  height: number;
  frames: number;
  fps: number;
  /** Plant exactly one failure of this type (null/absent: a clean clip). */
  violation?: Plantable | null;
}

export interface RenderedClip {
  frames: Frame[];
  truth: PhysicsTruth;
  caption: string;
  /** The sampled scene (initial conditions), for tests and diagnostics. */
  setup: SceneSetup;
}

const MAX_TRIES = 40;
const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** Occlusion events of the clean motion: first frame fully behind a wall, first frame back in view. */
function occlusionEvents(setup: SceneSetup, draw: DrawState[][]): ClipEvent[] {
  const out: ClipEvent[] = [];
  draw.forEach((track, k) => {
    let hidden = false;
    track.forEach((s, f) => {
      const h = inFrame(s, setup.width, setup.height) && hiddenByOccluder(s, setup.occluders);
      if (h && !hidden) out.push({ type: 'occluded', frame: f, object: k });
      if (!h && hidden) out.push({ type: 'reappear', frame: f, object: k });
      hidden = h;
    });
  });
  return out;
}

/** Simulate and render one clip. Deterministic in `rng`. */
export function renderClip(spec: ClipSpec, rng: Rng): RenderedClip {
  const v = spec.violation ?? null;
  if (v && !sceneAllows(v, spec.scene)) throw new SpacetimeError(`cannot plant '${v}' in a '${spec.scene}' scene`);
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const setup = sampleScene(spec.scene, { width: spec.width, height: spec.height, frames: spec.frames, fps: spec.fps, minObjects: v ? objectsNeeded(v) : 1 }, rng);
    const sim = simulate(setup);
    const draw: DrawState[][] = sim.states.map((track) => track.map((s) => ({ ...s, drawn: true })));
    const occl = occlusionEvents(setup, draw);
    const events = [...sim.events, ...occl].sort((a, b) => a.frame - b.frame || a.object - b.object);
    const caption = writeCaption({ setup, path: sim.states, events });
    let planted: Planted | null = null;
    if (v) {
      planted = plantViolation(v, setup, draw, sim.events, rng);
      if (!planted) continue;
    }
    const frames = renderFrames(setup, draw);
    return { frames, truth: buildTruth(setup, draw, events, planted), caption, setup };
  }
  throw new SpacetimeError(`could not plant '${v}' in a ${spec.width}x${spec.height} '${spec.scene}' clip of ${spec.frames} frames after ${MAX_TRIES} scenes (try larger sizes or more frames)`);
}

function buildTruth(setup: SceneSetup, draw: DrawState[][], events: ClipEvent[], planted: Planted | null): PhysicsTruth {
  const bg = setup.background;
  return {
    scene: setup.scene,
    background: bg.kind === 'flat' ? `plain ${bg.color}` : `${bg.color} ${bg.kind}`,
    gravity: r3(setup.gravity),
    floor: setup.floorY,
    objects: setup.bodies.map((b, k) => ({
      id: b.id,
      shape: b.shape,
      color: b.color,
      rgb: [...OBJECT_COLORS[b.color]] as [number, number, number],
      mass: r3(b.mass),
      ...(b.pendulum ? { pivot: [r3(b.pendulum.px), r3(b.pendulum.py)] as [number, number] } : {}),
      frames: draw[k].map((s) => ({ x: r3(s.x), y: r3(s.y), w: r3(s.w), h: r3(s.h), visible: isVisible(s, setup), ...(s.color ? { color: s.color } : {}) })),
    })),
    occluders: setup.occluders.map((o) => ({ x: r3(o.x), y: r3(o.y), w: r3(o.w), h: r3(o.h), color: o.color })),
    events: events.map((e) => (e.other === undefined ? { type: e.type, frame: e.frame, object: e.object } : { type: e.type, frame: e.frame, object: e.object, other: e.other })),
    violations: planted ? [{ type: planted.type, frame: planted.frame, object: planted.object, detail: planted.detail }] : [],
  };
}

/** The per-clip random stream: independent of the other clips, so clip i is reproducible alone. */
export function clipRng(seed: number, index: number): Rng {
  return new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

/** Which failure (if any) clip `index` gets: rate spreads them evenly and cycles the types. */
export function violationFor(opts: Pick<SynthOptions, 'violations'>, index: number): Plantable | null {
  const v = opts.violations;
  if (!v || !v.types.length) return null;
  if (v.rate === null) return v.types[index % v.types.length];
  const before = Math.floor(index * v.rate + 1e-9);
  const upto = Math.floor((index + 1) * v.rate + 1e-9);
  return upto > before ? v.types[before % v.types.length] : null;
}

/** The spec of clip `index` and its random stream (positioned after the spec draws). */
export function clipSpec(opts: Omit<SynthOptions, 'out' | 'clips'>, index: number): { spec: ClipSpec; rng: Rng } {
  const rng = clipRng(opts.seed, index);
  const violation = violationFor(opts, index);
  let scene = opts.scenes[index % opts.scenes.length];
  if (violation && !sceneAllows(violation, scene)) {
    const ok = opts.scenes.filter((s) => sceneAllows(violation, s));
    if (!ok.length) throw new SpacetimeError(`no scene in --scenes can show '${violation}'`);
    scene = ok[index % ok.length];
  }
  const [width, height] = rng.pick(opts.sizes);
  const frames = rng.pick(opts.frames);
  return { spec: { scene, width, height, frames, fps: opts.fps, violation }, rng };
}

/**
 * Render clip `index` of a dataset. When its scene offers no clean place for its failure (tiny
 * frames), the next allowed scenes in --scenes are tried in order, so a run never dies on one clip.
 */
export function renderIndexed(opts: Omit<SynthOptions, 'out' | 'clips'>, index: number): { spec: ClipSpec; clip: RenderedClip } {
  const { spec, rng } = clipSpec(opts, index);
  const alts = spec.violation ? opts.scenes.filter((s) => s !== spec.scene && sceneAllows(spec.violation!, s)) : [];
  let lastErr: unknown;
  for (const scene of [spec.scene, ...alts]) {
    try {
      const s = { ...spec, scene };
      return { spec: s, clip: renderClip(s, rng) };
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

export interface SynthSummary {
  out: string;
  clips: number;
  violations: Partial<Record<Plantable, number>>;
  scenes: Partial<Record<SceneKind, number>>;
}

/** Write a synthetic clip dataset to `opts.out` (which must not exist or be empty). */
export async function synthDataset(opts: SynthOptions, progress: ProgressOptions = {}): Promise<SynthSummary> {
  const out = path.resolve(opts.out);
  const existing = await fs.readdir(out).catch(() => null);
  if (existing && existing.length) throw new FileError(opts.out, 'already exists and is not empty (choose a new --out)');
  const summary: SynthSummary = { out: opts.out, clips: opts.clips, violations: {}, scenes: {} };
  const bar = new Progress('synth', opts.clips, progress);
  await produceDirAtomic(out, async (tmp) => {
    const clips: Clip[] = new Array(opts.clips);
    // Render clip i+1 while clip i encodes: ffmpeg runs in its own process.
    let pending: Promise<void> = Promise.resolve();
    for (let i = 0; i < opts.clips; i++) {
      const { spec, clip: r } = renderIndexed(opts, i);
      const name = `clip-${String(i).padStart(5, '0')}.mp4`;
      await pending;
      pending = writeVideo(path.join(tmp, name), r.frames, { fps: spec.fps }).then(() => bar.tick());
      clips[i] = { id: `synth-${String(i).padStart(5, '0')}`, path: name, width: spec.width, height: spec.height, frames: spec.frames, fps: spec.fps, caption: r.caption, caption_source: 'synth', physics: r.truth };
      summary.scenes[spec.scene] = (summary.scenes[spec.scene] ?? 0) + 1;
      const planted = r.truth.violations[0]?.type as Plantable | undefined;
      if (planted) summary.violations[planted] = (summary.violations[planted] ?? 0) + 1;
    }
    await pending;
    await writeClips(tmp, clips);
  });
  bar.finish();
  return summary;
}
