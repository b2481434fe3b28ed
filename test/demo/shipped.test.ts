// The committed demo model (models/demo, made by scripts/train-demo-model.mjs) against the bench
// thresholds stored with the demo (configs/demo.json): flicker, physics events, tracked objects and
// the colour and direction named in the prompts, on the default bench suite, rendered exactly as the demo's
// bench stage renders them. A regression in the model files, the exporter, the ONNX engines, the
// sampler or the evaluator fails here. Then `spacetime demo`'s default path (the shipped VAE, a
// fine-tune of the shipped DiT with `train --init`) on a tiny budget, and its missing-model error.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatCheck, judge } from '../../src/demo/checks.js';
import { baseCheckpoints, DEFAULT_CONFIG, readDemoConfig } from '../../src/demo/config.js';
import { demoPaths } from '../../src/demo/paths.js';
import { benchStage } from '../../src/demo/stages-eval.js';
import { runCli, tmpDir } from '../helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the shipped demo model', () => {
  it('meets the bench thresholds of configs/demo.json on the default suite', async () => {
    const cfg = await readDemoConfig(DEFAULT_CONFIG);
    const base = baseCheckpoints(cfg);
    expect(base).not.toBeNull();
    const p = { ...demoPaths(tmpDir('spacetime-shipped-')), model: base!.dir };
    const m = await benchStage(cfg, p);
    expect(m.cases).toBe(12);
    const checks = judge({ bench: m }, cfg.thresholds).filter((c) => c.metric.startsWith('bench.'));
    expect(checks.map((c) => c.name).sort()).toEqual(['bench_colour_match_min', 'bench_direction_match_min', 'bench_failures_per_clip_max', 'bench_flicker_min', 'bench_main_colour_match_min', 'bench_objects_per_clip_min']);
    for (const c of checks) expect(c.ok, formatCheck(c)).toBe(true);
  }, 300_000);

  it('its training record: fewer physics events per clip than the same run at >= 10 % of the steps, and the size limit', () => {
    const rec = JSON.parse(readFileSync(path.join(ROOT, 'models/demo/training.json'), 'utf8'));
    // the short-training reference has at least 10 % of the steps (more steps: a stricter comparison)
    expect(rec.dit.early_step).toBeGreaterThanOrEqual(Math.round(rec.dit.steps / 10));
    expect(rec.dit.early_step).toBeLessThan(rec.dit.steps / 2);
    expect(rec.bench.full.failures_per_clip).toBeLessThan(rec.bench['10pct'].failures_per_clip);
    // one guidance scale everywhere: chosen on the validation suite, stored with the model, used by the demo
    const model = JSON.parse(readFileSync(path.join(ROOT, 'models/demo/config.json'), 'utf8'));
    const ck = JSON.parse(readFileSync(path.join(ROOT, 'models/demo/checkpoints/dit/config.json'), 'utf8'));
    const demo = JSON.parse(readFileSync(DEFAULT_CONFIG, 'utf8'));
    expect(rec.guidance.sweep.map((r: { cfg: number }) => r.cfg)).toContain(rec.guidance.cfg);
    expect([model.defaults.cfg, ck.sample.cfg, demo.generate.cfg, demo.dit.sample.cfg]).toEqual(new Array(4).fill(rec.guidance.cfg));
    expect(rec.bytes).toBeLessThan(20e6);
    for (const f of ['dit.onnx', 'text_encoder.onnx', 'vae_decoder.onnx', 'vae_encoder.onnx', 'config.json', 'tokenizer.json', 'checkpoints/dit/ema.safetensors', 'checkpoints/vae/model.safetensors']) expect(existsSync(path.join(ROOT, 'models/demo', f)), f).toBe(true);
  });
});

describe('generate with the shipped model as the default --model', () => {
  it('writes the README example clip from any working directory', () => {
    const dir = tmpDir('spacetime-default-model-');
    const out = path.join(dir, 'ball.mp4');
    const r = runCli(['generate', '--prompt', 'a red ball bounces from left to right on a grey floor', '--out', out], { cwd: dir });
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    const side = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(side.model?.id ?? side.model).toBeTruthy();
  }, 120_000);
});

describe('spacetime demo on the shipped model', () => {
  const dir = tmpDir('spacetime-demo-base-');
  const env = { SPACETIME_CONFIG_DIR: path.join(dir, 'config') };

  it('uses the shipped VAE and fine-tunes the shipped DiT (tiny budget), then exports, generates and benches', () => {
    const cfg = JSON.parse(readFileSync(DEFAULT_CONFIG, 'utf8'));
    cfg.data = { clips: 6, sizes: ['32x32'], frames: [9], fps: 8, seed: 0, psnr_clips: 2 };
    cfg.dit.steps = 3;
    cfg.dit.data.targetTokens = 128;
    cfg.dit.log = { every: 1, evalEvery: 0, previewEvery: 3, previewSteps: 2 };
    cfg.dit.checkpoint = { every: 3, keepLast: 1 };
    cfg.export = { ema: true, frames: 9, size: '32x32', fps: 8 };
    cfg.generate.steps = 2;
    cfg.generate.extend = { ...cfg.generate.extend, clip: 1, frames: 4 };
    cfg.bench = { suite: 'bench/default.json', cases: 1, steps: 2, temporal: false };
    for (const k of Object.keys(cfg.thresholds)) cfg.thresholds[k] = null;
    cfg.thresholds.dit_loss_last_max = 10;
    const file = path.join(dir, 'tiny-base.json');
    writeFileSync(file, JSON.stringify(cfg));
    const out = path.join(dir, 'demo');
    const r = runCli(['demo', '--config', file, '--out', out], { env, timeout: 200_000 });
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/demo \[2\/9\] vae: use the shipped video VAE \(models\/demo\/checkpoints\/vae\)/);
    expect(r.stderr).toMatch(/demo \[5\/9\] dit: fine-tune the shipped DiT \(models\/demo\/checkpoints\/dit\) for 3 steps/);
    expect(r.stderr).toMatch(/init: fine-tuning .*models\/demo\/checkpoints\/dit/);
    expect(r.stdout).toMatch(/--init .*models\/demo\/checkpoints\/dit/);
    const j = JSON.parse(readFileSync(path.join(out, 'demo.json'), 'utf8'));
    expect(j.status).toBe('passed');
    // the fine-tuned model keeps the shipped architecture and tokenizer
    const shipped = JSON.parse(readFileSync(path.join(ROOT, 'models/demo/checkpoints/dit/config.json'), 'utf8'));
    const tuned = JSON.parse(readFileSync(path.join(out, 'dit.config.json'), 'utf8'));
    expect(tuned.lr.lr).toBe(cfg.dit.lr.lr);
    const ck = JSON.parse(readFileSync(path.join(out, 'model', 'config.json'), 'utf8'));
    expect(ck.dit.hidden).toBe(shipped.model.hidden);
    expect(readFileSync(path.join(out, 'model', 'tokenizer.json'), 'utf8')).toBe(readFileSync(path.join(ROOT, 'models/demo/tokenizer.json'), 'utf8'));
    expect(existsSync(path.join(out, 'vae'))).toBe(false);
  }, 210_000);

  it('a missing base model is one line naming it, before anything is written', () => {
    const cfg = JSON.parse(readFileSync(DEFAULT_CONFIG, 'utf8'));
    cfg.base.model = path.join(dir, 'no-such-model');
    const file = path.join(dir, 'missing-base.json');
    writeFileSync(file, JSON.stringify(cfg));
    const out = path.join(dir, 'never');
    const r = runCli(['demo', '--config', file, '--out', out], { env });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: ${path.join(dir, 'no-such-model', 'checkpoints', 'vae')}: the demo's base model is missing (build it with node scripts/train-demo-model.mjs, or run the from-scratch demo: --config configs/demo-scratch.json)`);
    expect(existsSync(out)).toBe(false);
  });
});
