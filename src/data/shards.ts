// Latent shard datasets (DESIGN.md "Latent shards"): `shard-00000.arrow` files (row format in
// shard-format.ts) plus `manifest.json` {schema_version, vae {id, config_hash}, dtype, stats,
// version, shards [{file, rows, sha256}]}.
//
// Splitting over N machines (`--shard i/N`): the clip list is cut into fixed-size chunks; global
// chunk k becomes `shard-<k>.arrow` and belongs to worker k mod N, so no two workers ever write
// the same file. Each shard is written to a temp name and renamed, so a shard under its final name
// is complete; a re-run skips those and deletes its own leftover temps. `finalizeManifest` scans
// the complete shards present, hashes them, and writes manifest.json atomically, but only once
// every expected chunk is there; whichever worker finishes last writes it (the content is
// deterministic, so two writers racing produce the same file).
// Versions: `rewriteShards` (captioning) writes `shard-<k>.v<n+1>.arrow` beside version n; the
// atomic manifest rename is the commit point, after which the old version's files are removed.
// Integrity: the manifest's sha256 is checked before any listed shard is decoded.
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { FileError, FlagError, SpacetimeError } from '../util/errors.js';
import { makeDirs, writeFileAtomic } from '../util/atomic.js';
import type { Rng } from '../util/rng.js';
import { decodeShard, encodeShard, type LatentDtype, type LatentRow } from './shard-format.js';

export { decodeShard, encodeShard, type LatentDtype, type LatentRow } from './shard-format.js';

export type LatentStats = 'mean' | 'mean_logvar';
export interface ShardEntry { file: string; rows: number; sha256: string }

export interface ShardManifest {
  schema_version: 1;
  vae: { id: string; config_hash: string };
  dtype: LatentDtype;
  stats: LatentStats;
  version: number;
  shards: ShardEntry[];
}

export const MANIFEST = 'manifest.json';
const SHARD_RE = /^shard-(\d{5,})(?:\.v(\d+))?\.arrow$/;

/** File name of global chunk `index` at shard `version` (version 1 has no suffix). */
export function shardFile(index: number, version = 1): string {
  const k = String(index).padStart(5, '0');
  return version <= 1 ? `shard-${k}.arrow` : `shard-${k}.v${version}.arrow`;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`);
  }
}

/** Remove leftover temp files of `name` from a killed run (only the chunk's owner ever writes it). */
async function removeStaleTemps(dir: string, name: string): Promise<void> {
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.filter((e) => e.startsWith(`.${name}.tmp-`)).map((e) => fs.rm(path.join(dir, e), { force: true })));
}

/** Write chunk `index` as `shard-<index>.arrow` (temp file, then rename). */
export async function writeShard(dir: string, index: number, rows: LatentRow[], opts: { dtype: LatentDtype; version?: number }): Promise<ShardEntry> {
  const file = shardFile(index, opts.version);
  const bytes = encodeShard(rows, opts.dtype);
  await makeDirs(dir);
  await removeStaleTemps(dir, file);
  await writeFileAtomic(path.join(dir, file), bytes);
  return { file, rows: rows.length, sha256: sha256(bytes) };
}

/** Read and validate one shard file; its sha256 is checked when a manifest beside it lists it. */
export async function readShard(file: string): Promise<LatentRow[]> {
  const m = await readManifest(path.dirname(file)).catch(() => null);
  const entry = m?.shards.find((s) => s.file === path.basename(file));
  return entry ? readListed(path.dirname(file), entry) : decodeShard(await readBytes(file), file);
}

const ManifestSchema = z.object({
  schema_version: z.literal(1),
  vae: z.object({ id: z.string(), config_hash: z.string() }),
  dtype: z.enum(['float16', 'float32']),
  stats: z.enum(['mean', 'mean_logvar']),
  version: z.number().int().min(1),
  shards: z.array(z.object({ file: z.string().regex(SHARD_RE), rows: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

/** Read manifest.json, validate it, and check that every listed shard exists. */
export async function readManifest(dir: string): Promise<ShardManifest> {
  const file = path.join(dir, MANIFEST);
  const text = new TextDecoder().decode(await readBytes(file));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FileError(file, `invalid JSON (${(err as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FileError(file, `invalid manifest: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const m = parsed.data as ShardManifest;
  for (const s of m.shards) {
    const st = await fs.stat(path.join(dir, s.file)).catch(() => null);
    if (!st?.isFile()) throw new FileError(file, `missing shard ${s.file}`);
  }
  return m;
}

/** Write manifest.json atomically. */
export async function writeManifest(dir: string, m: ShardManifest): Promise<void> {
  const parsed = ManifestSchema.safeParse(m);
  if (!parsed.success) throw new SpacetimeError(`manifest: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
  await writeFileAtomic(path.join(dir, MANIFEST), `${JSON.stringify(m, null, 2)}\n`);
}

/** Parse `--shard i/N` (0 ≤ i < N). */
export function parseShardSpec(spec: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new FlagError('shard', `expected i/N (e.g. 0/4), got ${JSON.stringify(spec)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new FlagError('shard', `N must be at least 1, got ${JSON.stringify(spec)}`);
  if (index >= count) throw new FlagError('shard', `i must be in 0..N-1, got ${JSON.stringify(spec)}`);
  return { index, count };
}

/** Global chunk indices (chunks of `chunkSize` items out of `total`) that worker `spec` owns: k mod N = i. */
export function shardChunks(total: number, chunkSize: number, spec: { index: number; count: number }): number[] {
  if (!Number.isInteger(total) || total < 0) throw new SpacetimeError(`shardChunks: total must be a non-negative integer, got ${total}`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new SpacetimeError(`shardChunks: chunk size must be a positive integer, got ${chunkSize}`);
  const out: number[] = [];
  for (let k = spec.index; k < Math.ceil(total / chunkSize); k += spec.count) out.push(k);
  return out;
}

/** Complete shards of `version` present in `dir`, by chunk index. */
async function completeShards(dir: string, version: number): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = SHARD_RE.exec(name);
    if (m && (m[2] === undefined ? 1 : Number(m[2])) === version) out.set(Number(m[1]), name);
  }
  return out;
}

export type ManifestBase = Omit<ShardManifest, 'shards'>;

/**
 * Rebuild manifest.json from the complete shards of `base.version` in `dir` (sorted by chunk).
 * With `expected` (the total chunk count), nothing is written until chunks 0..expected-1 are all
 * present; the missing ones are returned so a worker can say what it still waits for.
 */
export async function finalizeManifest(dir: string, base: ManifestBase, opts: { expected?: number } = {}): Promise<{ manifest: ShardManifest | null; missing: number[] }> {
  const present = await completeShards(dir, base.version);
  const missing: number[] = [];
  for (let k = 0; k < (opts.expected ?? 0); k++) if (!present.has(k)) missing.push(k);
  const extra = opts.expected === undefined ? [] : [...present.keys()].filter((k) => k >= opts.expected!);
  if (extra.length > 0) throw new FileError(path.join(dir, present.get(extra[0])!), `unexpected shard: only ${opts.expected} chunks expected, so this directory holds output of a different run`);
  if (missing.length > 0) return { manifest: null, missing };
  const shards: ShardEntry[] = [];
  for (const k of [...present.keys()].sort((a, b) => a - b)) {
    const file = path.join(dir, present.get(k)!);
    const bytes = await readBytes(file);
    shards.push({ file: present.get(k)!, rows: decodeShard(bytes, file).length, sha256: sha256(bytes) });
  }
  const manifest: ShardManifest = { ...base, shards };
  await writeManifest(dir, manifest);
  return { manifest, missing };
}

/**
 * The resumable, N-machine shard writer: for each chunk this worker owns, skip it if its shard is
 * complete, else `produce` its rows and write it; then try to finalize the manifest.
 */
export async function buildShards(
  dir: string,
  opts: { total: number; chunkSize: number; spec?: { index: number; count: number }; base: ManifestBase },
  produce: (chunk: number, start: number, end: number) => Promise<LatentRow[]>,
): Promise<{ written: number[]; skipped: number[]; manifest: ShardManifest | null; missing: number[] }> {
  const { total, chunkSize, base } = opts;
  const written: number[] = [];
  const skipped: number[] = [];
  const done = await completeShards(dir, base.version);
  for (const k of shardChunks(total, chunkSize, opts.spec ?? { index: 0, count: 1 })) {
    if (done.has(k)) {
      skipped.push(k);
      continue;
    }
    const rows = await produce(k, k * chunkSize, Math.min(total, (k + 1) * chunkSize));
    await writeShard(dir, k, rows, { dtype: base.dtype, version: base.version });
    written.push(k);
  }
  const fin = await finalizeManifest(dir, base, { expected: Math.ceil(total / chunkSize) });
  return { written, skipped, ...fin };
}

/** Read a shard listed in a manifest, checking its sha256. */
async function readListed(dir: string, s: ShardEntry): Promise<LatentRow[]> {
  const file = path.join(dir, s.file);
  const bytes = await readBytes(file);
  const got = sha256(bytes);
  if (got !== s.sha256) throw new FileError(file, `sha256 mismatch (manifest says ${s.sha256.slice(0, 12)}…, file is ${got.slice(0, 12)}…): the shard changed or is corrupt`);
  const rows = decodeShard(bytes, file);
  if (rows.length !== s.rows) throw new FileError(file, `has ${rows.length} rows, manifest says ${s.rows}`);
  return rows;
}

/** Every row of the dataset in manifest order, verifying each shard's sha256. */
export async function* iterateRows(dir: string): AsyncGenerator<LatentRow> {
  const m = await readManifest(dir);
  for (const s of m.shards) yield* await readListed(dir, s);
}

/**
 * Map every row through `fn` into shard version n+1. With `spec`, only this worker's shards are
 * rewritten; the manifest is committed by whichever worker finds all version n+1 shards present.
 * Re-running resumes: complete version n+1 shards are kept.
 */
export async function rewriteShards(dir: string, fn: (row: LatentRow) => Promise<LatentRow> | LatentRow, opts: { spec?: { index: number; count: number } } = {}): Promise<ShardManifest | null> {
  const m = await readManifest(dir);
  const next = m.version + 1;
  const spec = opts.spec ?? { index: 0, count: 1 };
  // Files of versions older than the committed one are leftovers of a rewrite that crashed after its commit.
  for (const name of await fs.readdir(dir)) {
    const v = SHARD_RE.exec(name)?.[2];
    if (SHARD_RE.test(name) && (v === undefined ? 1 : Number(v)) < m.version) await fs.rm(path.join(dir, name), { force: true });
  }
  const done = await completeShards(dir, next);
  const indexOf = (s: ShardEntry) => Number(SHARD_RE.exec(s.file)![1]);
  for (const s of m.shards) {
    const k = indexOf(s);
    if (k % spec.count !== spec.index || done.has(k)) continue;
    const out: LatentRow[] = [];
    for (const row of await readListed(dir, s)) out.push(await fn(row));
    await writeShard(dir, k, out, { dtype: m.dtype, version: next });
  }
  const nowDone = await completeShards(dir, next);
  if (!m.shards.every((s) => nowDone.has(indexOf(s)))) return null;
  const { shards: _old, ...base } = m;
  const { manifest } = await finalizeManifest(dir, { ...base, version: next });
  await Promise.all(m.shards.map((s) => fs.rm(path.join(dir, s.file), { force: true })));
  return manifest;
}

/**
 * A latent sample. With stats "mean" the stored latent is returned as is; with "mean_logvar"
 * (channels [mean…, logvar…]) it is z = mean + exp(0.5·logvar)·ε, ε ~ N(0, I), logvar clamped to
 * [-30, 20] as in LDM's DiagonalGaussianDistribution (Rombach et al. 2022).
 */
export function sampleLatent(row: LatentRow, stats: LatentStats, rng: Rng): Float32Array {
  if (stats === 'mean') return row.latent; // (T, H, W, C)
  const [T, H, W, C2] = row.shape;
  if (C2 % 2 !== 0) throw new SpacetimeError(`row ${JSON.stringify(row.id)}: mean_logvar latent needs an even channel count, got ${C2}`);
  const C = C2 / 2;
  const z = new Float32Array(T * H * W * C); // (T, H, W, C)
  for (let p = 0; p < T * H * W; p++) {
    for (let c = 0; c < C; c++) {
      const mean = row.latent[p * C2 + c];
      const logvar = Math.min(20, Math.max(-30, row.latent[p * C2 + C + c]));
      z[p * C + c] = mean + Math.exp(0.5 * logvar) * rng.normal();
    }
  }
  return z;
}
