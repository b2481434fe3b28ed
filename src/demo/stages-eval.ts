// The evaluation stages of `spacetime demo`: temporal metrics (VBench-style flicker, smoothness,
// warp error, consistencies) and the physics detector on the generated clips, then the benchmark
// runner (src/eval/bench.ts) on the bench suite with the exported model, which writes
// results.json and the self-contained report.html.
import path from 'node:path';
import { featuresFromFlag } from '../eval/features.js';
import { flowFromFlag } from '../eval/flow-source.js';
import { evalPhysics } from '../eval/physics.js';
import { evaluateTemporal } from '../eval/temporal-video.js';
import { loadSuite, runBench, type BenchCase } from '../eval/bench.js';
import { runGenerate } from '../infer/generate-run.js';
import { writeFileAtomic } from '../util/atomic.js';
import { SpacetimeError } from '../util/errors.js';
import { suitePath, type DemoConfig } from './config.js';
import type { DemoPaths } from './paths.js';
import { round, type Metrics } from './stages-data.js';
import type { GeneratedClip } from './stages-generate.js';

const num = (v: number | boolean | null | undefined, d = 4) => (typeof v === 'number' && Number.isFinite(v) ? round(v, d) : null);

/** Stage 8: score the generated clips; writes clips/temporal.json and clips/physics.json. */
export async function evaluateStage(p: DemoPaths, clips: readonly GeneratedClip[]): Promise<Metrics> {
  const files = clips.map((c) => c.path);
  const opts = { flow: await flowFromFlag('builtin'), subject: await featuresFromFlag('builtin', 'subject'), background: await featuresFromFlag('builtin', 'background') };
  const t = await evaluateTemporal(files, opts);
  if (t.errors.length) throw new SpacetimeError(`eval temporal: ${t.errors[0].path}: ${t.errors[0].error}`);
  await writeFileAtomic(path.join(p.clips, 'temporal.json'), JSON.stringify({ videos: t.videos, mean: t.mean, settings: t.settings }, null, 2) + '\n');
  const ph = await evalPhysics(files, { json: path.join(p.clips, 'physics.json') });
  const events = ph.videos.reduce((s, v) => s + v.failures, 0);
  const byType: Record<string, number> = {};
  for (const v of ph.videos) for (const e of v.events) byType[e.type] = (byType[e.type] ?? 0) + 1;
  return {
    clips: files.length,
    flicker: num(t.mean.flicker),
    motion_smoothness: num(t.mean.motion_smoothness),
    warp_error: num(t.mean.warp_error),
    subject_consistency: num(t.mean.subject_consistency),
    background_consistency: num(t.mean.background_consistency),
    physics_events_per_clip: round(events / files.length, 3),
    physics_event_types: Object.entries(byType).map(([k, n]) => `${k} ${n}`).join(', ') || 'none',
  };
}

/**
 * Stage 9: the bench suite. Every case is rendered first in one set of ONNX sessions (at the
 * demo model's export.frames: its VAE's 1 + k·s_t frame counts need not match the suite's), then
 * runBench scores them and writes bench/results.json and bench/report.html.
 */
export async function benchStage(cfg: DemoConfig, p: DemoPaths): Promise<Metrics> {
  const suite = await loadSuite(suitePath(cfg));
  const cases = cfg.bench.cases > 0 ? suite.cases.slice(0, cfg.bench.cases) : suite.cases;
  const videos = path.join(p.bench, 'videos');
  const frames = cfg.export.frames;
  const out = (c: BenchCase) => path.join(videos, `${c.id}.mp4`);
  await runGenerate({
    model: p.model,
    jobs: cases.map((c) => ({ prompt: c.prompt, out: out(c), frames, size: cfg.export.size, seed: c.seed ?? 0, steps: cfg.bench.steps, cfg: cfg.generate.cfg })),
  });
  // The suite as run and the id → video map: `spacetime bench --videos … --prompts …` re-scores them.
  await writeFileAtomic(path.join(p.bench, 'suite.json'), JSON.stringify({ name: suite.name, cases }, null, 1) + '\n');
  await writeFileAtomic(path.join(p.bench, 'prompts.json'), JSON.stringify(Object.fromEntries(cases.map((c) => [c.id, `${c.id}.mp4`])), null, 1) + '\n');
  const r = await runBench({ suite: { ...suite, cases }, out: p.bench, generate: async (c) => out(c), temporal: cfg.bench.temporal });
  const s = r.summary;
  return {
    suite: suite.name,
    cases: cases.length,
    frames,
    physics_clean_rate: num(s.physics_clean_rate, 3),
    failures_per_clip: num(s.failures_per_clip, 3),
    objects_per_clip: round(r.cases.reduce((n, c) => n + c.physics.objects.length, 0) / Math.max(1, r.cases.length), 3),
    prompt_adherence: num(s.prompt_adherence, 3),
    colour_match: num(s.colour_match, 3),
    main_colour_match: num(s.main_colour_match, 3),
    direction_match: num(s.direction_match, 3),
    event_match: num(s.event_match, 3),
    flicker: num(s.flicker),
    motion_smoothness: num(s.motion_smoothness),
  };
}
