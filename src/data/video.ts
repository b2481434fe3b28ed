// Video I/O through ffmpeg (driven by fluent-ffmpeg): probe, streamed decode to RGB frames,
// encode RGB frames to mp4 (H.264 yuv420p), gif or webm (VP9). Frames are 8-bit RGB, row-major.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { produceAtomic } from '../util/atomic.js';
import { FileError } from '../util/errors.js';
import { ffmpegPath } from './ffmpeg.js';

/** One RGB frame: data.length === width * height * 3. */
export interface Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface VideoInfo {
  width: number;
  height: number;
  fps: number;
  frames: number;
  duration: number;
  codec: string;
}

export const VIDEO_EXTS = ['.mp4', '.mov', '.mkv', '.webm', '.avi', '.gif', '.m4v'] as const;

/** Run ffmpeg with args, collecting stderr; resolves with stderr text or rejects with the last error line. */
function runFfmpeg(args: string[], file: string, stdin?: Readable): Promise<string> {
  const bin = ffmpegPath().ffmpeg;
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['-hide_banner', '-nostdin', ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 1 << 20) err = err.slice(-(1 << 19));
    });
    if (stdin && p.stdin) {
      p.stdin.on('error', () => {});
      stdin.pipe(p.stdin);
    }
    p.on('error', (e) => reject(new FileError(file, `cannot run ffmpeg: ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve(err) : reject(new FileError(file, ffmpegReason(err)))));
  });
}

/** The most telling line of ffmpeg's stderr. */
export function ffmpegReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const hit = [...lines].reverse().find((l) => /invalid|error|no such|not found|unknown|could not|does not contain|moov atom/i.test(l));
  // ffmpeg prefixes many messages with the input path; FileError already names it
  return (hit ?? lines[lines.length - 1] ?? 'ffmpeg failed').replace(/^\[[^\]]+\]\s*/, '').replace(/^\S+?: (?=[A-Z])/, '');
}

async function assertReadable(file: string): Promise<number> {
  let st;
  try {
    st = await fs.stat(file);
  } catch {
    throw new FileError(file, 'no such file');
  }
  if (!st.isFile()) throw new FileError(file, 'not a file');
  if (st.size === 0) throw new FileError(file, 'empty file (0 bytes)');
  return st.size;
}

/**
 * Probe a video: size, fps, codec, duration and the exact frame count (counted from packets,
 * so it is exact for constant and variable frame rates). ffprobe is not shipped by the npm
 * ffmpeg package, so this parses `ffmpeg -i` output.
 */
export async function probeVideo(file: string): Promise<VideoInfo> {
  await assertReadable(file);
  const log = await runFfmpeg(['-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-'], file).catch((e: unknown) => {
    if (e instanceof FileError && /matches no streams/i.test(e.reason)) throw new FileError(file, 'no video stream');
    throw e;
  });
  const stream = /Stream #\d+:\d+[^:]*: Video: ([a-z0-9_]+)[^\n]*?, (\d{2,5})x(\d{2,5})[^\n]*/i.exec(log) ?? /Stream #\d+:\d+[^:]*: Video: ([a-z0-9_]+)[^\n]*?, (\d{1,5})x(\d{1,5})[^\n]*/i.exec(log);
  if (!stream) throw new FileError(file, 'no video stream');
  const line = stream[0];
  const fpsM = /([\d.]+) fps/.exec(line) ?? /([\d.]+) tbr/.exec(line);
  const durM = /Duration: (\d+):(\d+):([\d.]+)/.exec(log);
  const frameMatches = [...log.matchAll(/frame=\s*(\d+)/g)];
  const frames = frameMatches.length ? Number(frameMatches[frameMatches.length - 1][1]) : 0;
  if (frames === 0) throw new FileError(file, 'no decodable video frames (truncated or corrupt)');
  const fps = fpsM ? Number(fpsM[1]) : 0;
  const duration = durM ? Number(durM[1]) * 3600 + Number(durM[2]) * 60 + Number(durM[3]) : fps > 0 ? frames / fps : 0;
  return { width: Number(stream[2]), height: Number(stream[3]), fps, frames, duration, codec: stream[1] };
}

export interface DecodeOptions {
  /** Resample to this frame rate (ffmpeg fps filter). */
  fps?: number;
  /** Resize to exactly width x height (bilinear/area via ffmpeg scale). */
  width?: number;
  height?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** Skip this many frames at the start (after fps resampling). */
  startFrame?: number;
}

/**
 * Decode a video to RGB frames as a stream: at most a few frames are held in memory at once,
 * so long videos decode in constant memory. Errors (corrupt, truncated) reject with FileError.
 */
export async function* decodeFrames(file: string, opts: DecodeOptions = {}): AsyncGenerator<Frame> {
  const info = await probeVideo(file);
  const width = opts.width ?? info.width;
  const height = opts.height ?? info.height;
  const filters: string[] = [];
  if (opts.fps) filters.push(`fps=${opts.fps}`);
  if (opts.width || opts.height) filters.push(`scale=${width}:${height}:flags=area`);
  if (opts.startFrame) filters.push(`select=gte(n\\,${opts.startFrame})`);
  const out = new PassThrough({ highWaterMark: width * height * 3 * 4 });
  let stderr = '';
  let failed: FileError | null = null;
  ffmpegPath();
  const cmd = ffmpeg(file)
    .outputOptions(['-map', '0:v:0', ...(filters.length ? ['-vf', filters.join(',')] : []), ...(opts.startFrame ? ['-vsync', '0'] : []), ...(opts.maxFrames ? ['-frames:v', String(opts.maxFrames)] : [])])
    .format('rawvideo')
    .outputOptions(['-pix_fmt', 'rgb24'])
    .on('stderr', (l: string) => {
      stderr += `${l}\n`;
      if (stderr.length > 1 << 18) stderr = stderr.slice(-(1 << 17));
    })
    .on('error', (e: Error) => {
      if (!/Output stream closed|SIGKILL/.test(e.message)) failed = new FileError(file, ffmpegReason(stderr || e.message));
      out.end();
    });
  cmd.pipe(out, { end: true });
  const frameBytes = width * height * 3;
  let buf: Buffer = Buffer.alloc(0);
  let n = 0;
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= frameBytes) {
        yield { width, height, data: new Uint8Array(buf.subarray(0, frameBytes)) };
        buf = buf.subarray(frameBytes);
        n++;
        if (opts.maxFrames && n >= opts.maxFrames) return;
      }
    }
    if (failed) throw failed;
    if (n === 0) throw new FileError(file, `no frames decoded${stderr ? ` (${ffmpegReason(stderr)})` : ''}`);
  } finally {
    cmd.kill('SIGKILL');
  }
}

/** Decode a whole video into memory (for short clips). */
export async function readVideo(file: string, opts: DecodeOptions = {}): Promise<{ frames: Frame[]; info: VideoInfo }> {
  const info = await probeVideo(file);
  const frames: Frame[] = [];
  for await (const f of decodeFrames(file, opts)) frames.push(f);
  return { frames, info };
}

export interface EncodeOptions {
  fps?: number;
  /** H.264/VP9 constant rate factor (lower = better). */
  crf?: number;
  /** Extra metadata tags (mp4 `comment`, etc.). */
  metadata?: Record<string, string>;
}

/**
 * Encode RGB frames to a video, choosing the format from the extension: .mp4 (H.264, yuv420p;
 * odd sizes are padded to even by one edge pixel), .webm (VP9) or .gif. Written atomically.
 */
export async function writeVideo(file: string, frames: readonly Frame[], opts: EncodeOptions = {}): Promise<void> {
  if (frames.length === 0) throw new FileError(file, 'no frames to write');
  const { width, height } = frames[0];
  for (const f of frames) {
    if (f.width !== width || f.height !== height || f.data.length !== width * height * 3) throw new FileError(file, 'frames differ in size');
  }
  const fps = opts.fps ?? 24;
  const ext = path.extname(file).toLowerCase();
  const meta = Object.entries(opts.metadata ?? {}).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);
  let codecArgs: string[];
  if (ext === '.mp4' || ext === '.mov' || ext === '.m4v') {
    codecArgs = ['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0:color=black', '-c:v', 'libx264', '-preset', 'medium', '-crf', String(opts.crf ?? 18), '-pix_fmt', 'yuv420p', '-movflags', '+faststart'];
  } else if (ext === '.webm') {
    codecArgs = ['-c:v', 'libvpx-vp9', '-crf', String(opts.crf ?? 30), '-b:v', '0', '-pix_fmt', 'yuv420p', '-deadline', 'good', '-cpu-used', '4'];
  } else if (ext === '.gif') {
    codecArgs = ['-vf', 'split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=none', '-loop', '0'];
  } else {
    throw new FileError(file, `unsupported video extension '${ext}' (use .mp4, .webm or .gif)`);
  }
  const input = new PassThrough();
  await produceAtomic(file, async (tmp) => {
    const done = runFfmpeg(['-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0', ...codecArgs, ...meta, '-r', String(fps), tmp], file, input);
    for (const f of frames) {
      if (!input.write(f.data)) await new Promise((r) => input.once('drain', r));
    }
    input.end();
    await done;
  });
}
