// `spacetime caption`: recaption a clip dataset (clips.jsonl, rewritten atomically) or a latent
// shard directory (manifest.json + shard-*.arrow, rewritten as a new shard version through
// shards.ts) with one captioner. Every selected clip ends with a caption and a caption_source;
// a clip that fails is marked `failed` with its reason and keeps its old caption (never dropped).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { clipPath, readClips, writeClips, type Clip } from '../clips.js';
import { readManifest, readShard, rewriteShards, shardFile, type LatentRow } from '../shards.js';
import { decodeFrames } from '../video.js';
import { FileError, FlagError, SpacetimeError } from '../../util/errors.js';
import { info, warn } from '../../util/log.js';
import { Progress } from '../../util/progress.js';
import { createCaptioner, parseModelSpec, type CaptionInput, type CaptionResult, type Captioner, type CaptionerOptions } from './captioner.js';

export interface CaptionRunOptions extends CaptionerOptions {
  /** Clip dataset or latent shard directory. */
  data: string;
  /** builtin | openai:URL[#model] | onnx:DIR (default builtin). */
  captioner?: string;
  /** Only items k with k mod count = index (clips by line, shards by chunk). */
  shard?: { index: number; count: number };
  /** For shard directories: the clip dataset the shards were encoded from (frames, ground truth). */
  clips?: string;
  /** A ready captioner (tests); overrides `captioner`. */
  instance?: Captioner;
}

export interface CaptionSummary {
  kind: 'clips' | 'shards';
  total: number;
  ok: number;
  failed: number;
  /** Rows whose existing caption was kept because nothing better was available. */
  kept: number;
  bySource: Record<string, number>;
  failures: Array<{ id: string; error: string }>;
  /** Shard runs: whether this worker committed the new manifest (false: other workers pending). */
  committed?: boolean;
}

/** Run `fn` over `items` with at most `limit` in flight; results keep input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

function clipInput(dir: string, c: Clip): CaptionInput {
  return {
    id: c.id,
    frames: () => decodeFrames(clipPath(dir, c)),
    fps: c.fps,
    width: c.width,
    height: c.height,
    frameCount: c.frames,
    truth: c.physics,
    existingCaption: c.caption,
  };
}

async function safeCaption(cap: Captioner, input: CaptionInput): Promise<CaptionResult> {
  try {
    return await cap.caption(input);
  } catch (e) {
    return { caption: input.existingCaption ?? '', source: 'failed', error: (e as Error).message.replace(/\s*\n\s*/g, ' ') };
  }
}

function summarise(kind: CaptionSummary['kind'], ids: string[], results: CaptionResult[]): CaptionSummary {
  const s: CaptionSummary = { kind, total: results.length, ok: 0, failed: 0, kept: 0, bySource: {}, failures: [] };
  results.forEach((r, i) => {
    s.bySource[r.source] = (s.bySource[r.source] ?? 0) + 1;
    if (r.source === 'failed') {
      s.failed++;
      s.failures.push({ id: ids[i], error: r.error ?? 'unknown error' });
    } else if (r.source === 'existing') s.kept++;
    else s.ok++;
  });
  return s;
}

async function detect(dir: string): Promise<'clips' | 'shards'> {
  const has = async (f: string) => (await fs.stat(path.join(dir, f)).catch(() => null))?.isFile() ?? false;
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new FileError(dir, 'no such directory');
  if (!st.isDirectory()) throw new FileError(dir, 'not a directory');
  if (await has('clips.jsonl')) return 'clips';
  if (await has('manifest.json')) return 'shards';
  throw new FileError(dir, 'neither a clip dataset (clips.jsonl) nor a latent shard directory (manifest.json)');
}

async function captionClips(dir: string, cap: Captioner, opts: CaptionRunOptions): Promise<CaptionSummary> {
  const clips = await readClips(dir);
  const spec = opts.shard ?? { index: 0, count: 1 };
  const mine = clips.filter((_, i) => i % spec.count === spec.index);
  const bar = new Progress(`caption ${path.basename(path.resolve(dir))}`, mine.length);
  let failed = 0;
  const results = await mapPool(mine, Math.max(1, opts.concurrency ?? 4), async (c) => {
    const r = await safeCaption(cap, clipInput(dir, c));
    if (r.source === 'failed') failed++;
    bar.tick(1, failed ? `${failed} failed` : '');
    return r;
  });
  bar.finish(failed ? `${failed} failed` : '');
  const byId = new Map(mine.map((c, i) => [c.id, results[i]]));
  // Re-read just before writing so that parallel --shard workers lose as little as possible.
  const fresh = await readClips(dir);
  const updated = fresh.map((c): Clip & { caption_error?: string } => {
    const r = byId.get(c.id);
    if (!r) return c;
    if (r.source === 'failed') return { ...c, caption: r.caption || c.caption, caption_source: 'failed', caption_error: r.error ?? 'unknown error' };
    return { ...c, caption: r.caption, caption_source: r.source };
  });
  await writeClips(dir, updated);
  return summarise('clips', mine.map((c) => c.id), results);
}

/** The source clip of a shard row: the same id, or the id before a `#`/`@` segment suffix. */
function findClip(byId: Map<string, Clip>, id: string): Clip | undefined {
  return byId.get(id) ?? byId.get(id.replace(/[#@][^#@]*$/, ''));
}

async function captionShards(dir: string, cap: Captioner, spec: ReturnType<typeof parseModelSpec>, opts: CaptionRunOptions): Promise<CaptionSummary> {
  const m = await readManifest(dir);
  const shardSpec = opts.shard ?? { index: 0, count: 1 };
  let byId: Map<string, Clip> | null = null;
  if (opts.clips) byId = new Map((await readClips(opts.clips)).map((c) => [c.id, c]));
  else if (spec.kind !== 'builtin' && !opts.instance) {
    throw new FlagError('clips', `latent shards hold no frames: captioning ${dir} with ${opts.captioner} needs the source clip dataset (--clips DIR)`);
  } else {
    info(`caption: no --clips given; shard rows carry no source video, so the builtin captioner keeps each row's existing (ground-truth) caption`);
  }
  // Rows this worker owns and has not yet rewritten (a resumed run skips complete new shards).
  const rows: LatentRow[] = [];
  for (const s of m.shards) {
    const k = Number(/^shard-(\d+)/.exec(s.file)?.[1]);
    if (k % shardSpec.count !== shardSpec.index) continue;
    if (await fs.stat(path.join(dir, shardFile(k, m.version + 1))).catch(() => null)) continue;
    rows.push(...(await readShard(path.join(dir, s.file))));
  }
  const bar = new Progress(`caption ${path.basename(path.resolve(dir))}`, rows.length);
  let failed = 0;
  const results = await mapPool(rows, Math.max(1, opts.concurrency ?? 4), async (row) => {
    const clip = byId ? findClip(byId, row.id) : undefined;
    let r: CaptionResult;
    if (clip && opts.clips) r = await safeCaption(cap, clipInput(opts.clips, clip));
    else if (byId) r = { caption: row.caption, source: 'failed', error: `no clip with id ${JSON.stringify(row.id)} in ${opts.clips}` };
    else if (opts.instance) r = await safeCaption(cap, { id: row.id, frames: [], fps: row.fps, width: row.width, height: row.height, frameCount: row.frames, existingCaption: row.caption });
    else if (row.caption) r = { caption: row.caption, source: 'existing' };
    else r = { caption: '', source: 'failed', error: 'the row has no caption and no source clip (pass --clips DIR)' };
    if (r.source === 'failed') failed++;
    bar.tick(1, failed ? `${failed} failed` : '');
    return r;
  });
  bar.finish(failed ? `${failed} failed` : '');
  const byRow = new Map(rows.map((row, i) => [row.id, results[i]]));
  const manifest = await rewriteShards(
    dir,
    (row) => {
      const r = byRow.get(row.id);
      if (!r || r.source === 'existing') return row;
      return { ...row, caption: r.caption, caption_source: r.source === 'failed' ? 'failed' : r.source };
    },
    { spec: shardSpec },
  );
  const s = summarise('shards', rows.map((r) => r.id), results);
  s.committed = manifest !== null;
  return s;
}

/** Caption `opts.data` and return what happened; throws when every selected clip failed. */
export async function runCaption(opts: CaptionRunOptions): Promise<CaptionSummary> {
  const specText = opts.captioner ?? 'builtin';
  const spec = parseModelSpec(specText, 'captioner');
  const kind = await detect(opts.data);
  const cap = opts.instance ?? (await createCaptioner(specText, opts));
  let summary: CaptionSummary;
  try {
    summary = kind === 'clips' ? await captionClips(opts.data, cap, opts) : await captionShards(opts.data, cap, spec, opts);
  } finally {
    await cap.close?.();
  }
  for (const f of summary.failures.slice(0, 20)) warn(`caption ${f.id}: failed: ${f.error}`);
  if (summary.failures.length > 20) warn(`… and ${summary.failures.length - 20} more failures`);
  const sources = Object.entries(summary.bySource)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  info(`caption: ${summary.total} ${summary.kind === 'clips' ? 'clips' : 'rows'}: ${summary.ok} captioned, ${summary.kept} kept, ${summary.failed} failed (${sources || 'none'})`);
  if (summary.kind === 'shards' && summary.committed === false) info('caption: other --shard workers still pending; the manifest is committed by the last one');
  if (summary.total > 0 && summary.failed === summary.total) {
    throw new SpacetimeError(`caption: all ${summary.total} clips failed (first: ${summary.failures[0].id}: ${summary.failures[0].error})`);
  }
  return summary;
}
