// `spacetime train` / `spacetime sample` through the built CLI (dist/): a short run, Ctrl-C
// (SIGINT) writing a checkpoint that --resume continues, one-line errors, and sampling to a file.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { finalizeManifest, writeShard, type LatentRow } from '../../src/data/shards.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { Rng } from '../../src/util/rng.js';
import { runCli, tmpDir } from '../helpers.js';
import { interruptTrain } from './tiny.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const root = tmpDir();
const data = path.join(root, 'latents');
const cfgFile = path.join(root, 'tiny.json');

beforeAll(async () => {
  const rng = new Rng(5);
  const rows: LatentRow[] = Array.from({ length: 4 }, (_, i) => ({
    id: `c${i}`,
    latent: rng.normals(2 * 4 * 4 * 4),
    shape: [2, 4, 4, 4] as [number, number, number, number],
    fps: 8,
    caption: i % 2 ? 'a red ball bounces' : 'a blue box slides',
    caption_source: 'test',
    width: 32,
    height: 32,
    frames: 5,
    bucket: '2x4x4',
  }));
  await writeShard(data, 0, rows, { dtype: 'float16' });
  await finalizeManifest(data, { schema_version: 1, vae: { id: 'test', config_hash: 'x' }, dtype: 'float16', stats: 'mean', version: 1 });
  await fs.writeFile(
    cfgFile,
    JSON.stringify({
      model: { preset: 'DiT-T/2', hidden: 16, depth: 1, heads: 2, textWidth: 16, freqDim: 16 },
      text: { vocabSize: 300, maxTokens: 8, depth: 1, heads: 2 },
      steps: 100000,
      data: { targetTokens: 16, maxBatch: 2 },
      checkpoint: { every: 0, keepLast: 2 },
      log: { every: 5, evalEvery: 0 },
    }),
  );
});

describe('spacetime train (CLI)', () => {
  it('SIGINT finishes the step and writes a checkpoint; --resume continues from it', async () => {
    const run = path.join(root, 'run');
    const { code, out, err } = await interruptTrain(path.join(ROOT, 'dist/cli/index.js'), ['--data', data, '--out', run, '--config', cfgFile, '--backend', 'wasm'], 60_000);
    expect(code, err).toBe(0);
    expect(err).toMatch(/interrupt: finishing this step/);
    const ck = await listCheckpoints(run);
    expect(ck.length).toBe(1);
    expect(out.trim()).toBe(ck[0].dir);
    const step = ck[0].step;
    expect(step).toBeGreaterThan(0);
    const r = runCli(['train', '--data', data, '--out', run, '--resume', '--steps', String(step + 2), '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    expect((await listCheckpoints(run)).map((c) => c.step)).toContain(step + 2);
  });

  it('one-line errors for bad flags and files', () => {
    const a = runCli(['train', '--data', path.join(root, 'nope'), '--out', path.join(root, 'x')]);
    expect(a.code).not.toBe(0);
    expect(a.stderr.trim().split('\n').pop()).toMatch(/^error: .*nope/);
    const b = runCli(['train', '--data', data, '--out', path.join(root, 'y'), '--steps', '-3']);
    expect(b.stderr).toMatch(/error: --steps: expected a positive integer/);
    const c = runCli(['sample', '--ckpt', path.join(root, 'nope'), '--prompt', 'x', '--out', path.join(root, 'o.mp4'), '--size', '64']);
    expect(c.stderr).toMatch(/error: --size: expected WxH/);
  });
});
