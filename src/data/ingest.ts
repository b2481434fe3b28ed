// Ingest real videos into a clip dataset (DESIGN.md "Clip dataset"; `spacetime ingest`):
// probe → stream-decode at the target fps, resized to a resolution bucket → split at hard
// scene cuts (scene-cut.ts) → cut into windows of at most maxFrames → drop pieces shorter than
// minFrames → write clip-00000.mp4 … and clips.jsonl (source path + frame/second range).
// Videos are decoded as a stream, so memory holds one window, never a whole video.
// A bad input (missing, empty, truncated, not a video) is recorded and the batch goes on.
//
// Bucket rule: the long side L = round(min(maxSide, source long side) / 16)·16 (at least 16);
// the short side S = round(L · short/long / 16)·16 (at least 16). The frame is scaled to cover
// L×S with its aspect ratio kept, and the excess (less than 16 px from the rounding) is cropped
// equally from both edges. Nothing else is cropped.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SpacetimeError } from '../util/errors.js';
import { produceDirAtomic, writeFileAtomic } from '../util/atomic.js';
import { FileError, oneLine } from '../util/errors.js';
import { Progress, type ProgressOptions } from '../util/progress.js';
import { writeClips, type Clip } from './clips.js';
import { CutDetector } from './scene-cut.js';
import { decodeFrames, probeVideo, VIDEO_EXTS, writeVideo, type Frame, type VideoInfo } from './video.js';

export interface IngestOptions {
  inputs: string[];
  out: string;
  /** Output frame rate (default: each source's own). */
  fps?: number;
  /** Longest side of the bucket, a multiple of 16 (default 256). */
  maxSide: number;
  /** Longest clip; longer shots are cut into windows (default 64). */
  maxFrames: number;
  /** Shorter pieces are dropped (default 8). */
  minFrames: number;
  /** Scene-cut ratio to the running median frame difference (default 3). */
  cutThreshold: number;
  /** Called for each input that fails (the CLI prints `error: <path>: <reason>`). */
  onFailure?: (failure: IngestFailure) => void;
}

export interface IngestFailure {
  path: string;
  reason: string;
}

export interface IngestSummary {
  inputs: number;
  ok: number;
  failed: IngestFailure[];
  clips: number;
  cuts: number;
  dropped: number;
}

export const INGEST_DEFAULTS = { maxSide: 256, maxFrames: 64, minFrames: 8, cutThreshold: 3 } as const;

/** The resolution bucket of a width × height source (see the rule in the header). */
export function bucketSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const L = Math.max(16, Math.round(Math.min(maxSide, long) / 16) * 16);
  const S = Math.max(16, Math.round((L * short) / long / 16) * 16);
  return width >= height ? { width: L, height: S } : { width: S, height: L };
}

/** Scaled size that covers the bucket with the source aspect kept (then centre-cropped to it). */
export function coverSize(width: number, height: number, bucket: { width: number; height: number }): { width: number; height: number } {
  const s = Math.max(bucket.width / width, bucket.height / height);
  // Even sizes keep ffmpeg's scaler exact; never below the bucket.
  const even = (v: number, min: number) => Math.max(min, 2 * Math.ceil((v - 1e-6) / 2));
  return { width: even(width * s, bucket.width), height: even(height * s, bucket.height) };
}

function cropCentre(f: Frame, w: number, h: number): Frame {
  if (f.width === w && f.height === h) return f;
  const x0 = (f.width - w) >> 1;
  const y0 = (f.height - h) >> 1;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(f.data.subarray(((y0 + y) * f.width + x0) * 3, ((y0 + y) * f.width + x0 + w) * 3), y * w * 3);
  return { width: w, height: h, data };
}

/**
 * Expand inputs: files as given, folders searched recursively for video files (sorted). A file
 * named twice is taken once; folders in `skip` (the output being written) are not searched.
 */
export async function listInputs(inputs: readonly string[], skip: readonly string[] = []): Promise<{ files: string[]; failures: IngestFailure[] }> {
  const files: string[] = [];
  const failures: IngestFailure[] = [];
  const seen = new Set<string>();
  const skipped = new Set(skip.map((d) => path.resolve(d)));
  const walk = async (dir: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!skipped.has(path.resolve(p))) out.push(...(await walk(p)));
      }
      else if ((VIDEO_EXTS as readonly string[]).includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
    return out;
  };
  for (const input of inputs) {
    const st = await fs.stat(input).catch(() => null);
    if (!st) failures.push({ path: input, reason: 'no such file or folder' });
    else if (st.isDirectory()) {
      const found = await walk(input);
      if (!found.length) failures.push({ path: input, reason: `folder holds no video files (${VIDEO_EXTS.join(' ')})` });
      files.push(...found);
    } else files.push(input);
  }
  return {
    files: files.filter((f) => {
      const key = path.resolve(f);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }),
    failures,
  };
}

interface Piece {
  start: number;
  frames: Frame[];
}

/** Ingest one video into `dir`, naming clips from `firstIndex`. Throws FileError; the caller removes partial output. */
async function ingestOne(file: string, info: VideoInfo, dir: string, firstIndex: number, opts: IngestOptions, written: string[], onFrame: (n: number) => void): Promise<{ clips: Clip[]; cuts: number; dropped: number }> {
  const fps = opts.fps ?? info.fps;
  if (!(fps > 0)) throw new FileError(file, 'unknown frame rate (pass --fps)');
  const bucket = bucketSize(info.width, info.height, opts.maxSide);
  const cover = coverSize(info.width, info.height, bucket);
  const detector = new CutDetector({ threshold: opts.cutThreshold });
  const clips: Clip[] = [];
  let cuts = 0;
  let dropped = 0;
  let piece: Piece = { start: 0, frames: [] };
  const flush = async () => {
    const p = piece;
    piece = { start: p.start + p.frames.length, frames: [] };
    if (p.frames.length === 0) return;
    if (p.frames.length < opts.minFrames) {
      dropped++;
      return;
    }
    const index = firstIndex + clips.length;
    const name = `clip-${String(index).padStart(5, '0')}.mp4`;
    written.push(path.join(dir, name));
    await writeVideo(path.join(dir, name), p.frames, { fps });
    const end = p.start + p.frames.length;
    clips.push({
      id: `${path.basename(file, path.extname(file))}-${String(index).padStart(5, '0')}`,
      path: name,
      width: bucket.width,
      height: bucket.height,
      frames: p.frames.length,
      fps,
      source: path.resolve(file),
      source_frames: [p.start, end],
      source_seconds: [round3(p.start / fps), round3(end / fps)],
    });
  };
  for await (const raw of decodeFrames(file, { fps, width: cover.width, height: cover.height })) {
    const frame = cropCentre(raw, bucket.width, bucket.height);
    if (detector.push(frame)) {
      cuts++;
      await flush();
    }
    piece.frames.push(frame);
    onFrame(piece.start + piece.frames.length);
    if (piece.frames.length >= opts.maxFrames) await flush();
  }
  await flush();
  return { clips, cuts, dropped };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Ingest all inputs into a new dataset folder. Individual failures are recorded, not thrown. */
export async function ingestVideos(opts: IngestOptions, progress: ProgressOptions = {}): Promise<IngestSummary> {
  const existing = await fs.readdir(opts.out).catch(() => null);
  if (existing && existing.length) throw new FileError(opts.out, 'already exists and is not empty (choose a new --out)');
  const { files, failures } = await listInputs(opts.inputs, [opts.out, `${path.resolve(opts.out)}.tmp`]);
  const summary: IngestSummary = { inputs: files.length + failures.length, ok: 0, failed: [], clips: 0, cuts: 0, dropped: 0 };
  const fail = (failure: IngestFailure) => {
    summary.failed.push(failure);
    opts.onFailure?.(failure);
  };
  failures.forEach(fail);
  const reason = (err: unknown) => (err instanceof FileError ? err.reason : oneLine(err));
  // Probe everything first: unreadable inputs fail fast, and progress can count output frames.
  const probed: { file: string; info: VideoInfo; expect: number }[] = [];
  for (const file of files) {
    try {
      const info = await probeVideo(file);
      probed.push({ file, info, expect: Math.max(1, opts.fps && info.fps > 0 ? Math.round((info.frames * opts.fps) / info.fps) : info.frames) });
    } catch (err) {
      fail({ path: file, reason: reason(err) });
    }
  }
  const bar = new Progress('ingest frames', probed.reduce((a, p) => a + p.expect, 0), progress);
  await produceDirAtomic(path.resolve(opts.out), async (tmp) => {
    const clips: Clip[] = [];
    let before = 0;
    for (const { file, info, expect } of probed) {
      const written: string[] = [];
      const onFrame = (n: number) => {
        if (n % 16 === 0) bar.update(before + Math.min(n, expect), `${path.basename(file)}, clips ${clips.length}`);
      };
      try {
        const r = await ingestOne(file, info, tmp, clips.length, opts, written, onFrame);
        clips.push(...r.clips);
        summary.ok++;
        summary.cuts += r.cuts;
        summary.dropped += r.dropped;
      } catch (err) {
        await Promise.all(written.map((p) => fs.rm(p, { force: true })));
        fail({ path: file, reason: reason(err) });
      }
      before += expect;
      bar.update(before, `clips ${clips.length}`);
    }
    summary.clips = clips.length;
    // nothing usable: leave no output directory behind (each failure was reported as it happened)
    if (summary.ok === 0) throw new SpacetimeError(`all ${summary.inputs} inputs failed; ${opts.out} was not written`);
    await writeClips(tmp, clips);
    if (summary.failed.length) await writeFileAtomic(path.join(tmp, 'failures.jsonl'), summary.failed.map((f) => JSON.stringify(f)).join('\n') + '\n');
  });
  bar.finish(`clips ${summary.clips}`);
  return summary;
}
