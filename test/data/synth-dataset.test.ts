import { describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { synthDataset } from '../../src/data/synth/index.js';
import { checkCount, checkFps, parseFrameCounts, parseScenes, parseSizes, parseViolations, type SynthOptions } from '../../src/data/synth/options.js';
import { SCENES } from '../../src/data/synth/scenes.js';
import { PLANTABLE } from '../../src/data/synth/violations.js';
import { readClips } from '../../src/data/clips.js';
import { probeVideo, readVideo } from '../../src/data/video.js';
import { runCli, tmpDir } from '../helpers.js';

const dir = tmpDir('spacetime-synth-');
const quiet = { stream: { write: () => true, isTTY: false } };

describe('synthDataset', () => {
  const opts = (out: string): SynthOptions => ({ out, clips: PLANTABLE.length, scenes: [...SCENES], sizes: [[64, 64], [96, 64]], frames: [12, 16], fps: 12, seed: 11, violations: parseViolations('1', [...SCENES]) });

  it('writes mp4s and a valid clips.jsonl with one planted failure of each type, reproducibly', async () => {
    const a = path.join(dir, 'a');
    const summary = await synthDataset(opts(a), quiet);
    expect(summary.clips).toBe(PLANTABLE.length);
    const clips = await readClips(a);
    expect(clips).toHaveLength(PLANTABLE.length);
    expect(clips.map((c) => c.physics!.violations[0].type).sort()).toEqual([...PLANTABLE].sort());
    expect(clips.map((c) => c.path)).toEqual(PLANTABLE.map((_, i) => `clip-0000${i}.mp4`));
    const info = await probeVideo(path.join(a, clips[0].path));
    expect([info.width, info.height, info.frames, info.fps]).toEqual([clips[0].width, clips[0].height, clips[0].frames, 12]);
    // The decoded video still shows the object's colour at its recorded centre (through H.264).
    const { frames } = await readVideo(path.join(a, clips[2].path));
    const o = clips[2].physics!.objects[0];
    const st = o.frames.findIndex((s) => s.visible && !s.color && s.w >= 6);
    const px = o.frames[st];
    const i = (Math.floor(px.y) * frames[st].width + Math.floor(px.x)) * 3;
    expect(Math.hypot(frames[st].data[i] - o.rgb[0], frames[st].data[i + 1] - o.rgb[1], frames[st].data[i + 2] - o.rgb[2])).toBeLessThan(40);
    expect(clips.every((c) => typeof c.caption === 'string' && c.caption.length > 30)).toBe(true);
    const b = path.join(dir, 'b');
    await synthDataset(opts(b), quiet);
    expect(await fs.readFile(path.join(b, 'clips.jsonl'), 'utf8')).toBe(await fs.readFile(path.join(a, 'clips.jsonl'), 'utf8'));
    expect((await fs.readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('refuses a non-empty output folder', async () => {
    await expect(synthDataset({ ...opts(path.join(dir, 'a')), clips: 1 }, quiet)).rejects.toThrow(/a: already exists and is not empty/);
  });
});

describe('spacetime synth (CLI)', () => {
  it('writes a dataset and reports what it planted', () => {
    const out = path.join(dir, 'cli');
    const r = runCli(['synth', '--out', out, '--clips', '2', '--scenes', 'bounce,roll', '--violations', 'teleport']);
    expect(r.stderr).toMatch(/wrote 2 clips .*planted failures: teleport 2/);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(out, 'clip-00001.mp4'))).toBe(true);
  });

  const bad: [string[], RegExp][] = [
    [['--sizes', '0x5'], /^error: --sizes: '0x5': each side must be 32\.\.1024 pixels\n$/],
    [['--scenes', 'bounce,fly'], /^error: --scenes: unknown scene 'fly' \(known: bounce, fall/],
    [['--frames', 'abc'], /^error: --frames: 'abc' is not a whole number of frames\n$/],
    [['--frames', '8', '--violations', '0.5'], /^error: --frames: 8: clips with --violations need at least 12 frames\n$/],
  ];
  it('rejects bad flags with one line naming the flag, and writes nothing', () => {
    for (const [args, msg] of bad) {
      const out = path.join(dir, 'never');
      const r = runCli(['synth', '--out', out, ...args]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('validates the other flags the same way (library edge)', () => {
    expect(() => parseSizes('64by64')).toThrow(/^--sizes: '64by64' is not WIDTHxHEIGHT/);
    expect(() => parseSizes('64x2000')).toThrow(/^--sizes: '64x2000': each side must be 32\.\.1024/);
    expect(() => parseFrameCounts('16,')).not.toThrow();
    expect(() => parseFrameCounts('4')).toThrow(/^--frames: 4: must be 8\.\.600/);
    expect(() => parseScenes(',')).toThrow(/^--scenes: empty list/);
    expect(() => checkCount('--clips', '0', 1, 10)).toThrow(/^--clips: 0: must be a whole number in 1\.\.10/);
    expect(() => checkCount('--seed', '1.5', 0, 10)).toThrow(/^--seed: 1\.5: must be a whole number/);
    expect(() => checkFps('fast')).toThrow(/^--fps: fast: must be a number in \(0, 120\]/);
    expect(parseSizes('96x64, 64x64')).toEqual([[96, 64], [64, 64]]);
  });
});
