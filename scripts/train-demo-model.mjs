#!/usr/bin/env node
// Reproduce the shipped demo model (models/demo) from scratch with the built CLI (`npm run build`
// first). Every stage is a `spacetime` command with a fixed seed:
//   synth (all scenes, two sizes, two durations) → vae train → encode → caption (builtin) →
//   train the DiT (a checkpoint at 10 % of the steps is kept for comparison) → choose the guidance
//   scale on configs/bench/validation.json → export both with it → bench both on
//   configs/bench/default.json → a README GIF → models/demo (+ docs/demo.gif).
//
//   node scripts/train-demo-model.mjs [--work runs/demo-model] [--out models/demo]
//        [--gif docs/demo.gif] [--clips 1200] [--vae-steps N] [--dit-steps N] [--early-step N] [--quick]
// (--early-step: the checkpoint benched as the short-training reference; default 10 % of the DiT steps)
//
// Stages whose output exists in --work are skipped, so an interrupted run continues where it
// stopped (delete --work to start over). The result is assembled in a temporary directory and
// renamed over --out. models/demo/training.json records the commands, the time of every stage,
// the final losses and the bench table of the full model and the 10 % model.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, cpSync, writeFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const work = path.resolve(flag('work', path.join(root, 'runs/demo-model')));
const out = path.resolve(flag('out', path.join(root, 'models/demo')));
const gif = path.resolve(flag('gif', path.join(root, 'docs/demo.gif')));
const SEED = 20261122;
const clips = Number(flag('clips', quick ? 14 : 1200));
const vaeCfg = path.join(root, 'configs/demo-model/vae.json');
const ditCfg = path.join(root, 'configs/demo-model/dit.json');
const vaeSteps = Number(flag('vae-steps', quick ? 4 : JSON.parse(readFileSync(vaeCfg, 'utf8')).train.steps));
const ditSteps = Number(flag('dit-steps', quick ? 10 : JSON.parse(readFileSync(ditCfg, 'utf8')).steps));
const earlyStep = Number(flag('early-step', Math.max(1, Math.round(ditSteps / 10))));
const cli = path.join(root, 'dist/cli/index.js');
if (!existsSync(cli)) {
  console.error(`error: ${cli}: not built (run npm run build)`);
  process.exit(1);
}
mkdirSync(work, { recursive: true });
const logFile = path.join(work, 'stages.json');
const log = existsSync(logFile) ? JSON.parse(readFileSync(logFile, 'utf8')) : { seed: SEED, stages: {} };
const w = (...p) => path.join(work, ...p);

/** Run one `spacetime` command unless `done` already exists; record its wall time. */
function stage(name, done, argv) {
  if (existsSync(done)) {
    console.log(`[${name}] done earlier (${path.relative(root, done)})`);
    return;
  }
  console.log(`[${name}] spacetime ${argv.join(' ')}`);
  const t0 = Date.now();
    const r = spawnSync(process.execPath, [cli, ...argv], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
  if (r.status !== 0) {
    console.error(`error: stage ${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  log.stages[name] = { command: `spacetime ${argv.map((a) => a.startsWith(work) ? `$WORK${a.slice(work.length)}` : path.isAbsolute(a) ? path.relative(root, a) : a).join(' ')}`, seconds: Math.round((Date.now() - t0) / 100) / 10 };
  writeFileSync(logFile, JSON.stringify(log, null, 2));
}

stage('synth', w('synth', 'clips.jsonl'), ['synth', '--out', w('synth'), '--clips', String(clips), '--sizes', '64x64,64x64,64x64,80x48', '--frames', '17,17,17,9', '--fps', '8', '--seed', String(SEED)]);
const ckptName = (s) => `ckpt-${String(s).padStart(8, '0')}`;
const vaeRun = w('vae');
stage('vae', path.join(vaeRun, ckptName(vaeSteps)), ['vae', 'train', '--data', w('synth'), '--out', vaeRun, ...(existsSync(path.join(vaeRun, 'latest')) ? ['--resume'] : ['--config', vaeCfg, '--seed', String(SEED)]), '--steps', String(vaeSteps), '--backend', 'wasm']);
stage('encode', w('latents', 'manifest.json'), ['encode', '--vae', w('vae'), '--data', w('synth'), '--out', w('latents'), '--backend', 'wasm']);
stage('caption', w('caption.done'), ['caption', '--data', w('latents'), '--clips', w('synth'), '--captioner', 'builtin']);
if (!existsSync(w('caption.done'))) writeFileSync(w('caption.done'), '');
// the DiT: checkpoints every 10 % of the steps, all kept, so the 10 % model stays for comparison
const ditRun = w('dit');
const ditConfig = JSON.parse(readFileSync(ditCfg, 'utf8'));
ditConfig.steps = ditSteps;
ditConfig.checkpoint = { ...(ditConfig.checkpoint ?? {}), every: earlyStep, keepLast: 11 };
ditConfig.log = { ...(ditConfig.log ?? {}), previewVae: w('vae') };
writeFileSync(w('dit.json'), JSON.stringify(ditConfig, null, 2));
// the 10 % checkpoint is copied aside as soon as it exists (keep-last-K would prune it)
const earlyDir = w('dit-early', ckptName(earlyStep));
const keepEarly = () => {
  if (!existsSync(earlyDir) && existsSync(path.join(ditRun, ckptName(earlyStep)))) cpSync(path.join(ditRun, ckptName(earlyStep)), earlyDir, { recursive: true });
};
keepEarly();
// a resumed run may be extended: --dit-steps above the run's steps stretches its lr schedule
stage('dit', path.join(ditRun, ckptName(ditSteps)), existsSync(path.join(ditRun, 'latest')) ? ['train', '--data', w('latents'), '--out', ditRun, '--resume', '--steps', String(ditSteps), '--backend', 'wasm'] : ['train', '--data', w('latents'), '--out', ditRun, '--config', w('dit.json'), '--seed', String(SEED), '--backend', 'wasm']);
keepEarly();
// float16 weights (computed in float32) halve the ONNX files; the bench below measures this export
const exportArgs = ['--vae', w('vae'), '--ema', '--float16', '--frames', '17', '--size', '64x64', '--fps', '8'];
const results = (d) => JSON.parse(readFileSync(w(d, 'results.json'), 'utf8')).summary;
// The guidance scale stored with the model: the one with the best colour + direction match on
// configs/bench/validation.json (the bench prompts with other seeds), never chosen on the bench suite
// itself; ties go to fewer physics events. Both the full and the 10 % model are benched with it.
const valSuite = path.join(root, 'configs/bench/validation.json');
const cfgs = quick ? [ditConfig.sample?.cfg ?? 4.5] : [3, 4.5, 6, 8, 10];
stage('export-sweep', w('export-sweep', 'config.json'), ['export', '--ckpt', path.join(ditRun, ckptName(ditSteps)), '--out', w('export-sweep'), ...exportArgs]);
for (const c of cfgs) stage(`cfg-${c}`, w('cfg-sweep', `cfg-${c}`, 'results.json'), ['bench', '--suite', valSuite, '--model', w('export-sweep'), '--out', w('cfg-sweep', `cfg-${c}`), '--cfg', String(c), '--no-temporal']);
const sweep = cfgs.map((c) => {
  const r = results(path.join('cfg-sweep', `cfg-${c}`));
  return { cfg: c, colour_match: r.colour_match, direction_match: r.direction_match, failures_per_clip: r.failures_per_clip };
});
const score = (r) => (r.colour_match ?? 0) + (r.direction_match ?? 0);
const guidance = sweep.reduce((a, b) => (score(b) > score(a) + 1e-9 || (Math.abs(score(b) - score(a)) <= 1e-9 && b.failures_per_clip < a.failures_per_clip) ? b : a)).cfg;
console.log(`guidance scale ${guidance} (validation suite: ${sweep.map((r) => `cfg ${r.cfg}: colour ${r.colour_match?.toFixed(2)} direction ${r.direction_match?.toFixed(2)} events ${r.failures_per_clip?.toFixed(2)}`).join('; ')})`);
stage('export', w('export', 'config.json'), ['export', '--ckpt', path.join(ditRun, ckptName(ditSteps)), '--out', w('export'), ...exportArgs, '--cfg', String(guidance)]);
stage('export-10pct', w('export-10pct', 'config.json'), ['export', '--ckpt', earlyDir, '--out', w('export-10pct'), ...exportArgs, '--cfg', String(guidance)]);
const suite = path.join(root, 'configs/bench/default.json');
stage('bench', w('bench', 'results.json'), ['bench', '--suite', suite, '--model', w('export'), '--out', w('bench')]);
stage('bench-10pct', w('bench-10pct', 'results.json'), ['bench', '--suite', suite, '--model', w('export-10pct'), '--out', w('bench-10pct')]);

// README GIF: three prompts side by side, upscaled 3× (nearest neighbour)
const prompts = [
  'A small red ball falls from the top left and bounces on a grey floor, moving from left to right, against a plain black background.',
  'A large blue box slides from right to left along a grey floor and slows to a stop, against a plain dark grey background.',
  'A small green ball drops straight down from the top and lands on a grey floor, against a plain dark blue background.',
];
prompts.forEach((p, i) => stage(`gif-${i}`, w(`gif-${i}.mp4`), ['generate', '--model', w('export'), '--prompt', p, '--out', w(`gif-${i}.mp4`), '--seed', String(i), '--no-watermark']));
if (!existsSync(w('demo.gif'))) {
  const { default: ffmpeg } = await import('@ffmpeg-installer/ffmpeg');
  const inputs = prompts.flatMap((_, i) => ['-i', w(`gif-${i}.mp4`)]);
  const filter = `${prompts.map((_, i) => `[${i}:v]`).join('')}hstack=inputs=${prompts.length},scale=iw*3:ih*3:flags=neighbor,split[a][b];[a]palettegen=max_colors=64[p];[b][p]paletteuse`;
  const r = spawnSync(ffmpeg.path, ['-v', 'error', '-y', ...inputs, '-filter_complex', filter, '-loop', '0', w('demo.tmp.gif')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('error: ffmpeg could not write the README GIF');
    process.exit(1);
  }
  renameSync(w('demo.tmp.gif'), w('demo.gif'));
}

// losses from the TensorBoard event files
const { readEvents } = await import(path.join(root, 'dist/train/tensorboard.js'));
async function series(dir, tag) {
  const pts = [];
  for (const f of readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.')))
    for (const e of await readEvents(path.join(dir, f))) for (const v of e.summary?.value ?? []) if (v.tag === tag && typeof v.simple_value === 'number') pts.push([Number(e.step), v.simple_value]);
  return pts.sort((a, b) => a[0] - b[0]);
}
const tail = (s, n = 5) => (s.length ? s.slice(-n).reduce((a, [, v]) => a + v, 0) / Math.min(n, s.length) : null);
const ditLoss = await series(ditRun, 'train/loss');
// VAE reconstruction PSNR on held-out clips (another seed, never trained on)
stage('heldout', w('heldout', 'clips.jsonl'), ['synth', '--out', w('heldout'), '--clips', quick ? '2' : '16', '--sizes', '64x64', '--frames', '17', '--fps', '8', '--seed', String(SEED + 1)]);
const { selectBackend } = await import(path.join(root, 'dist/model/backend.js'));
const { datasetPsnr } = await import(path.join(root, 'dist/demo/stages-data.js'));
await selectBackend('wasm', { quiet: true });
const heldoutPsnr = await datasetPsnr(w('vae'), w('heldout'));
const bytes = (d) => readdirSync(d, { recursive: true }).reduce((s, f) => s + (statSync(path.join(d, f)).isFile() ? statSync(path.join(d, f)).size : 0), 0);

// assemble: the ONNX export, the checkpoints a fine-tune starts from (weights only), the record
const tmp = path.join(path.dirname(out), `.${path.basename(out)}.tmp-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
cpSync(w('export'), tmp, { recursive: true });
const ditCk = path.join(ditRun, ckptName(ditSteps));
mkdirSync(path.join(tmp, 'checkpoints/dit'), { recursive: true });
for (const f of ['config.json', 'state.json', 'tokenizer.json', 'ema.safetensors']) cpSync(path.join(ditCk, f), path.join(tmp, 'checkpoints/dit', f));
// no machine-specific paths in the committed files: the preview VAE is the shipped one, data is named relative to the repo
const relPaths = (f, fix) => writeFileSync(f, fix(readFileSync(f, 'utf8')));
// and a fine-tune of the shipped checkpoint samples its previews with the chosen guidance scale
relPaths(path.join(tmp, 'checkpoints/dit/config.json'), (s) => {
  const c = JSON.parse(s);
  c.log = { ...c.log, previewVae: path.relative(root, path.join(out, 'checkpoints/vae')) };
  c.sample = { ...c.sample, cfg: guidance };
  return JSON.stringify(c, null, 2) + '\n';
});
relPaths(path.join(tmp, 'checkpoints/dit/state.json'), (s) => s.split(JSON.stringify(w('latents'))).join(JSON.stringify(path.relative(root, w('latents')))));
const vaeCk = path.join(w('vae'), readFileSync(w('vae', 'latest'), 'utf8').trim());
mkdirSync(path.join(tmp, 'checkpoints/vae'), { recursive: true });
for (const f of readdirSync(vaeCk)) if (f !== 'optimizer.safetensors') cpSync(path.join(vaeCk, f), path.join(tmp, 'checkpoints/vae', f));
const record = {
  what: 'spacetime demo model, trained from scratch by scripts/train-demo-model.mjs',
  seed: SEED,
  clips,
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  total_minutes: Math.round(Object.values(log.stages).reduce((a, st) => a + st.seconds, 0) / 0.6) / 100,
  stages: log.stages,
  dit: { steps: ditSteps, early_step: earlyStep, loss_first: ditLoss[0]?.[1] ?? null, loss_last5_mean: tail(ditLoss) },
  vae: { heldout_psnr_db: Math.round(heldoutPsnr * 100) / 100 },
  guidance: { cfg: guidance, chosen_on: 'configs/bench/validation.json (colour + direction match; ties: fewer physics events)', sweep },
  bench: { full: results('bench'), '10pct': results('bench-10pct') },
  bytes: bytes(tmp),
};
writeFileSync(path.join(tmp, 'training.json'), JSON.stringify(record, null, 2) + '\n');
if (existsSync(out)) renameSync(out, `${tmp}-old`);
renameSync(tmp, out);
rmSync(`${tmp}-old`, { recursive: true, force: true });
mkdirSync(path.dirname(gif), { recursive: true });
cpSync(w('demo.gif'), gif);
console.log(`wrote ${path.relative(root, out)} (${(record.bytes / 1e6).toFixed(1)} MB) and ${path.relative(root, gif)}`);
console.log(JSON.stringify({ dit: record.dit, bench: record.bench }, null, 2));
