// Latent shards: Arrow round trips, N-worker resumable writing, manifest validation, rewriting.
import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Binary, Float32, Int32, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import {
  buildShards, decodeShard, encodeShard, finalizeManifest, iterateRows, parseShardSpec, readManifest, readShard,
  rewriteShards, sampleLatent, shardChunks, shardFile, writeManifest, writeShard, type LatentRow, type ManifestBase,
} from '../../src/data/shards.js';
import { FileError, FlagError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../helpers.js';

function row(i: number, C = 4): LatentRow {
  const shape: [number, number, number, number] = [2, 3, 4, C];
  const rng = new Rng(i);
  return {
    id: `clip-${i}`, latent: rng.normals(2 * 3 * 4 * C), shape, fps: 24 + i / 4, caption: `caption ${i} é`, caption_source: 'builtin',
    width: 32, height: 24, frames: 9, bucket: '2x3x4',
  };
}
const BASE: ManifestBase = { schema_version: 1, vae: { id: 'vae-test', config_hash: 'abc123' }, dtype: 'float32', stats: 'mean', version: 1 };
const produce = async (_k: number, start: number, end: number) => Array.from({ length: end - start }, (_, j) => row(start + j));

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(FileError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await fs.readdir(dir)).sort()) out[f] = (await fs.readFile(path.join(dir, f))).toString('base64');
  return out;
}

describe('shard encoding', () => {
  it('round-trips float32 exactly, with the documented schema', () => {
    const rows = [row(0), row(1)];
    const bytes = encodeShard(rows, 'float32');
    const t = tableFromIPC(bytes);
    expect(t.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'id:Utf8', 'latent:Binary', 'shape:List<Int32>', 'fps:Float32', 'caption:Utf8', 'caption_source:Utf8',
      'width:Int32', 'height:Int32', 'frames:Int32', 'bucket:Utf8',
    ]);
    expect((t.getChild('latent')!.get(0) as Uint8Array).length).toBe(2 * 3 * 4 * 4 * 4);
    const back = decodeShard(bytes, 'x.arrow');
    expect(back).toEqual(rows);
  });

  it('round-trips float16 at half precision in half the bytes', () => {
    const r = row(3);
    r.latent[0] = 1.5; // exact in half
    const bytes = encodeShard([r], 'float16');
    expect((tableFromIPC(bytes).getChild('latent')!.get(0) as Uint8Array).length).toBe(r.latent.length * 2);
    const [back] = decodeShard(bytes, 'x.arrow');
    expect(back.latent[0]).toBe(1.5);
    for (let i = 0; i < r.latent.length; i++) expect(Math.abs(back.latent[i] - r.latent[i])).toBeLessThanOrEqual(Math.abs(r.latent[i]) * 2 ** -11 + 2 ** -24);
    expect(back.latent).not.toEqual(r.latent);
  });

  it('stores optional text embeddings, null where a row has none', () => {
    const a = { ...row(0), textEmb: new Float32Array([1, 2, 3, 4, 5, 6]), textEmbShape: [2, 3] as [number, number] };
    const b = row(1);
    const back = decodeShard(encodeShard([a, b], 'float32'), 'x.arrow');
    expect(Array.from(back[0].textEmb!)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back[0].textEmbShape).toEqual([2, 3]);
    expect(back[1].textEmb).toBeUndefined();
  });

  it('rejects rows whose latent does not match the shape', () => {
    const r = row(0);
    r.shape = [2, 3, 4, 5];
    expect(() => encodeShard([r], 'float32')).toThrow('shard row 0 ("clip-0"): latent has 96 values, shape [2, 3, 4, 5] needs 120');
  });

  it('names the file for corrupt, truncated or wrongly shaped shards', async () => {
    const bytes = encodeShard([row(0)], 'float32');
    expect(() => decodeShard(bytes.subarray(0, bytes.length - 40), 's.arrow')).toThrow('s.arrow: not an Arrow IPC file (missing ARROW1 magic: truncated or corrupt)');
    expect(() => decodeShard(new TextEncoder().encode('hello world, not arrow'), 's.arrow')).toThrow(/missing ARROW1 magic/);
    const garbled = bytes.slice();
    garbled.fill(0xee, 10, 200);
    expect(() => decodeShard(garbled, 's.arrow')).toThrow(/^s\.arrow: corrupt Arrow file/);
    for (const at of [16, 48]) { // garbles that once sent apache-arrow's batch iterator into an endless loop
      const g = bytes.slice();
      g.fill(0xee, at, at + 16);
      expect(() => decodeShard(g, 's.arrow')).toThrow(/^s\.arrow: /);
    }
    const noBucket = new Table({ id: vectorFromArray(['a'], new Utf8()), latent: vectorFromArray([new Uint8Array(4)], new Binary()) });
    expect(() => decodeShard(tableToIPC(noBucket, 'file'), 's.arrow')).toThrow('s.arrow: missing column "shape"');
    const cols = Object.fromEntries(encodeShardColumns());
    cols.width = vectorFromArray([1.5], new Float32());
    expect(() => decodeShard(tableToIPC(new Table(cols), 'file'), 's.arrow')).toThrow('s.arrow: column "width" has type Float32, expected Int32');
    const d = tmpDir();
    expect(await message(readShard(path.join(d, 'none.arrow')))).toBe(`${path.join(d, 'none.arrow')}: no such file`);
  });
});

/** The columns of a one-row valid shard, for building broken variants. */
function encodeShardColumns() {
  const t = tableFromIPC(encodeShard([row(0)], 'float32'));
  return t.schema.fields.map((f) => [f.name, t.getChild(f.name)!] as [string, unknown]) as [string, ReturnType<typeof vectorFromArray>][];
}

describe('--shard i/N', () => {
  it('parses and rejects specs', () => {
    expect(parseShardSpec('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShardSpec(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
    for (const [spec, msg] of [['4/4', '--shard: i must be in 0..N-1, got "4/4"'], ['0/0', '--shard: N must be at least 1, got "0/0"'], ['a/b', '--shard: expected i/N (e.g. 0/4), got "a/b"'], ['', '--shard: expected i/N (e.g. 0/4), got ""'], ['-1/2', '--shard: expected i/N (e.g. 0/4), got "-1/2"']]) {
      expect(() => parseShardSpec(spec)).toThrow(FlagError);
      expect(() => parseShardSpec(spec)).toThrow(msg);
    }
  });
  it('assigns every chunk to exactly one worker', () => {
    expect(shardChunks(10, 3, { index: 1, count: 2 })).toEqual([1, 3]);
    expect(shardChunks(0, 3, { index: 0, count: 2 })).toEqual([]);
    const all = [0, 1, 2].flatMap((i) => shardChunks(100, 7, { index: i, count: 3 })).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 15 }, (_, k) => k));
    expect(() => shardChunks(10, 0, { index: 0, count: 1 })).toThrow(/chunk size must be a positive integer/);
  });
});

describe('resumable N-worker writing', () => {
  const root = tmpDir();
  const opts = { total: 10, chunkSize: 3, base: BASE };

  it('two workers and one worker produce byte-identical shards and manifests', async () => {
    const single = path.join(root, 'single');
    const one = await buildShards(single, opts, produce);
    expect(one.written).toEqual([0, 1, 2, 3]);
    expect(one.manifest!.shards.map((s) => [s.file, s.rows])).toEqual([['shard-00000.arrow', 3], ['shard-00001.arrow', 3], ['shard-00002.arrow', 3], ['shard-00003.arrow', 1]]);

    const split = path.join(root, 'split');
    const w0 = await buildShards(split, { ...opts, spec: { index: 0, count: 2 } }, produce);
    expect(w0).toMatchObject({ written: [0, 2], manifest: null, missing: [1, 3] });
    await expect(fs.stat(path.join(split, 'manifest.json'))).rejects.toThrow();
    const w1 = await buildShards(split, { ...opts, spec: { index: 1, count: 2 } }, produce);
    expect(w1.written).toEqual([1, 3]);
    expect(w1.manifest).toEqual(one.manifest);
    expect(await snapshot(split)).toEqual(await snapshot(single));

    const rows: LatentRow[] = [];
    for await (const r of iterateRows(split)) rows.push(r);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `clip-${i}`));
    expect(rows[7]).toEqual(row(7));
  });

  it('a killed run (leftover temp, missing chunk) re-runs to the same bytes', async () => {
    const dir = path.join(root, 'killed');
    await expect(buildShards(dir, opts, async (k, s, e) => {
      if (k === 2) throw new Error('killed');
      return produce(k, s, e);
    })).rejects.toThrow('killed');
    await fs.writeFile(path.join(dir, '.shard-00002.arrow.tmp-999-1-0'), 'half a shard');
    const calls: number[] = [];
    const again = await buildShards(dir, opts, async (k, s, e) => (calls.push(k), produce(k, s, e)));
    expect(again).toMatchObject({ written: [2, 3], skipped: [0, 1], missing: [] });
    expect(calls).toEqual([2, 3]);
    expect(await snapshot(dir)).toEqual(await snapshot(path.join(root, 'single')));
  });

  it('detects a changed shard, a missing shard and a malformed manifest', async () => {
    const dir = path.join(root, 'bad');
    await buildShards(dir, opts, produce);
    const s1 = path.join(dir, 'shard-00001.arrow');
    const bytes = await fs.readFile(s1);
    bytes[bytes.length - 20] ^= 1;
    await fs.writeFile(s1, bytes);
    const consume = async () => {
      for await (const _ of iterateRows(dir)) void _;
    };
    expect(await message(consume())).toMatch(new RegExp(`^${s1}: sha256 mismatch \\(manifest says [0-9a-f]{12}…, file is [0-9a-f]{12}…\\)`));

    expect(await message(readShard(s1))).toMatch(/sha256 mismatch/); // checked via the manifest beside it
    expect(await readShard(path.join(dir, 'shard-00002.arrow'))).toEqual([row(6), row(7), row(8)]);

    await fs.rm(path.join(dir, 'shard-00003.arrow'));
    const mf = path.join(dir, 'manifest.json');
    expect(await message(readManifest(dir))).toBe(`${mf}: missing shard shard-00003.arrow`);

    const m = JSON.parse(await fs.readFile(mf, 'utf8'));
    await fs.writeFile(mf, JSON.stringify({ ...m, schema_version: 2 }));
    expect(await message(readManifest(dir))).toMatch(new RegExp(`^${mf}: invalid manifest: schema_version: `));
    await fs.writeFile(mf, JSON.stringify({ ...m, shards: [{ file: 'shard-00000.arrow', rows: 3 }] }));
    expect(await message(readManifest(dir))).toMatch(/invalid manifest: shards\.0\.sha256: /);
    await fs.writeFile(mf, '{"schema_version": 1,');
    expect(await message(readManifest(dir))).toMatch(new RegExp(`^${mf}: invalid JSON`));
    await fs.rm(mf);
    expect(await message(readManifest(dir))).toBe(`${mf}: no such file`);
  });

  it('writeManifest refuses an invalid manifest and finalize without expected lists what is present', async () => {
    const dir = path.join(root, 'partial');
    await writeShard(dir, 1, [row(5)], { dtype: 'float16' });
    const { manifest } = await finalizeManifest(dir, { ...BASE, dtype: 'float16' });
    expect(manifest!.shards.map((s) => s.file)).toEqual(['shard-00001.arrow']);
    expect((await readManifest(dir)).dtype).toBe('float16');
    await expect(writeManifest(dir, { ...manifest!, version: 0 })).rejects.toThrow(/manifest: version: /);
    await expect(finalizeManifest(dir, BASE, { expected: 1 })).rejects.toThrow(`${path.join(dir, 'shard-00001.arrow')}: unexpected shard: only 1 chunks expected`);
  });
});

describe('rewriteShards', () => {
  it('commits a new version atomically, resuming across workers', async () => {
    const dir = path.join(tmpDir(), 'ds');
    await buildShards(dir, { total: 5, chunkSize: 2, base: BASE }, produce);
    const recaption = (r: LatentRow) => ({ ...r, caption: `new ${r.id}`, caption_source: 'test' });
    expect(await rewriteShards(dir, recaption, { spec: { index: 0, count: 2 } })).toBeNull();
    expect((await readManifest(dir)).version).toBe(1);
    await fs.writeFile(path.join(dir, 'shard-00001.v2.arrow.junk'), 'not a shard name'); // ignored
    const m = await rewriteShards(dir, async (r) => recaption(r), { spec: { index: 1, count: 2 } });
    await fs.rm(path.join(dir, 'shard-00001.v2.arrow.junk'));
    expect(m!.version).toBe(2);
    expect(m!.shards.map((s) => s.file)).toEqual([shardFile(0, 2), shardFile(1, 2), shardFile(2, 2)]);
    expect((await fs.readdir(dir)).sort()).toEqual(['manifest.json', 'shard-00000.v2.arrow', 'shard-00001.v2.arrow', 'shard-00002.v2.arrow']);
    const rows: LatentRow[] = [];
    for await (const r of iterateRows(dir)) rows.push(r);
    expect(rows.map((r) => r.caption)).toEqual(['new clip-0', 'new clip-1', 'new clip-2', 'new clip-3', 'new clip-4']);
    expect(rows[4].latent).toEqual(row(4).latent);
    // a crash after the commit leaves version-1 files behind: the next rewrite removes them
    await fs.writeFile(path.join(dir, 'shard-00000.arrow'), 'stale');
    const m3 = await rewriteShards(dir, (r) => r);
    expect(m3!.version).toBe(3);
    expect((await fs.readdir(dir)).sort()).toEqual(['manifest.json', 'shard-00000.v3.arrow', 'shard-00001.v3.arrow', 'shard-00002.v3.arrow']);
  });
});

describe('sampleLatent', () => {
  it('returns the mean, or mean + exp(logvar/2)·ε with channels [mean…, logvar…]', () => {
    const r = row(0);
    expect(sampleLatent(r, 'mean', new Rng(1))).toBe(r.latent);
    const P = 4000;
    const latent = new Float32Array(P * 4); // (1, 1, P, 2C) with C = 2
    for (let p = 0; p < P; p++) latent.set([3, -1, Math.log(4), -100], p * 4); // channel 0: N(3, 2²); channel 1: logvar clamped to -30
    const z = sampleLatent({ ...r, latent, shape: [1, 1, P, 4] }, 'mean_logvar', new Rng(7));
    expect(z.length).toBe(P * 2);
    const c0 = Array.from({ length: P }, (_, p) => z[p * 2]);
    const mean = c0.reduce((a, b) => a + b, 0) / P;
    const std = Math.sqrt(c0.reduce((a, b) => a + (b - mean) ** 2, 0) / P);
    expect(Math.abs(mean - 3)).toBeLessThan(0.15);
    expect(Math.abs(std - 2)).toBeLessThan(0.1);
    for (let p = 0; p < P; p++) expect(Math.abs(z[p * 2 + 1] + 1)).toBeLessThan(1e-5);
    expect(() => sampleLatent({ ...r, latent: new Float32Array(3), shape: [1, 1, 1, 3] }, 'mean_logvar', new Rng(1))).toThrow(/even channel count, got 3/);
  });
});
