// `caption` over latent shards: a new shard version with captions from the source clips' ground
// truth (builtin + --clips), existing captions kept without --clips, and model captioners refused
// without a source clip dataset.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCaption } from '../../src/data/caption/run.js';
import { writeClips, type PhysicsTruth } from '../../src/data/clips.js';
import { buildShards, iterateRows, readManifest, type LatentRow } from '../../src/data/shards.js';
import { tmpDir } from '../helpers.js';

const truth = (color: string): PhysicsTruth => ({
  scene: 'slide',
  background: 'black',
  gravity: 0,
  objects: [{ id: 0, shape: 'box', color, rgb: [0, 0, 0], frames: Array.from({ length: 8 }, (_, i) => ({ x: 4 + 3 * i, y: 40, w: 6, h: 6, visible: true })) }],
  occluders: [],
  events: [],
  violations: [],
});

function row(id: string, caption: string): LatentRow {
  return { id, latent: new Float32Array(2 * 2 * 2 * 4).fill(0.5), shape: [2, 2, 2, 4], fps: 8, caption, caption_source: 'synth', width: 48, height: 48, frames: 8, bucket: '2x2x2' };
}

async function makeShards(dir: string): Promise<void> {
  const rows = [row('a', 'old a'), row('b', 'old b'), row('c', 'old c')];
  const base = { schema_version: 1 as const, vae: { id: 'test', config_hash: 'h' }, dtype: 'float32' as const, stats: 'mean' as const, version: 1 };
  await buildShards(dir, { total: 3, chunkSize: 2, base }, async (_k, s, e) => rows.slice(s, e));
}

describe('caption over latent shards', () => {
  const root = tmpDir();
  const clipsDir = path.join(root, 'clips');
  const clipsAll = path.join(root, 'clips-all');
  beforeAll(async () => {
    await writeClips(clipsAll, ['a', 'b', 'c'].map((id) => ({ id, path: `${id}.mp4`, width: 48, height: 48, frames: 8, fps: 8, physics: truth('blue') })));
    await writeClips(clipsDir, [
      { id: 'a', path: 'a.mp4', width: 48, height: 48, frames: 8, fps: 8, physics: truth('red') },
      { id: 'b', path: 'b.mp4', width: 48, height: 48, frames: 8, fps: 8, physics: truth('green') },
    ]);
  });

  it('writes ground-truth captions into a new shard version; unknown ids fail but keep their caption', async () => {
    const dir = path.join(root, 'lat1');
    await makeShards(dir);
    const sum = await runCaption({ data: dir, captioner: 'builtin', clips: clipsDir });
    expect(sum).toMatchObject({ kind: 'shards', total: 3, ok: 2, failed: 1, committed: true });
    const m = await readManifest(dir);
    expect(m.version).toBe(2);
    const rows = [];
    for await (const r of iterateRows(dir)) rows.push(r);
    expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(rows[0].caption).toMatch(/^A small red box slides from left to right across the floor, slowing down, against a plain black background\./);
    expect(rows[0].caption_source).toBe('builtin:truth');
    expect(rows[1].caption).toMatch(/green box/);
    expect(rows[2]).toMatchObject({ caption: 'old c', caption_source: 'failed' });
    expect(Array.from(rows[0].latent.slice(0, 2))).toEqual([0.5, 0.5]);
  });

  it('without --clips the builtin captioner keeps the existing captions', async () => {
    const dir = path.join(root, 'lat2');
    await makeShards(dir);
    const sum = await runCaption({ data: dir, captioner: 'builtin' });
    expect(sum).toMatchObject({ total: 3, kept: 3, failed: 0 });
    const rows = [];
    for await (const r of iterateRows(dir)) rows.push(r);
    expect(rows.map((r) => [r.caption, r.caption_source])).toEqual([
      ['old a', 'synth'],
      ['old b', 'synth'],
      ['old c', 'synth'],
    ]);
  });

  it('a model captioner on shards needs --clips; --shard workers commit when all are done', async () => {
    const dir = path.join(root, 'lat3');
    await makeShards(dir);
    await expect(runCaption({ data: dir, captioner: 'openai:http://127.0.0.1:9#m' })).rejects.toThrow(/--clips: latent shards hold no frames/);
    const w0 = await runCaption({ data: dir, captioner: 'builtin', clips: clipsAll, shard: { index: 0, count: 2 } });
    expect(w0).toMatchObject({ total: 2, committed: false });
    expect((await readManifest(dir)).version).toBe(1);
    const w1 = await runCaption({ data: dir, captioner: 'builtin', clips: clipsAll, shard: { index: 1, count: 2 } });
    expect(w1).toMatchObject({ total: 1, committed: true });
    expect((await readManifest(dir)).version).toBe(2);
  });

  it('names a directory that is neither kind', async () => {
    await expect(runCaption({ data: root })).rejects.toThrow(`${root}: neither a clip dataset (clips.jsonl) nor a latent shard directory (manifest.json)`);
    await expect(runCaption({ data: path.join(root, 'nope') })).rejects.toThrow(/nope: no such directory/);
  });
});
