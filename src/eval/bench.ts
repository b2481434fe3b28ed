// The benchmark runner (`spacetime bench`): a suite of prompted cases → one video per case (from
// an injectable `generate(case)`, or already generated videos) → physics failures, prompt
// adherence (colour, direction, count, expected event) and temporal metrics → results.json and a
// self-contained report.html. In the spirit of VBench (Huang et al. 2024) and PhyGenBench (Meng
// et al. 2024): fixed prompts, per-dimension scores, per-clip evidence.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readVideo, type Frame } from '../data/video.js';
import { makeDirs, writeFileAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { featuresFromFlag } from './features.js';
import { flowFromFlag } from './flow-source.js';
import { analyzePhysics, type PhysicsAnalysis, type VideoPhysics } from './physics.js';
import { parsePrompt, type Direction } from './prompt-check.js';
import { renderReport } from './report.js';
import { scoreFrames } from './temporal-video.js';

export const BenchCaseSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, . _ -'),
  prompt: z.string().min(1),
  expect: z
    .object({
      objects: z.number().int().positive().optional(),
      colours: z.array(z.string()).optional(),
      direction: z.enum(['left', 'right', 'up', 'down']).optional(),
      event: z.enum(['bounces', 'falls', 'rolls', 'slides', 'collides', 'stops', 'swings']).optional(),
    })
    .default({}),
  size: z.string().regex(/^\d+x\d+$/, 'WIDTHxHEIGHT').optional(),
  frames: z.number().int().positive().optional(),
  seed: z.number().int().optional(),
});
export const BenchSuiteSchema = z.object({ name: z.string().default('suite'), cases: z.array(BenchCaseSchema).min(1) });
export type BenchCase = z.infer<typeof BenchCaseSchema>;
export type BenchSuite = z.infer<typeof BenchSuiteSchema>;

/** Produces the video of one case and returns its path (a model, or a lookup of existing files). */
export type Generate = (c: BenchCase) => Promise<string>;

export interface CaseChecks {
  /** Every colour the prompt names is the colour of a tracked object. */
  colour: boolean | null;
  /**
   * The main object's colour (the first one the prompt names, or `expect.colours[0]`) is the colour of
   * a tracked object: issue 6's "colour of the main object matches the prompt". Implied by `colour`;
   * it differs only on prompts that name several colours, and is left out of `adherence`.
   */
  main_colour: boolean | null;
  direction: boolean | null;
  objects: boolean | null;
  event: boolean | null;
}

export interface CaseResult {
  id: string;
  prompt: string;
  video: string;
  frames: number;
  physics: VideoPhysics;
  motions: string[];
  checks: CaseChecks;
  /** Fraction of the applicable checks that passed (null when none apply). */
  adherence: number | null;
  temporal: Record<string, number | boolean | null> | null;
}

export interface BenchResults {
  suite: string;
  created: string;
  cases: CaseResult[];
  summary: Record<string, number | null>;
  baseline?: { file: string; delta: Record<string, number | null> };
  /** Generation settings that overrode the model's defaults for every case (`bench --cfg/--steps`). */
  generation?: { cfg?: number; steps?: number; upsample?: string };
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FileError(file, 'no such file');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new FileError(file, `not valid JSON (${what})`);
  }
}

/** Read and validate a suite file. */
export async function loadSuite(file: string): Promise<BenchSuite> {
  const r = BenchSuiteSchema.safeParse(await readJson(file, 'suite'));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new FileError(file, `${i.path.join('.') || 'suite'}: ${i.message}`);
  }
  const ids = new Set<string>();
  for (const c of r.data.cases) {
    if (ids.has(c.id)) throw new FileError(file, `duplicate case id '${c.id}'`);
    ids.add(c.id);
  }
  return r.data;
}

/**
 * A Generate over videos made elsewhere: `prompts` maps case id → video path (relative to
 * `videosDir`), as a JSON object {"id": "file.mp4"} or an array [{"id", "video"}].
 */
export async function videosGenerator(videosDir: string, promptsFile: string): Promise<Generate> {
  const raw = await readJson(promptsFile, 'prompts');
  const map = new Map<string, string>();
  if (Array.isArray(raw)) {
    for (const [i, e] of raw.entries()) {
      const o = e as { id?: unknown; video?: unknown; path?: unknown };
      const v = o.video ?? o.path;
      if (typeof o.id !== 'string' || typeof v !== 'string') throw new FileError(promptsFile, `entry ${i}: needs string "id" and "video"`);
      map.set(o.id, v);
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== 'string') throw new FileError(promptsFile, `'${k}': expected a video path`);
      map.set(k, v);
    }
  } else throw new FileError(promptsFile, 'expected an object {id: video} or an array of {id, video}');
  return async (c) => {
    const v = map.get(c.id);
    if (!v) throw new FileError(promptsFile, `no video for case '${c.id}'`);
    return path.isAbsolute(v) ? v : path.join(videosDir, v);
  };
}

/** Motions seen in the tracks: the words suite cases expect. */
export function observedMotions(a: PhysicsAnalysis): string[] {
  const out = new Set<string>();
  const { context: ctx } = a;
  const H = ctx.height;
  for (const tr of a.tracks) {
    const p = tr.points;
    if (p.length < 3) continue;
    const ys = p.map((q) => q.det.y);
    const xs = p.map((q) => q.det.x);
    if (ys[ys.length - 1] - ys[0] > 0.15 * H || Math.max(...ys) - ys[0] > 0.2 * H) out.add('falls');
    let turnsX = 0;
    for (let i = 1; i < p.length - 1; i++) {
      const dyIn = ys[i] - ys[i - 1];
      const dyOut = ys[i + 1] - ys[i];
      if (dyIn > 0.5 && dyOut < -0.5) out.add('bounces');
      const dxIn = xs[i] - xs[i - 1];
      const dxOut = xs[i + 1] - xs[i];
      if (dxIn * dxOut < 0 && Math.abs(dxIn) > 0.3 && Math.abs(dxOut) > 0.3) turnsX++;
    }
    const onFloor = ctx.floorY !== null && p.every((q) => q.det.y1 >= ctx.floorY! - 3);
    const dx = Math.abs(xs[xs.length - 1] - xs[0]);
    if (onFloor && dx > 0.1 * ctx.width) {
      const fill = p[0].det.area / ((p[0].det.x1 - p[0].det.x0 + 1) * (p[0].det.y1 - p[0].det.y0 + 1));
      out.add(fill > 0.9 ? 'slides' : 'rolls');
    }
    if (turnsX >= 1 && !out.has('bounces') && Math.max(...ys) - Math.min(...ys) > 1) out.add('swings');
    const tail = p.slice(-3);
    const moved = Math.hypot(xs[xs.length - 1] - xs[0], ys[ys.length - 1] - ys[0]) > 4;
    if (moved && tail.length === 3 && tail.every((q, i) => i === 0 || Math.hypot(q.det.x - tail[i - 1].det.x, q.det.y - tail[i - 1].det.y) < 0.3)) out.add('stops');
  }
  for (const a1 of a.tracks)
    for (const b of a.tracks)
      if (a1.id < b.id && a1.points.some((q) => b.points.some((r) => r.t === q.t && Math.hypot(r.det.x - q.det.x, r.det.y - q.det.y) < Math.sqrt(r.det.area / Math.PI) + Math.sqrt(q.det.area / Math.PI) + 2))) out.add('collides');
  return [...out].sort();
}

/** Prompt-following checks of one case against what was tracked. */
export function checkCase(c: BenchCase, a: PhysicsAnalysis, motions: string[]): CaseChecks {
  const spec = parsePrompt(c.prompt);
  const objs = a.result.objects.filter((o) => o.track.length >= Math.max(3, 0.5 * a.result.frames));
  const colours = c.expect.colours ?? (spec.objects[0] ? [spec.objects[0].color] : []);
  const main = [...objs].sort((x, y) => {
    const span = (o: typeof x) => Math.hypot(o.track[o.track.length - 1][1] - o.track[0][1], o.track[o.track.length - 1][2] - o.track[0][2]);
    return span(y) - span(x);
  })[0];
  const dir: Direction | undefined = c.expect.direction ?? spec.objects[0]?.directions[0];
  let direction: boolean | null = null;
  if (dir) {
    const who = objs.find((o) => o.color === colours[0]) ?? main;
    if (!who) direction = false;
    else {
      const [f, l] = [who.track[0], who.track[who.track.length - 1]];
      const d = { right: l[1] - f[1], left: f[1] - l[1], down: l[2] - f[2], up: f[2] - l[2] }[dir];
      direction = d >= Math.max(2, 0.05 * Math.max(a.context.width, a.context.height));
    }
  }
  const count = c.expect.objects ?? spec.count ?? undefined;
  const seen = (col: string) => objs.some((o) => o.color === col);
  return {
    colour: colours.length ? colours.every(seen) : null,
    main_colour: colours.length ? seen(colours[0]) : null,
    direction,
    objects: count === undefined ? null : objs.length === count,
    event: c.expect.event ? motions.includes(c.expect.event) : null,
  };
}

const mean = (xs: (number | null | undefined)[]): number | null => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
};
const rate = (xs: (boolean | null)[]): number | null => mean(xs.filter((x) => x !== null).map((x) => (x ? 1 : 0)));

export function summarize(cases: readonly CaseResult[]): Record<string, number | null> {
  const t = (k: string) => mean(cases.map((c) => (typeof c.temporal?.[k] === 'number' ? (c.temporal[k] as number) : null)));
  return {
    cases: cases.length,
    physics_clean_rate: rate(cases.map((c) => c.physics.failures === 0)),
    failures_per_clip: mean(cases.map((c) => c.physics.failures)),
    plausibility: mean(cases.map((c) => c.physics.scores.plausibility)),
    prompt_adherence: mean(cases.map((c) => c.adherence)),
    colour_match: rate(cases.map((c) => c.checks.colour)),
    main_colour_match: rate(cases.map((c) => c.checks.main_colour)),
    direction_match: rate(cases.map((c) => c.checks.direction)),
    count_match: rate(cases.map((c) => c.checks.objects)),
    event_match: rate(cases.map((c) => c.checks.event)),
    flicker: t('flicker'),
    motion_smoothness: t('motion_smoothness'),
    warp_error: t('warp_error'),
    subject_consistency: t('subject_consistency'),
    background_consistency: t('background_consistency'),
  };
}

export interface BenchOptions {
  suite: BenchSuite;
  out: string;
  generate: Generate;
  /** Path of an earlier results.json to show deltas against. */
  baseline?: string;
  /** Run the temporal metrics (built-in flow and features); default true. */
  temporal?: boolean;
  /** Recorded in results.json: generation settings the generator was given for every case. */
  generation?: { cfg?: number; steps?: number; upsample?: string };
}

/** Run every case, write OUT/results.json and OUT/report.html, return the results. */
export async function runBench(o: BenchOptions): Promise<BenchResults> {
  let base: BenchResults | undefined;
  if (o.baseline) {
    base = (await readJson(o.baseline, 'baseline results')) as BenchResults;
    if (!base || typeof base !== 'object' || !base.summary) throw new FileError(o.baseline, 'not a bench results.json (no "summary")');
  }
  const tOpts = o.temporal === false ? null : { flow: await flowFromFlag('builtin'), subject: await featuresFromFlag('builtin', 'subject'), background: await featuresFromFlag('builtin', 'background') };
  const bar = new Progress('bench', o.suite.cases.length);
  const cases: CaseResult[] = [];
  const strips: { id: string; frames: Frame[]; analysis: PhysicsAnalysis }[] = [];
  for (const c of o.suite.cases) {
    const video = await o.generate(c);
    const { frames, info } = await readVideo(video);
    const analysis = analyzePhysics(frames, video, { prompt: c.prompt });
    const motions = observedMotions(analysis);
    const checks = checkCase(c, analysis, motions);
    // main_colour is implied by colour, so it is not counted twice
    const applicable = [checks.colour, checks.direction, checks.objects, checks.event].filter((v) => v !== null);
    let temporal: CaseResult['temporal'] = null;
    if (tOpts && frames.length >= 3) {
      const s = await scoreFrames(frames, info.fps || 12, tOpts);
      temporal = { flicker: s.flicker, motion_smoothness: s.motion_smoothness, dynamic_degree: s.dynamic_degree, warp_error: s.warp_error, subject_consistency: s.subject_consistency, background_consistency: s.background_consistency };
    }
    cases.push({ id: c.id, prompt: c.prompt, video, frames: frames.length, physics: analysis.result, motions, checks, adherence: applicable.length ? applicable.filter(Boolean).length / applicable.length : null, temporal });
    strips.push({ id: c.id, frames, analysis });
    bar.tick();
  }
  bar.finish();
  const summary = summarize(cases);
  const results: BenchResults = { suite: o.suite.name, created: new Date().toISOString(), cases, summary };
  if (o.generation && Object.values(o.generation).some((v) => v !== undefined)) results.generation = o.generation;
  if (base && o.baseline) {
    const delta: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(summary)) {
      const b = base.summary[k];
      delta[k] = typeof v === 'number' && typeof b === 'number' ? v - b : null;
    }
    results.baseline = { file: o.baseline, delta };
  }
  await makeDirs(o.out);
  await writeFileAtomic(path.join(o.out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  await writeFileAtomic(path.join(o.out, 'report.html'), await renderReport(results, strips, base));
  return results;
}
