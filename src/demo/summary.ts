// The closing text of `spacetime demo`: stage timings, the threshold checks, where every output
// went, and the commands to try next (each of which works on the demo's own outputs).
import path from 'node:path';
import { fmtTime } from '../util/progress.js';
import { formatCheck, type Check } from './checks.js';
import type { DemoPaths } from './paths.js';

export interface StageRecord {
  name: string;
  title: string;
  status: 'ok' | 'failed' | 'skipped';
  seconds: number;
  metrics: Record<string, unknown>;
  error?: string;
}

/** A path as the user should type it: relative to the cwd when inside it. */
function show(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
}

/** `base`: the shipped checkpoints the demo started from (null when it trained from scratch). */
export function summaryText(p: DemoPaths, stages: readonly StageRecord[], checks: readonly Check[], firstPrompt: string, base: { vae: string; dit: string } | null = null): string {
  const suite = path.join(p.bench, 'suite.json');
  const total = stages.reduce((s, x) => s + x.seconds, 0);
  const lines: string[] = ['', 'stage timings:'];
  for (const s of stages) lines.push(`  ${s.name.padEnd(9)} ${s.status.padEnd(7)} ${fmtTime(s.seconds).padStart(6)}`);
  lines.push(`  ${'total'.padEnd(9)} ${''.padEnd(7)} ${fmtTime(total).padStart(6)}`, '', 'checks (configs/demo*.json thresholds):');
  for (const c of checks) lines.push(`  ${formatCheck(c)}`);
  lines.push(
    '',
    'outputs:',
    `  dataset        ${show(p.data)}  (clips.jsonl + clip-*.mp4)`,
    base ? `  VAE (shipped)  ${show(base.vae)}` : `  VAE run        ${show(p.vae)}`,
    `  latent shards  ${show(p.shards)}  (manifest.json + shard-*.arrow)`,
    `  DiT run        ${show(p.dit)}  (checkpoints + TensorBoard events.out.tfevents.*)`,
    `  DiT config     ${show(p.ditConfig)}`,
    `  ONNX model     ${show(p.model)}`,
    `  clips          ${show(p.clips)}  (t2v-*.mp4, i2v.mp4, extend.mp4, temporal.json, physics.json)`,
    `  bench report   ${show(path.join(p.bench, 'report.html'))}  (results.json, suite.json, prompts.json, videos/)`,
    `  summary        ${show(p.json)}`,
    '',
    'next:',
    `  npx tensorboard --logdir ${show(p.dit)}      # if Python tensorboard is installed`,
    `  npx spacetime generate --model ${show(p.model)} --prompt ${JSON.stringify(firstPrompt)} --out my-clip.mp4`,
    `  npx spacetime bench --model ${show(p.model)} --suite configs/bench/default.json --out my-bench`,
    `  npx spacetime bench --videos ${show(path.join(p.bench, 'videos'))} --prompts ${show(path.join(p.bench, 'prompts.json'))} --suite ${show(suite)} --out my-bench`,
    base
      ? `  npx spacetime train --data ${show(p.shards)} --out my-run --config ${show(p.ditConfig)} --init ${show(base.dit)}`
      : `  npx spacetime train --data ${show(p.shards)} --out my-run --config ${show(p.ditConfig)}`,
  );
  return lines.join('\n') + '\n';
}
