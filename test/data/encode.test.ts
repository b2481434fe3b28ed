import { beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { encodeDataset } from '../../src/data/encode.js';
import { writeClips } from '../../src/data/clips.js';
import { readManifest, readShard } from '../../src/data/shards.js';
import { readVideo, writeVideo } from '../../src/data/video.js';
import { selectBackend } from '../../src/model/backend.js';
import { configHash, createVAE, loadVAE } from '../../src/model/vae.js';
import { paramsToTensors, saveCheckpoint } from '../../src/train/checkpoint.js';
import { movingSquare, runCli, tmpDir } from '../helpers.js';

const dir = tmpDir('spacetime-encode-');
const data = path.join(dir, 'clips');
const run = path.join(dir, 'vae');
const model = { base_channels: 8, channel_mult: [1, 2, 2], latent_channels: 4, spatial_compression: 4, temporal_compression: 4, groups: 4 };

describe('spacetime encode', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { quiet: true });
    const vae = createVAE(model, 1);
    await saveCheckpoint(run, 3, { files: { model: paramsToTensors(vae.params) }, config: { kind: 'spacetime-vae', model: vae.config, train: {}, config_hash: configHash(vae.config) }, state: {} });
    vae.dispose();
    // 5 clips: two 32x32 (11 frames → trimmed to 9), one 40x24 (7 → 5), one image-like 1-frame clip, one corrupt file
    await writeVideo(path.join(data, 'a.mp4'), movingSquare(11, 32, 32), { fps: 8 });
    await writeVideo(path.join(data, 'b.mp4'), movingSquare(11, 32, 32, { dy: 1 }), { fps: 8 });
    await writeVideo(path.join(data, 'c.mp4'), movingSquare(7, 40, 24), { fps: 12 });
    await writeVideo(path.join(data, 'd.mp4'), movingSquare(1, 16, 16), { fps: 8 });
    await fs.writeFile(path.join(data, 'bad.mp4'), 'not a video at all');
    await writeClips(data, [
      { id: 'a', path: 'a.mp4', width: 32, height: 32, frames: 11, fps: 8, caption: 'a red square' },
      { id: 'bad', path: 'bad.mp4', width: 32, height: 32, frames: 9, fps: 8 },
      { id: 'b', path: 'b.mp4', width: 32, height: 32, frames: 11, fps: 8 },
      { id: 'c', path: 'c.mp4', width: 40, height: 24, frames: 7, fps: 12 },
      { id: 'd', path: 'd.mp4', width: 16, height: 16, frames: 1, fps: 8 },
    ]);
  });

  it('writes shards that read back with the right latent shapes; a corrupt clip is recorded and skipped', async () => {
    const out = path.join(dir, 'lat-a');
    const r = await encodeDataset({ vae: run, data, out, shardSize: 2, batch: 2, progress: false });
    expect(r.written).toEqual([0, 1, 2]);
    expect(r.failures.map((f) => f.id)).toEqual(['bad']);
    expect(await fs.readFile(path.join(out, 'encode-errors.jsonl'), 'utf8')).toMatch(/"id":"bad"/);
    expect(r.frames).toBe(9 + 9 + 5 + 1);
    const m = await readManifest(out);
    expect(m).toMatchObject({ schema_version: 1, dtype: 'float16', stats: 'mean', vae: { config_hash: configHash(createVAE(model).config) } });
    expect(m.vae.id).toMatch(/^vae\/ckpt-00000003@[0-9a-f]{12}$/);
    const rows = (await Promise.all(m.shards.map((s) => readShard(path.join(out, s.file))))).flat();
    expect(rows.map((row) => [row.id, row.shape, row.frames, row.width, row.height, row.bucket])).toEqual([
      ['a', [3, 8, 8, 4], 9, 32, 32, '3x8x8'],
      ['b', [3, 8, 8, 4], 9, 32, 32, '3x8x8'],
      ['c', [2, 6, 10, 4], 5, 40, 24, '2x6x10'],
      ['d', [1, 4, 4, 4], 1, 16, 16, '1x4x4'],
    ]);
    expect(rows[0].caption).toBe('a red square');
    // the stored latent is the VAE's posterior mean (float16 precision)
    const { vae } = await loadVAE(run);
    const frames = (await readVideo(path.join(data, 'a.mp4'))).frames.slice(0, 9);
    const x = tf.tensor5d(Float32Array.from(frames.flatMap((f) => Array.from(f.data, (v) => v / 127.5 - 1))), [1, 9, 32, 32, 3]);
    const ref = vae.encode(x).mean.dataSync();
    let err = 0;
    for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(ref[i] - rows[0].latent[i]) / (Math.abs(ref[i]) + 1e-2));
    expect(err).toBeLessThan(2e-3); // float16 rounding
    vae.dispose();
  });

  it('resumes after a kill: complete shards are skipped and the result is byte-identical', async () => {
    const ref = path.join(dir, 'lat-a');
    const out = path.join(dir, 'lat-b');
    await encodeDataset({ vae: run, data, out, shardSize: 2, batch: 2, progress: false });
    // simulate a kill during shard 1: shard 1 and the manifest missing, a half-written temp file left
    await fs.rm(path.join(out, 'shard-00001.arrow'));
    await fs.rm(path.join(out, 'manifest.json'));
    await fs.writeFile(path.join(out, '.shard-00001.arrow.tmp-1-2-3'), 'partial');
    const r = await encodeDataset({ vae: run, data, out, shardSize: 2, batch: 2, progress: false });
    expect(r.skipped).toEqual([0, 2]);
    expect(r.written).toEqual([1]);
    for (const f of ['shard-00000.arrow', 'shard-00001.arrow', 'shard-00002.arrow', 'manifest.json']) {
      expect(Buffer.compare(await fs.readFile(path.join(ref, f)), await fs.readFile(path.join(out, f)))).toBe(0);
    }
  });

  it('splits work with --shard i/N and refuses to mix VAEs in one output', async () => {
    const out = path.join(dir, 'lat-c');
    const w1 = await encodeDataset({ vae: run, data, out, shardSize: 2, shard: '1/2', dtype: 'float32', stats: 'mean_logvar', progress: false });
    expect(w1.written).toEqual([1]);
    expect(w1.manifestWritten).toBe(false);
    const w0 = await encodeDataset({ vae: run, data, out, shardSize: 2, shard: '0/2', dtype: 'float32', stats: 'mean_logvar', progress: false });
    expect(w0.written).toEqual([0, 2]);
    expect(w0.manifestWritten).toBe(true);
    const m = await readManifest(out);
    expect(m.shards).toHaveLength(3);
    const rows = await readShard(path.join(out, m.shards[0].file));
    expect(rows[0].shape).toEqual([3, 8, 8, 8]); // mean ‖ logvar
    await expect(encodeDataset({ vae: run, data, out, shardSize: 2, progress: false })).rejects.toThrow(/manifest\.json: was written with VAE .*choose another --out/);
  });

  it('CLI: encode writes the manifest and names bad flags', () => {
    const out = path.join(dir, 'lat-cli');
    const r = runCli(['encode', '--vae', run, '--data', data, '--out', out, '--shard-size', '4', '--backend', 'wasm']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    expect(r.stderr).toMatch(/encode: 2 shard\(s\) written, 0 skipped, 1 clip\(s\) failed, 24 frames at [\d.]+ frames\/s/);
    const bad = runCli(['encode', '--vae', run, '--data', data, '--out', out, '--shard', '3/2']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: --shard: i must be in 0..N-1/);
  });
});
