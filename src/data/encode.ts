// VAE encoding of a clip dataset into latent shards (DESIGN.md "Latent shards"): every clip is
// decoded whole, trimmed to T ≡ 1 (mod s_t) frames, centre-cropped to multiples of the spatial
// compression, and encoded by the causal VAE (vae.ts) into its posterior mean (stats "mean") or
// mean and log-variance concatenated on channels (stats "mean_logvar", sampled later as in LDM,
// Rombach et al. 2022). Rows go to Arrow shards through shards.ts: chunks of `shardSize` clips,
// `--shard i/N` takes chunks k ≡ i (mod N), complete shards are skipped, so a killed run resumes
// and yields identical shards. A clip that fails to decode is recorded in
// `encode-errors.jsonl` and skipped; the batch goes on.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../model/backend.js';
import { type VAE, loadVAE, trimFrames } from '../model/vae.js';
import { FileError } from '../util/errors.js';
import { info, warn } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { type Clip, clipPath, readClips } from './clips.js';
import { type LatentDtype, type LatentRow, type LatentStats, type ManifestBase, MANIFEST, buildShards, parseShardSpec, readManifest } from './shards.js';
import { type Frame, readVideo } from './video.js';
import { makeDirs } from '../util/atomic.js';

export interface EncodeOptions {
  /** VAE checkpoint directory or run directory (→ latest). */
  vae: string;
  data: string;
  out: string;
  /** `i/N`: this worker's share of the shard chunks. */
  shard?: string;
  stats?: LatentStats;
  dtype?: LatentDtype;
  /** Clips per VAE forward pass (only clips of one shape are batched together). */
  batch?: number;
  /** Clips per shard file. */
  shardSize?: number;
  backend?: string;
  progress?: boolean;
}

export interface EncodeFailure {
  id: string;
  path: string;
  error: string;
}

export interface EncodeResult {
  written: number[];
  skipped: number[];
  failures: EncodeFailure[];
  /** Null until every chunk of every worker is complete. */
  manifestWritten: boolean;
  missing: number[];
  frames: number;
  seconds: number;
}

/** A decoded, trimmed and cropped clip as (T, H, W, 3) floats in [−1, 1]. */
interface Prepared {
  clip: Clip;
  data: Float32Array;
  shape: [number, number, number, number];
}

function prepare(clip: Clip, frames: Frame[], vae: VAE): Prepared {
  const T = trimFrames(vae.config, frames.length);
  const s = vae.config.spatial_compression;
  const { width: w0, height: h0 } = frames[0];
  const W = Math.floor(w0 / s) * s;
  const H = Math.floor(h0 / s) * s;
  if (T < 1 || W < s || H < s) throw new Error(`too small to encode (${w0}x${h0}, ${frames.length} frames; needs at least ${s}x${s})`);
  const x0 = (w0 - W) >> 1;
  const y0 = (h0 - H) >> 1;
  const data = new Float32Array(T * H * W * 3); // (T, H, W, 3)
  for (let t = 0; t < T; t++) {
    const f = frames[t];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const src = ((y0 + y) * w0 + x0 + x) * 3;
        const dst = ((t * H + y) * W + x) * 3;
        for (let c = 0; c < 3; c++) data[dst + c] = f.data[src + c] / 127.5 - 1;
      }
    }
  }
  return { clip, data, shape: [T, H, W, 3] };
}

/** Encode same-shape clips in one pass; returns per clip the latent (T', H', W', C or 2C). */
function encodeGroup(vae: VAE, group: Prepared[], stats: LatentStats): { latent: Float32Array; shape: [number, number, number, number] }[] {
  const [T, H, W] = group[0].shape;
  const per = T * H * W * 3;
  const buf = new Float32Array(group.length * per);
  group.forEach((g, i) => buf.set(g.data, i * per));
  const out = tf.tidy(() => {
    const x = tf.tensor5d(buf, [group.length, T, H, W, 3]); // (B, T, H, W, 3)
    const { mean, logvar } = vae.encode(x); // (B, T', H', W', C)
    return stats === 'mean' ? mean : tf.concat([mean, logvar], 4); // (B, T', H', W', C | 2C)
  });
  try {
    const [, t, h, w, c] = out.shape;
    const all = out.dataSync() as Float32Array;
    const n = t * h * w * c;
    return group.map((_, i) => ({ latent: all.slice(i * n, (i + 1) * n), shape: [t, h, w, c] as [number, number, number, number] }));
  } finally {
    out.dispose();
  }
}

/** Identity of the VAE weights: `<run>/<ckpt>@<sha256 of model.safetensors, 12 hex>`. */
async function vaeId(ckptDir: string): Promise<string> {
  const bytes = await fs.readFile(path.join(ckptDir, 'model.safetensors'));
  const sha = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  return `${path.basename(path.dirname(path.resolve(ckptDir)))}/${path.basename(ckptDir)}@${sha}`;
}

/** Encode a clip dataset into latent shards under `out` (resumable, shardable). */
export async function encodeDataset(opts: EncodeOptions): Promise<EncodeResult> {
  const stats = opts.stats ?? 'mean';
  const dtype = opts.dtype ?? 'float16';
  const batch = Math.max(1, opts.batch ?? 4);
  const shardSize = Math.max(1, opts.shardSize ?? 64);
  const spec = opts.shard ? parseShardSpec(opts.shard) : { index: 0, count: 1 };
  const clips = await readClips(opts.data);
  if (clips.length === 0) throw new FileError(path.join(opts.data, 'clips.jsonl'), 'has no clips');
  await selectBackend(opts.backend ?? 'auto');
  const { vae, dir: ckptDir, hash } = await loadVAE(opts.vae);
  try {
    const base: ManifestBase = { schema_version: 1, vae: { id: await vaeId(ckptDir), config_hash: hash }, dtype, stats, version: 1 };
    await makeDirs(opts.out);
    const old = await readManifest(opts.out).catch(() => null);
    if (old && (old.vae.id !== base.vae.id || old.dtype !== dtype || old.stats !== stats)) {
      throw new FileError(path.join(opts.out, MANIFEST), `was written with VAE ${old.vae.id} (${old.stats}, ${old.dtype}); this run uses ${base.vae.id} (${stats}, ${dtype}): choose another --out`);
    }
    const total = clips.length;
    const chunks = Math.ceil(total / shardSize);
    const mine = Array.from({ length: chunks }, (_, k) => k).filter((k) => k % spec.count === spec.index);
    const myClips = mine.reduce((s, k) => s + Math.min(total, (k + 1) * shardSize) - k * shardSize, 0);
    const bar = opts.progress === false ? null : new Progress(`encode${opts.shard ? ` ${spec.index}/${spec.count}` : ''}`, myClips);
    const failures: EncodeFailure[] = [];
    const errLog = path.join(opts.out, 'encode-errors.jsonl');
    let frames = 0;
    const t0 = Date.now();
    const res = await buildShards(opts.out, { total, chunkSize: shardSize, spec, base }, async (_chunk, start, end) => {
      const rows: LatentRow[] = [];
      let pending: Prepared[] = [];
      const flush = () => {
        if (pending.length === 0) return;
        const lat = encodeGroup(vae, pending, stats);
        pending.forEach((p, i) => {
          const c = p.clip;
          const [T, H, W] = p.shape;
          const [lt, lh, lw] = lat[i].shape;
          rows.push({ id: c.id, latent: lat[i].latent, shape: lat[i].shape, fps: c.fps, caption: c.caption ?? '', caption_source: c.caption_source ?? (c.caption ? 'dataset' : ''), width: W, height: H, frames: T, bucket: `${lt}x${lh}x${lw}` });
          frames += T;
        });
        bar?.tick(pending.length);
        pending = [];
      };
      for (let i = start; i < end; i++) {
        const c = clips[i];
        let p: Prepared;
        try {
          p = prepare(c, (await readVideo(clipPath(opts.data, c))).frames, vae);
        } catch (err) {
          const f: EncodeFailure = { id: c.id, path: c.path, error: err instanceof Error ? err.message : String(err) };
          failures.push(f);
          warn(`clip ${c.id} skipped: ${f.error}`);
          await fs.appendFile(errLog, `${JSON.stringify(f)}\n`);
          bar?.tick();
          continue;
        }
        if (pending.length > 0 && (pending.length >= batch || pending[0].shape.join() !== p.shape.join())) flush();
        pending.push(p);
      }
      flush();
      return rows;
    });
    bar?.finish();
    if (res.skipped.length) info(`encode: ${res.skipped.length} complete shard(s) skipped`);
    if (!res.manifest) info(`encode: manifest waits for chunk(s) ${res.missing.slice(0, 8).join(', ')}${res.missing.length > 8 ? ', …' : ''} from other workers`);
    return { written: res.written, skipped: res.skipped, failures, manifestWritten: res.manifest !== null, missing: res.missing, frames, seconds: (Date.now() - t0) / 1000 };
  } finally {
    vae.dispose();
  }
}
