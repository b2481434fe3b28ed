// `spacetime caption` and `spacetime upsample` end to end through the built CLI (dist/).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeClips, type PhysicsTruth } from '../../src/data/clips.js';
import { writeVideo } from '../../src/data/video.js';
import { movingSquare, runCli, tmpDir } from '../helpers.js';

const truth: PhysicsTruth = {
  scene: 'fall',
  background: 'dark blue',
  gravity: 9.8,
  objects: [{ id: 0, shape: 'ball', color: 'orange', rgb: [245, 140, 30], frames: Array.from({ length: 8 }, (_, i) => ({ x: 32, y: 6 + i * i, w: 6, h: 6, visible: true })) }],
  occluders: [],
  events: [],
  violations: [],
};

describe('spacetime caption / upsample', () => {
  const dir = tmpDir();
  beforeAll(async () => {
    await writeVideo(path.join(dir, 'a.mp4'), movingSquare(8, 64, 64), { fps: 8 });
    await writeClips(dir, [{ id: 'a', path: 'a.mp4', width: 64, height: 64, frames: 8, fps: 8, caption: 'old', physics: truth }]);
  });

  it('captions a clip dataset with the builtin captioner and prints a JSON summary', () => {
    const r = runCli(['caption', '--data', dir, '--json'], { timeout: 60_000 });
    expect(r.stderr).toMatch(/caption: 1 clips: 1 captioned, 0 kept, 0 failed \(builtin:truth 1\)/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'clips', total: 1, ok: 1 });
    const clip = JSON.parse(readFileSync(path.join(dir, 'clips.jsonl'), 'utf8'));
    expect(clip.caption).toMatch(/^A small orange ball falls quickly from the top toward the grey floor, against a plain dark blue background\./);
    expect(clip.caption_source).toBe('builtin:truth');
  });

  it('a dead endpoint marks clips failed, prints why, and exits non-zero', async () => {
    const s = http.createServer();
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    const port = (s.address() as AddressInfo).port;
    await new Promise((res) => s.close(res));
    const r = runCli(['caption', '--data', dir, '--captioner', `openai:http://127.0.0.1:${port}#m`, '--retries', '0'], { timeout: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/warning: caption a: failed: .*ECONNREFUSED/);
    expect(r.stderr).toMatch(/error: caption: all 1 clips failed/);
    const clip = JSON.parse(readFileSync(path.join(dir, 'clips.jsonl'), 'utf8'));
    expect(clip).toMatchObject({ caption_source: 'failed', caption: expect.stringMatching(/orange ball/) });
  });

  it('one-line errors for bad flags and paths', () => {
    let r = runCli(['caption', '--data', path.join(dir, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: ${path.join(dir, 'nope')}: no such directory`);
    r = runCli(['caption', '--data', dir, '--captioner', 'magic']);
    expect(r.stderr.trim()).toBe("error: --captioner: unknown captioner 'magic' (use builtin, openai:URL[#model] or onnx:DIR)");
    r = runCli(['caption', '--data', dir, '--shard', '2/2']);
    expect(r.stderr.trim()).toMatch(/^error: --shard: i must be in 0..N-1/);
    r = runCli(['caption', '--data', dir, '--frames', '0']);
    expect(r.stderr.trim()).toBe('error: --frames: must be a positive integer, got 0');
  });

  it('upsamples a prompt, and refuses an empty one', () => {
    let r = runCli(['upsample', '--prompt', 'red ball bounce']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('A small red ball falls from the top and bounces twice on the grey floor, each bounce lower than the last, against a plain dark grey background. The camera is static.');
    r = runCli(['upsample', '--prompt', 'a blue box slides to the left', '--frames', '17', '--fps', '8']);
    expect(r.stdout.trim()).toBe('A small blue box slides from right to left across the grey floor, slowing down until it stops, against a plain dark grey background. The camera is static. The clip lasts 2.1 seconds.');
    r = runCli(['upsample', '--prompt', 'x', '--frames', '0', '--fps', '8']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: --frames: must be a positive integer, got 0');
    r = runCli(['upsample', '--prompt', '']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: --prompt: empty prompt');
  });
});
