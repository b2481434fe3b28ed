// `spacetime eval temporal` through the built CLI: table, JSON schema (DESIGN.md), bad inputs.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { writeVideo } from '../../src/data/video.js';
import { movingSquare, runCli, tmpDir } from '../helpers.js';

const dir = tmpDir('eval-temporal-');

describe('spacetime eval temporal', () => {
  const ready = (async () => {
    await writeVideo(path.join(dir, 'moving.mp4'), movingSquare(16, 64, 48, { size: 10, dx: 2, dy: 1 }), { fps: 8 });
    await writeVideo(path.join(dir, 'still.mp4'), movingSquare(12, 64, 48, { size: 10, dx: 0, dy: 0 }), { fps: 8 });
    writeFileSync(path.join(dir, 'broken.mp4'), 'not a video');
  })();

  it('scores good videos, reports the bad one and exits non-zero', async () => {
    await ready;
    const json = path.join(dir, 'out', 'temporal.json');
    const r = runCli(['eval', 'temporal', path.join(dir, 'moving.mp4'), path.join(dir, 'broken.mp4'), path.join(dir, 'still.mp4'), '--json', json]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${path.join(dir, 'broken.mp4').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\S`, 'm'));
    expect(r.stderr).toMatch(/1 of 3 video\(s\) could not be scored/);
    expect(r.stdout).toMatch(/^video +frames +flicker +smooth +dynamic +warp_err +subject +backgr$/m);
    expect(r.stdout).toMatch(/moving\.mp4 +16 /);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(out)).toEqual(['videos', 'mean', 'errors', 'settings']);
    expect(out.settings).toEqual({ flow: 'builtin', subject_features: 'builtin-subject', background_features: 'builtin-background' });
    expect(out.videos.map((v: { path: string }) => path.basename(v.path))).toEqual(['moving.mp4', 'still.mp4']);
    const [moving, still] = out.videos;
    for (const k of ['path', 'frames', 'width', 'height', 'flicker', 'motion_smoothness', 'dynamic_degree', 'warp_error', 'subject_consistency', 'background_consistency']) expect(moving).toHaveProperty(k);
    expect([moving.frames, moving.width, moving.height]).toEqual([16, 64, 48]);
    expect(moving.dynamic_degree).toBe(true);
    expect(moving.dynamic_pairs).toHaveLength(15);
    expect(still.dynamic_degree).toBe(false);
    expect(still.flicker).toBeGreaterThan(0.999);
    expect(still.warp_error).toBeLessThan(1e-5);
    expect(out.mean.dynamic_degree).toBe(0.5);
    expect(out.mean.flicker).toBeCloseTo((moving.flicker + still.flicker) / 2, 12);
    expect(out.errors).toHaveLength(1);
    // atomic: no temporary files left beside the output
    expect(readdirSync(path.dirname(json))).toEqual(['temporal.json']);
  });

  it('--max-side scores a downscaled copy and reports both sizes', async () => {
    await ready;
    const json = path.join(dir, 'small.json');
    const r = runCli(['eval', 'temporal', path.join(dir, 'moving.mp4'), '--max-side', '32', '--json', json]);
    expect(r.code).toBe(0);
    const v = JSON.parse(readFileSync(json, 'utf8')).videos[0];
    expect([v.width, v.height, v.scored_width, v.scored_height]).toEqual([64, 48, 32, 24]);
    expect(v.dynamic_threshold).toBeCloseTo((6 * 24) / 256, 12);
    expect(runCli(['eval', 'temporal', path.join(dir, 'moving.mp4'), '--max-side', '3']).stderr.trim()).toBe('error: --max-side: expected an integer ≥ 16, got 3');
  });

  it('accepts a directory and rejects bad flags with one line', async () => {
    await ready;
    const r = runCli(['eval', 'temporal', dir, '--flow', 'raft']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe("error: --flow: expected 'builtin' or 'onnx:FILE', got 'raft'");
    const missing = runCli(['eval', 'temporal', path.join(dir, 'nope.mp4')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.mp4: no such file/);
    expect(existsSync(path.join(dir, 'nope.json'))).toBe(false);
  });
});
