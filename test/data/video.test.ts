import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeFrames, probeVideo, readVideo, writeVideo } from '../../src/data/video.js';
import { readImage, resizeFrame, writeImage } from '../../src/data/image.js';
import { FileError } from '../../src/util/errors.js';
import { movingSquare, tmpDir } from '../helpers.js';

const dir = tmpDir();

describe('video I/O', () => {
  it('round-trips frames through mp4 with exact probe info', async () => {
    const frames = movingSquare(12, 64, 48);
    const file = path.join(dir, 'a.mp4');
    await writeVideo(file, frames, { fps: 12 });
    const info = await probeVideo(file);
    expect(info).toMatchObject({ width: 64, height: 48, frames: 12, fps: 12, codec: 'h264' });
    expect(info.duration).toBeCloseTo(1, 1);
    const { frames: back } = await readVideo(file);
    expect(back).toHaveLength(12);
    // H.264 at crf 18 on flat colours: mean abs error well under 3 levels
    let err = 0;
    for (let t = 0; t < 12; t++) for (let i = 0; i < back[t].data.length; i++) err += Math.abs(back[t].data[i] - frames[t].data[i]);
    expect(err / (12 * 64 * 48 * 3)).toBeLessThan(3);
    expect((await fs.readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('pads odd sizes for yuv420p mp4 and writes gif and webm', async () => {
    const frames = movingSquare(6, 33, 21);
    for (const ext of ['mp4', 'gif', 'webm']) {
      const file = path.join(dir, `odd.${ext}`);
      await writeVideo(file, frames, { fps: 8 });
      const info = await probeVideo(file);
      expect(info.frames).toBe(6);
      expect(info.width).toBe(ext === 'mp4' ? 34 : 33);
      expect(info.height).toBe(ext === 'mp4' ? 22 : 21);
    }
  });

  it('decodes as a stream with fps resampling, resize and maxFrames', async () => {
    const file = path.join(dir, 'b.mp4');
    await writeVideo(file, movingSquare(24, 64, 64), { fps: 24 });
    const got = [];
    for await (const f of decodeFrames(file, { fps: 12, width: 32, height: 32 })) got.push(f);
    expect(got).toHaveLength(12);
    expect(got[0].width).toBe(32);
    const few = [];
    for await (const f of decodeFrames(file, { maxFrames: 5 })) few.push(f);
    expect(few).toHaveLength(5);
  });

  it('names the file and the reason for zero-length, truncated, non-video and missing files', async () => {
    const empty = path.join(dir, 'empty.mp4');
    await fs.writeFile(empty, '');
    await expect(probeVideo(empty)).rejects.toThrow(/empty\.mp4: empty file/);
    const text = path.join(dir, 'notes.mp4');
    await fs.writeFile(text, 'this is not a video at all\n'.repeat(20));
    await expect(probeVideo(text)).rejects.toThrow(FileError);
    await expect(probeVideo(text)).rejects.toThrow(/notes\.mp4: /);
    const good = path.join(dir, 'c.mp4');
    await writeVideo(good, movingSquare(24, 64, 64), { fps: 24 });
    const bytes = await fs.readFile(good);
    const trunc = path.join(dir, 'trunc.mp4');
    await fs.writeFile(trunc, bytes.subarray(0, Math.floor(bytes.length / 3)));
    await expect(readVideo(trunc)).rejects.toThrow(/trunc\.mp4: /);
    await expect(probeVideo(path.join(dir, 'nope.mp4'))).rejects.toThrow(/nope\.mp4: no such file/);
  });
});

describe('image I/O', () => {
  it('writes and reads PNG exactly and resizes', async () => {
    const [f] = movingSquare(1, 20, 10);
    const file = path.join(dir, 'f.png');
    await writeImage(file, f);
    const back = await readImage(file);
    expect(Buffer.from(back.data).equals(Buffer.from(f.data))).toBe(true);
    const small = await resizeFrame(back, 10, 5);
    expect(small.data.length).toBe(10 * 5 * 3);
    await fs.writeFile(path.join(dir, 'bad.png'), 'xx');
    await expect(readImage(path.join(dir, 'bad.png'))).rejects.toThrow(/bad\.png: cannot read image/);
  });
});
