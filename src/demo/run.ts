// `spacetime demo` as a library call: the whole chain, small, in one process — synth → VAE →
// encode → caption → DiT → export → generate → evaluate → bench — each stage a call into the
// library. By default (configs/demo.json, `base`) the VAE is the shipped one (models/demo) and
// the DiT stage fine-tunes the shipped DiT; configs/demo-scratch.json trains both from scratch.
// Each stage has a header line, its own progress bars and a measured time. DIR/demo.json records
// timings, metrics, thresholds and checks (also when a stage fails); the demo fails when a stage
// throws or a check falls short of configs/demo*.json (STYLE.md §10: a demo carries its threshold).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { FileError, oneLine, SpacetimeError } from '../util/errors.js';
import { info } from '../util/log.js';
import { fmtTime } from '../util/progress.js';
import { judge, type Check } from './checks.js';
import { baseCheckpoints, DEFAULT_CONFIG, PACKAGE_DIR as PACKAGE, QUICK_CONFIG, readDemoConfig, type DemoConfig } from './config.js';
import { prepareOut, type DemoPaths } from './paths.js';
import { baseVaeStage, captionStage, encodeStage, relative, synthStage, vaeStage, type Metrics } from './stages-data.js';
import { benchStage, evaluateStage } from './stages-eval.js';
import { generateStage, type GeneratedClip } from './stages-generate.js';
import { ditStage, exportStage } from './stages-model.js';
import { summaryText, type StageRecord } from './summary.js';

export interface DemoOptions {
  out: string;
  /** Replace a previous demo's outputs in `out`. */
  force?: boolean;
  /** Tiny everything (configs/demo-quick.json): for tests. */
  quick?: boolean;
  /** A demo config file (default configs/demo.json, or demo-quick.json with quick). */
  config?: string;
  /** Where the closing summary goes (default stdout). */
  print?: (text: string) => void;
}

export interface DemoReport {
  status: 'passed' | 'failed' | 'below-threshold';
  config: string;
  seconds: number;
  stages: StageRecord[];
  checks: Check[];
  clips: GeneratedClip[];
  paths: Record<string, string>;
  error?: string;
}

interface Stage {
  name: string;
  title: string;
  run: () => Promise<Metrics>;
}

function relPaths(p: DemoPaths): Record<string, string> {
  const { out, ...rest } = p;
  return { out, ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, relative(out, v)])) };
}

/** Run the demo; resolves with the report when every stage ran and every check passed, else throws. */
export async function runDemo(opts: DemoOptions): Promise<DemoReport> {
  const file = opts.config ?? (opts.quick ? QUICK_CONFIG : DEFAULT_CONFIG);
  const cfg: DemoConfig = await readDemoConfig(file);
  const base = baseCheckpoints(cfg);
  if (base) {
    for (const dir of [base.vae, base.dit])
      if (!existsSync(path.join(dir, 'config.json'))) throw new FileError(dir, `the demo's base model is missing (build it with node scripts/train-demo-model.mjs, or run the from-scratch demo: --config configs/demo-scratch.json)`);
  }
  const p = await prepareOut(opts.out, Boolean(opts.force));
  const t0 = Date.now();
  let vaeCkpt = '';
  let clips: GeneratedClip[] = [];
  const stages: Stage[] = [
    { name: 'synth', title: `synthesize ${cfg.data.clips} clips (${cfg.data.scenes.length} scene types) + ${cfg.data.psnr_clips} held out`, run: () => synthStage(cfg, p) },
    {
      name: 'vae',
      title: base ? `use the shipped video VAE (${relative(PACKAGE, base.vae)}), measured on held-out clips` : `train a small video VAE (${cfg.vae.train.steps} steps)`,
      run: async () => {
        const { ckpt, ...m } = base ? await baseVaeStage(cfg, p, base.vae) : await vaeStage(cfg, p);
        vaeCkpt = ckpt;
        return { ...m, ckpt: relative(p.out, ckpt) };
      },
    },
    { name: 'encode', title: 'encode the clips into latent shards', run: () => encodeStage(cfg, p, vaeCkpt) },
    { name: 'caption', title: 'recaption the shards from ground truth (builtin captioner)', run: () => captionStage(p) },
    {
      name: 'dit',
      title: base ? `fine-tune the shipped DiT (${relative(PACKAGE, base.dit)}) for ${String(cfg.dit.steps ?? 'default')} steps, TensorBoard logs` : `train the DiT (${String(cfg.dit.steps ?? 'default')} steps, TensorBoard logs)`,
      run: async () => {
        const { ckpt, ...m } = await ditStage(cfg, p, vaeCkpt, base?.dit);
        return { ...m, ckpt: relative(p.out, ckpt) };
      },
    },
    { name: 'export', title: 'export DiT + text encoder + VAE to ONNX', run: () => exportStage(cfg, p, vaeCkpt) },
    {
      name: 'generate',
      title: `generate ${cfg.generate.t2v.length} text-to-video, 1 image-to-video and 1 extension clip`,
      run: async () => {
        const g = await generateStage(cfg, p);
        clips = g.clips;
        return g.metrics;
      },
    },
    { name: 'evaluate', title: 'temporal metrics and physics detector on the generated clips', run: () => evaluateStage(p, clips) },
    { name: 'bench', title: 'bench suite with the exported model → report.html', run: () => benchStage(cfg, p) },
  ];

  const records: StageRecord[] = stages.map((s) => ({ name: s.name, title: s.title, status: 'skipped', seconds: 0, metrics: {} }));
  const metrics: Record<string, Metrics> = {};
  const report = (): DemoReport => ({ status: 'failed', config: file, seconds: (Date.now() - t0) / 1000, stages: records, checks: [], clips, paths: relPaths(p) });
  const write = (r: DemoReport) => writeFileAtomic(p.json, JSON.stringify({ name: cfg.name, quick: Boolean(opts.quick), ...r, thresholds: cfg.thresholds, clips: r.clips.map((c) => ({ ...c, path: relative(p.out, c.path) })) }, null, 2) + '\n');

  for (const [i, s] of stages.entries()) {
    const tag = `demo [${i + 1}/${stages.length}] ${s.name}`;
    info(`\n${tag}: ${s.title}`);
    const ts = Date.now();
    const rec = records[i];
    try {
      metrics[s.name] = await s.run();
      rec.metrics = metrics[s.name];
      rec.status = 'ok';
      rec.seconds = (Date.now() - ts) / 1000;
      const shown = Object.entries(rec.metrics).filter(([k]) => k !== 'ckpt').slice(0, 6).map(([k, v]) => `${k} ${v}`);
      info(`${tag}: done in ${fmtTime(rec.seconds)} (${shown.join(', ')})`);
    } catch (err) {
      rec.status = 'failed';
      rec.seconds = (Date.now() - ts) / 1000;
      rec.error = oneLine(err);
      const r = { ...report(), error: `stage ${s.name}: ${rec.error}` };
      await write(r);
      throw new SpacetimeError(`demo: stage ${s.name} failed: ${rec.error} (see ${p.json})`);
    }
  }

  const checks = judge(metrics, cfg.thresholds);
  const failed = checks.filter((c) => !c.ok);
  const final: DemoReport = { ...report(), status: failed.length ? 'below-threshold' : 'passed', checks };
  await write(final);
  (opts.print ?? ((t: string) => process.stdout.write(t)))(summaryText(p, records, checks, cfg.generate.t2v[0], base));
  if (failed.length) {
    throw new SpacetimeError(`demo: ${failed.length} check(s) below threshold: ${failed.map((c) => `${c.metric} = ${c.value ?? 'missing'} (needs ${c.op} ${c.threshold})`).join('; ')} (see ${p.json})`);
  }
  info(`demo: all ${stages.length} stages done and all ${checks.length} checks passed in ${fmtTime(final.seconds)}`);
  return final;
}
