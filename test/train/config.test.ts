// Config fixtures (valid, partial, invalid): every configs/train*.json validates; a partial config
// gets the documented defaults; a bad field is named in the error.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTrainConfig, parseTrainConfig } from '../../src/train/config.js';

const CONFIGS = path.resolve(import.meta.dirname, '../../configs');

describe('train config', () => {
  it('every configs/train*.json, configs/finetune.json and configs/demo-model/dit.json is valid', async () => {
    const files = [...(await fs.readdir(CONFIGS)).filter((f) => /^train.*\.json$/.test(f)), 'finetune.json', 'demo-model/dit.json'];
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const cfg = await loadTrainConfig(path.join(CONFIGS, f));
      expect(cfg.model.hidden, f).toBeGreaterThan(0);
    }
    const ddpm = await loadTrainConfig(path.join(CONFIGS, 'train-ddpm.json'));
    expect(ddpm.objective.ddpm).toEqual({ schedule: 'linear', trainSteps: 1000, prediction: 'v', zeroTerminalSnr: true });
    expect(ddpm.data.mode).toBe('pack');
  });

  it('partial config: defaults filled, flag overrides applied', async () => {
    const cfg = parseTrainConfig({ model: 'DiT-T/2' });
    expect(cfg.objective.kind).toBe('rf');
    expect(cfg.objective.rf.logitStd).toBe(1);
    expect(cfg.lr.schedule).toBe('cosine');
    expect(cfg.data.latentScale).toBe('auto');
    expect(cfg.model.patch).toEqual([1, 2, 2]);
    // options added later default to what older checkpoints were trained with
    expect(cfg.model.absPos).toBe('none');
    expect(cfg.text.prevToken).toBe(false);
    expect(cfg.text.embedNorm).toBe(false);
    expect(cfg.text.bigramBuckets).toBe(0);
    expect(cfg.text.lrScale).toBe(1);
    const over = await loadTrainConfig(undefined, { steps: 7, seed: 3 });
    expect([over.steps, over.seed]).toEqual([7, 3]);
    // a stored (fully resolved) config re-validates to itself
    expect(parseTrainConfig(JSON.parse(JSON.stringify(cfg)))).toEqual(cfg);
  });

  it('invalid configs name the field', async () => {
    expect(() => parseTrainConfig({ steps: 0 })).toThrow(/--config: steps: /);
    expect(() => parseTrainConfig({ model: 'DiT-XXL' })).toThrow(/unknown DiT preset 'DiT-XXL'/);
    // misspelt model overrides are errors (they were once dropped silently, leaving the preset's value)
    expect(() => parseTrainConfig({ model: { preset: 'DiT-T/2', hiddn: 99 } })).toThrow(/model\.hiddn: unknown key/);
    expect(() => parseTrainConfig({ model: { preset: 'DiT-T/2', rope: { thetaa: 1 } } })).toThrow(/model\.rope\.thetaa: unknown key/);
    expect(() => parseTrainConfig({ lr: { warmup: 3 } })).toThrow(/lr/);
    expect(() => parseTrainConfig({ objective: { kind: 'ddpm', ddpm: { prediction: 'eps', zeroTerminalSnr: true } } })).toThrow(/zero terminal SNR needs v-prediction/);
    expect(() => parseTrainConfig({ text: { heads: 3 } })).toThrow(/text\.heads: model\.textWidth 64 is not divisible by text\.heads 3/);
    await expect(loadTrainConfig('/nonexistent/x.json')).rejects.toThrow(/x\.json: cannot read config file/);
  });
  it('pairs the default sampler with the objective and rejects mismatches', () => {
    expect(parseTrainConfig({}).sample.sampler).toBe('euler');
    expect(parseTrainConfig({ objective: { kind: 'ddpm' } }).sample.sampler).toBe('ddim');
    expect(() => parseTrainConfig({ objective: { kind: 'ddpm' }, sample: { sampler: 'euler' } })).toThrow(/sample\.sampler: 'euler' integrates a rectified-flow velocity/);
    expect(() => parseTrainConfig({ sample: { sampler: 'ddim' } })).toThrow(/sample\.sampler: 'ddim' needs a DDPM model/);
  });
});
