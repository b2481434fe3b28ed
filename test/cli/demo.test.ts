// `spacetime demo --quick` end to end through the built CLI (dist/): every stage's outputs exist,
// demo.json carries timings, metrics and passing checks; and the one-line error for a bad --out.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { judge } from '../../src/demo/checks.js';
import { lossDrop } from '../../src/demo/stages-model.js';
import { runCli, tmpDir } from '../helpers.js';

describe('spacetime demo', () => {
  const dir = tmpDir('spacetime-demo-');
  const out = path.join(dir, 'demo');
  const env = { SPACETIME_CONFIG_DIR: path.join(dir, 'config') };
  let r: ReturnType<typeof runCli>;
  beforeAll(() => {
    r = runCli(['demo', '--quick', '--out', out], { env, timeout: 240_000 });
  }, 250_000);

  it('runs every stage, prints where everything is and exits 0', () => {
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    for (const s of ['synth', 'vae', 'encode', 'caption', 'dit', 'export', 'generate', 'evaluate', 'bench']) expect(r.stderr).toMatch(new RegExp(`demo \\[\\d/9\\] ${s}: done in`));
    expect(r.stdout).toMatch(/checks \(configs\/demo\*\.json thresholds\):/);
    expect(r.stdout).toContain(`npx spacetime generate --model ${path.join(out, 'model')}`);
    expect(r.stdout).toMatch(/npx tensorboard --logdir .*# if Python tensorboard is installed/);
  });

  it('leaves every stage output behind', () => {
    expect(readFileSync(path.join(out, 'data', 'clips.jsonl'), 'utf8').trim().split('\n')).toHaveLength(8);
    expect(readdirSync(path.join(out, 'vae'))).toContain('latest');
    expect(existsSync(path.join(out, 'shards', 'manifest.json'))).toBe(true);
    expect(readdirSync(path.join(out, 'dit')).some((f) => f.startsWith('events.out.tfevents.'))).toBe(true);
    for (const f of ['dit.onnx', 'text_encoder.onnx', 'vae_decoder.onnx', 'tokenizer.json', 'config.json']) expect(existsSync(path.join(out, 'model', f)), f).toBe(true);
    for (const f of ['t2v-1.mp4', 'i2v.mp4', 'i2v-first-frame.png', 'extend.mp4', 'temporal.json', 'physics.json']) expect(existsSync(path.join(out, 'clips', f)), f).toBe(true);
    for (const f of ['results.json', 'report.html', 'prompts.json', 'suite.json']) expect(existsSync(path.join(out, 'bench', f)), f).toBe(true);
    expect(readFileSync(path.join(out, 'bench', 'report.html'), 'utf8')).toMatch(/<html/i);
  });

  it('writes demo.json with per-stage timings, metrics and the checks it passed', () => {
    const j = JSON.parse(readFileSync(path.join(out, 'demo.json'), 'utf8'));
    expect(j.status).toBe('passed');
    expect(j.stages.map((s: { name: string }) => s.name)).toEqual(['synth', 'vae', 'encode', 'caption', 'dit', 'export', 'generate', 'evaluate', 'bench']);
    for (const s of j.stages) {
      expect(s.status).toBe('ok');
      expect(s.seconds).toBeGreaterThanOrEqual(0);
    }
    const m = Object.fromEntries(j.stages.map((s: { name: string; metrics: object }) => [s.name, s.metrics]));
    expect(m.vae.heldout_psnr_db).toBeGreaterThan(j.thresholds.vae_psnr_min);
    expect(m.dit.loss_first).toBeGreaterThan(m.dit.loss_last3_mean);
    expect(m.dit.preview_images).toBeGreaterThanOrEqual(1);
    expect(m.evaluate.flicker).toBeGreaterThan(0);
    expect(m.evaluate.flicker).toBeLessThanOrEqual(1);
    expect(m.bench.cases).toBe(2);
    // quick mode leaves bench_objects_per_clip_min unjudged (null)
    expect(j.checks.map((c: { name: string }) => c.name)).not.toContain('bench_objects_per_clip_min');
    expect(j.checks).toHaveLength(6);
    expect(j.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(j.clips.map((c: { mode: string }) => c.mode)).toEqual(['t2v', 'i2v', 'extend']);
    // extension adds frames to the 9-frame source clip
    expect(j.clips[2].frames).toBeGreaterThan(9);
  });

  it('refuses a non-empty --out with one line naming the flag, and touches nothing there', () => {
    const busy = path.join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(path.join(busy, 'notes.txt'), 'keep me');
    let e = runCli(['demo', '--quick', '--out', busy], { env });
    expect(e.code).toBe(1);
    expect(e.stderr.trim()).toBe(`error: --out: ${busy} is not empty (choose a new directory, or pass --force to replace a previous demo there)`);
    e = runCli(['demo', '--quick', '--force', '--out', busy], { env });
    expect(e.code).toBe(1);
    expect(e.stderr.trim()).toMatch(/^error: --out: .* holds files the demo did not write \(notes\.txt\); --force only replaces a previous demo$/);
    expect(readdirSync(busy)).toEqual(['notes.txt']);
  });

  it('rejects an invalid demo config with one line naming the file and field', () => {
    const bad = path.join(dir, 'bad.json');
    const cfg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../configs/demo-quick.json'), 'utf8'));
    cfg.data.frames = [8];
    writeFileSync(bad, JSON.stringify(cfg));
    const e = runCli(['demo', '--config', bad, '--out', path.join(dir, 'never')], { env });
    expect(e.code).toBe(1);
    expect(e.stderr.trim()).toBe(`error: ${bad}: data.frames: 8 is not 1 + k·4 (the VAE's temporal compression)`);
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
  });
});

describe('spacetime demo below its thresholds', () => {
  const dir = tmpDir('spacetime-demo-fail-');
  it('runs every stage, then exits 1 naming the check that fell short, and records it in demo.json', () => {
    const cfg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../configs/demo-quick.json'), 'utf8'));
    cfg.vae.train.steps = 4;
    cfg.dit.steps = 8;
    cfg.bench.cases = 1;
    // judge only the VAE, against a PSNR no 4-step VAE reaches
    for (const k of Object.keys(cfg.thresholds)) cfg.thresholds[k] = null;
    cfg.thresholds.vae_psnr_min = 60;
    const file = path.join(dir, 'strict.json');
    writeFileSync(file, JSON.stringify(cfg));
    const out = path.join(dir, 'demo');
    const r = runCli(['demo', '--config', file, '--out', out], { env: { SPACETIME_CONFIG_DIR: path.join(dir, 'config') }, timeout: 200_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toMatch(new RegExp(`^error: demo: 1 check\\(s\\) below threshold: vae\\.heldout_psnr_db = [\\d.]+ \\(needs >= 60\\) \\(see ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/demo\\.json\\)$`));
    expect(r.stdout).toMatch(/FAIL {2}vae\.heldout_psnr_db/);
    const j = JSON.parse(readFileSync(path.join(out, 'demo.json'), 'utf8'));
    expect(j.status).toBe('below-threshold');
    expect(j.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name)).toEqual(['vae_psnr_min']);
  }, 210_000);
});

describe('demo thresholds', () => {
  const t = { vae_psnr_min: 16, dit_loss_drop_min: 0.25, flicker_min: 0.9, physics_events_max: 4, bench_flicker_min: 0.9, bench_failures_per_clip_max: 4, bench_objects_per_clip_min: null };
  const good = { vae: { heldout_psnr_db: 18.3 }, dit: { loss_drop: 0.86 }, evaluate: { flicker: 0.99, physics_events_per_clip: 1.2 }, bench: { flicker: 0.99, failures_per_clip: 2.5, objects_per_clip: 0 } };

  it('passes measured values on the right side, skips null thresholds', () => {
    const c = judge(good, t);
    expect(c.map((x) => x.name)).toEqual(['vae_psnr_min', 'dit_loss_drop_min', 'flicker_min', 'physics_events_max', 'bench_flicker_min', 'bench_failures_per_clip_max']);
    expect(c.every((x) => x.ok)).toBe(true);
  });

  it('fails a value past its threshold in either direction, and a missing one', () => {
    const c = judge({ ...good, vae: { heldout_psnr_db: 15.9 }, evaluate: { flicker: 0.99, physics_events_per_clip: 4.2 }, bench: { flicker: null, failures_per_clip: 2, objects_per_clip: 1 } }, { ...t, bench_objects_per_clip_min: 0.5 });
    expect(c.filter((x) => !x.ok).map((x) => `${x.metric}=${x.value}`)).toEqual(['vae.heldout_psnr_db=15.9', 'evaluate.physics_events_per_clip=4.2', 'bench.flicker=null']);
  });

  it('judges the prompt-following rates and the last DiT loss when set', () => {
    const c = judge(
      { dit: { loss_last3_mean: 0.41 }, bench: { colour_match: 0.833, main_colour_match: 0.75, direction_match: 0.7 } },
      { ...t, vae_psnr_min: null, dit_loss_drop_min: null, flicker_min: null, physics_events_max: null, bench_flicker_min: null, bench_failures_per_clip_max: null, dit_loss_last_max: 0.5, bench_colour_match_min: 0.8, bench_main_colour_match_min: 0.8, bench_direction_match_min: 0.8 },
    );
    expect(c.map((x) => `${x.metric} ${x.op} ${x.threshold}: ${x.ok}`)).toEqual(['dit.loss_last3_mean <= 0.5: true', 'bench.colour_match >= 0.8: true', 'bench.main_colour_match >= 0.8: false', 'bench.direction_match >= 0.8: false']);
  });

  it('measures the loss drop from the first logged value to the mean of the last three', () => {
    expect(lossDrop([[10, 2], [20, 1.5], [30, 1], [40, 1], [50, 1]])).toBeCloseTo(0.5, 10);
    expect(lossDrop([[10, 1], [20, 1.2]])).toBeCloseTo(-0.2, 10);
    expect(lossDrop([[10, 1]])).toBe(0);
  });
});
