import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { bucketSize, coverSize, ingestVideos } from '../../src/data/ingest.js';
import { CutDetector } from '../../src/data/scene-cut.js';
import { readClips } from '../../src/data/clips.js';
import { probeVideo, readVideo, writeVideo, type Frame } from '../../src/data/video.js';
import { movingSquare, runCli, tmpDir } from '../helpers.js';

const dir = tmpDir('spacetime-ingest-');
const quiet = { stream: { write: () => true, isTTY: false } };
const defaults = { maxSide: 256, maxFrames: 64, minFrames: 4, cutThreshold: 3 };

/** Shot A: red square moving right on grey; shot B: blue square moving down on a dark field. */
function twoShots(nA: number, nB: number, w = 96, h = 64): Frame[] {
  const a = movingSquare(nA, w, h, { size: 10, dx: 2 });
  const b = movingSquare(nB, w, h, { size: 16, dx: 0, dy: 1, x0: 50, y0: 10, color: [40, 60, 230] }).map((f) => {
    const data = f.data.map((v, i) => (f.data[i - (i % 3)] === 128 && f.data[i - (i % 3) + 1] === 128 ? 30 : v));
    return { ...f, data };
  });
  return [...a, ...b];
}

describe('resolution buckets', () => {
  it('rounds both sides to multiples of 16 keeping the aspect ratio, long side ≤ max-side', () => {
    expect(bucketSize(1920, 1080, 256)).toEqual({ width: 256, height: 144 });
    expect(bucketSize(1080, 1920, 256)).toEqual({ width: 144, height: 256 });
    expect(bucketSize(640, 480, 128)).toEqual({ width: 128, height: 96 });
    expect(bucketSize(100, 75, 256)).toEqual({ width: 96, height: 80 });
    expect(bucketSize(30, 20, 256)).toEqual({ width: 32, height: 16 });
    expect(bucketSize(64, 64, 256)).toEqual({ width: 64, height: 64 });
    // Scaled to cover the bucket; the crop is only the rounding remainder.
    for (const [w, h] of [[1920, 1080], [100, 75], [333, 200]]) {
      const b = bucketSize(w, h, 128);
      const c = coverSize(w, h, b);
      expect(c.width).toBeGreaterThanOrEqual(b.width);
      expect(c.height).toBeGreaterThanOrEqual(b.height);
      expect(c.width - b.width + (c.height - b.height)).toBeLessThan(16 + 2);
      expect(Math.abs(c.width / c.height - w / h) / (w / h)).toBeLessThan(0.03);
    }
  });
});

describe('scene cuts', () => {
  it('fires exactly at the hard cut and never on continuous motion', () => {
    const det = new CutDetector({ threshold: 3 });
    const cuts = twoShots(10, 10).map((f, t) => (det.push(f) ? t : -1)).filter((t) => t >= 0);
    expect(cuts).toEqual([10]);
    const calm = new CutDetector();
    expect(movingSquare(30, 64, 64, { dx: 3, size: 12 }).some((f) => calm.push(f))).toBe(false);
  });
});

describe('ingestVideos', () => {
  it('splits a video at its hard cut and records the source range', async () => {
    const src = path.join(dir, 'cut.mp4');
    await writeVideo(src, twoShots(17, 23), { fps: 12 });
    const out = path.join(dir, 'cut-out');
    const s = await ingestVideos({ inputs: [src], out, ...defaults }, quiet);
    expect(s).toMatchObject({ inputs: 1, ok: 1, clips: 2, cuts: 1, dropped: 0 });
    const clips = await readClips(out);
    expect(clips.map((c) => c.source_frames)).toEqual([[0, 17], [17, 40]]);
    expect(clips.map((c) => [c.width, c.height, c.fps])).toEqual([[96, 64, 12], [96, 64, 12]]);
    expect(clips[1].source).toBe(path.resolve(src));
    expect(clips[1].source_seconds).toEqual([1.417, 3.333]);
    const info = await probeVideo(path.join(out, clips[1].path));
    expect(info.frames).toBe(23);
  });

  it('resamples fps, resizes to the bucket, windows long shots and drops short pieces', async () => {
    const src = path.join(dir, 'long.mp4');
    await writeVideo(src, movingSquare(48, 96, 64, { dx: 1 }), { fps: 24 });
    const out = path.join(dir, 'long-out');
    const s = await ingestVideos({ inputs: [src], out, ...defaults, fps: 12, maxSide: 48, maxFrames: 10, minFrames: 5 }, quiet);
    // 48 frames at 24 fps = 24 frames at 12 fps → windows 10 + 10 + 4 (dropped).
    expect(s).toMatchObject({ clips: 2, dropped: 1, cuts: 0 });
    const clips = await readClips(out);
    expect(clips.map((c) => [c.frames, c.width, c.height, c.fps])).toEqual([[10, 48, 32, 12], [10, 48, 32, 12]]);
    expect(clips.map((c) => c.source_frames)).toEqual([[0, 10], [10, 20]]);
    const { frames, info } = await readVideo(path.join(out, clips[1].path));
    expect([info.width, info.height, info.fps, frames.length]).toEqual([48, 32, 12, 10]);
  });

  it('records corrupt, empty, truncated, non-video and missing inputs and carries on', async () => {
    const batch = path.join(dir, 'batch');
    await fs.mkdir(path.join(batch, 'sub'), { recursive: true });
    await writeVideo(path.join(batch, 'sub', 'good.mp4'), movingSquare(12, 64, 64), { fps: 12 });
    await fs.writeFile(path.join(batch, 'empty.mp4'), '');
    await fs.writeFile(path.join(batch, 'notes.mov'), 'not a video\n'.repeat(50));
    await fs.writeFile(path.join(batch, 'readme.txt'), 'ignored: not a video extension');
    const good = await fs.readFile(path.join(batch, 'sub', 'good.mp4'));
    await fs.writeFile(path.join(batch, 'trunc.mp4'), good.subarray(0, Math.floor(good.length / 3)));
    const out = path.join(dir, 'batch-out');
    const missing = path.join(dir, 'nope.mp4');
    // The good file is named twice (inside the folder and directly): it is ingested once.
    const noVideos = path.join(dir, 'no-videos');
    await fs.mkdir(noVideos, { recursive: true });
    await fs.writeFile(path.join(noVideos, 'a.txt'), 'x');
    const r = runCli(['ingest', batch, missing, path.join(batch, 'sub', 'good.mp4'), noVideos, '--out', out, '--min-frames', '4']);
    expect(r.code).toBe(0);
    for (const bad of ['empty.mp4', 'notes.mov', 'trunc.mp4']) expect(r.stderr).toMatch(new RegExp(`^error: ${path.join(batch, bad).replace(/[.]/g, '\\.')}: .+$`, 'm'));
    expect(r.stderr).toContain(`error: ${missing}: no such file or folder`);
    expect(r.stderr).toContain(`error: ${noVideos}: folder holds no video files`);
    expect(r.stderr).toMatch(/ingested 1 of 6 inputs into 1 clips .*; 5 failed \(see .*failures\.jsonl\)/);
    const failures = (await fs.readFile(path.join(out, 'failures.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { path: string; reason: string });
    expect(failures.map((f) => path.basename(f.path)).sort()).toEqual(['empty.mp4', 'no-videos', 'nope.mp4', 'notes.mov', 'trunc.mp4']);
    expect(failures.find((f) => f.path.endsWith('empty.mp4'))!.reason).toBe('empty file (0 bytes)');
    const clips = await readClips(out);
    expect(clips).toHaveLength(1);
    expect(clips[0].source).toBe(path.join(batch, 'sub', 'good.mp4'));
    expect((await fs.readdir(out)).sort()).toEqual(['clip-00000.mp4', 'clips.jsonl', 'failures.jsonl']);
  });

  it('exits non-zero when every input fails, and rejects bad flags naming them', async () => {
    const bad = path.join(dir, 'only-bad.mp4');
    await fs.writeFile(bad, 'garbage');
    const r = runCli(['ingest', bad, '--out', path.join(dir, 'none-out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${bad.replace(/[.]/g, '\\.')}: `, 'm'));
    expect(r.stderr).toMatch(/error: all 1 inputs failed/);
    expect(existsSync(path.join(dir, 'none-out'))).toBe(false);
    const f = runCli(['ingest', bad, '--out', path.join(dir, 'x'), '--max-side', '100']);
    expect(f.code).toBe(1);
    expect(f.stderr).toBe('error: --max-side: 100: must be a multiple of 16\n');
    await expect(ingestVideos({ inputs: [bad], out: path.join(dir, 'cut-out'), ...defaults }, quiet)).rejects.toThrow(/cut-out: already exists and is not empty/);
  });
});
