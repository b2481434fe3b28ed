// FVD end to end with tiny ONNX "I3D" models built by our GraphBuilder (features = channel means).
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { writeVideo, readVideo, type Frame } from '../../src/data/video.js';
import { clipTensor, computeFvd } from '../../src/eval/fvd.js';
import { frechetFromFeatures } from '../../src/eval/frechet.js';
import { GraphBuilder } from '../../src/infer/onnx/builder.js';
import { DataType } from '../../src/infer/onnx/proto.js';
import { runCli, tmpDir } from '../helpers.js';

const dir = tmpDir('fvd-test-');

function meanModel(file: string, layout: 'ncthw' | 'nthwc'): string {
  const g = new GraphBuilder('mean-i3d');
  const x = layout === 'ncthw' ? g.input('clip', [1, 3, 'T', 'H', 'W']) : g.input('clip', [1, 'T', 'H', 'W', 3]);
  g.output(g.op('ReduceMean', [x], { axes: layout === 'ncthw' ? [2, 3, 4] : [1, 2, 3], keepdims: 0 }), [1, 3], DataType.FLOAT, 'features');
  writeFileSync(file, g.toBytes());
  return file;
}

const solidVideo = (n: number, rgb: [number, number, number], w = 32, h = 24): Frame[] =>
  Array.from({ length: n }, () => {
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) data.set(rgb, 3 * i);
    return { width: w, height: h, data };
  });

async function makeSet(name: string, colours: [number, number, number][], frames = 6): Promise<string> {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const [k, c] of colours.entries()) await writeVideo(path.join(d, `v${k}.mp4`), solidVideo(frames, c));
  return d;
}

/** Independent expectation: per-channel mean of 2x/255 − 1 over the first T decoded frames. */
async function expectedFeatures(d: string, T: number): Promise<number[][]> {
  const out: number[][] = [];
  for (const f of ['v0.mp4', 'v1.mp4', 'v2.mp4', 'v3.mp4']) {
    if (!existsSync(path.join(d, f))) continue;
    const { frames } = await readVideo(path.join(d, f), { maxFrames: T });
    const s = [0, 0, 0];
    for (const fr of frames) for (let i = 0; i < fr.data.length; i++) s[i % 3] += (2 * fr.data[i]) / 255 - 1;
    out.push(s.map((v) => v / ((T * frames[0].data.length) / 3)));
  }
  return out;
}

describe('FVD', () => {
  const real = makeSet('real', [[200, 30, 30], [180, 60, 40], [220, 20, 60], [190, 40, 20]]);
  const gen = makeSet('gen', [[30, 200, 30], [60, 170, 40], [40, 210, 70]]);
  const ncthw = meanModel(path.join(dir, 'mean.onnx'), 'ncthw');
  const nthwc = meanModel(path.join(dir, 'mean-nhwc.onnx'), 'nthwc');

  it('lays clips out as NCTHW / NTHWC in [−1, 1]', () => {
    const frames = [solidVideo(1, [255, 0, 51], 4, 4)[0], solidVideo(1, [0, 255, 102], 4, 4)[0]];
    const a = clipTensor(frames, 2, 'ncthw');
    expect(a.dims).toEqual([1, 3, 2, 2, 2]);
    expect([a.data[0], a.data[4], a.data[8 + 4]]).toEqual([1, -1, 1]); // (c0,t0), (c0,t1), (c1,t1)
    const b = clipTensor(frames, 2, 'nthwc');
    expect(b.dims).toEqual([1, 2, 2, 2, 3]);
    expect(b.data[2]).toBeCloseTo(2 * 0.2 - 1, 6);
  });

  it('matches the Fréchet distance of independently computed clip features, in both layouts', async () => {
    const [r, g] = [await real, await gen];
    const want = frechetFromFeatures(await expectedFeatures(r, 4), await expectedFeatures(g, 4));
    const a = await computeFvd(r, g, { model: ncthw, frames: 4, size: 16, threads: 1 });
    expect(a.real.clips).toBe(4);
    expect(a.generated.clips).toBe(3);
    expect(a.feature_dim).toBe(3);
    expect(a.fvd).toBeGreaterThan(1);
    expect(Math.abs(a.fvd - want)).toBeLessThan(1e-4 * want);
    const b = await computeFvd(r, g, { model: nthwc, frames: 4, size: 16, layout: 'nthwc', threads: 1 });
    expect(Math.abs(b.fvd - a.fvd)).toBeLessThan(1e-4 * a.fvd); // float32 reductions in another order
  });

  it('is 0 for a set against itself', async () => {
    const r = await real;
    expect((await computeFvd(r, r, { model: ncthw, frames: 4, size: 16, threads: 1 })).fvd).toBeLessThan(1e-9);
  });

  it('skips videos shorter than the clip and refuses fewer than 2 clips', async () => {
    const r = await real;
    const short = await makeSet('short', [[10, 10, 10], [20, 20, 20]], 3);
    await expect(computeFvd(r, short, { model: ncthw, frames: 4, size: 16, threads: 1 })).rejects.toThrow(/short: FVD needs at least 2 clips of 4 frames, found 0 \(2 skipped, e\.g\. .*v0\.mp4: 3 frames, FVD clips need 4\)/);
    const mixed = await makeSet('mixed', [[10, 10, 10], [20, 20, 20], [30, 30, 30]], 6);
    await writeVideo(path.join(mixed, 'v3.mp4'), solidVideo(2, [40, 40, 40]));
    const res = await computeFvd(r, mixed, { model: ncthw, frames: 4, size: 16, threads: 1 });
    expect(res.generated.clips).toBe(3);
    expect(res.generated.skipped.map((s) => path.basename(s.path))).toEqual(['v3.mp4']);
  });

  it('names a missing model, a missing directory and a model with the wrong inputs', async () => {
    const r = await real;
    await expect(computeFvd(r, r, { model: path.join(dir, 'nope.onnx') })).rejects.toThrow(/nope\.onnx: no such file/);
    await expect(computeFvd(path.join(dir, 'missing'), r, { model: ncthw })).rejects.toThrow(/missing: no such directory/);
    const g = new GraphBuilder('two');
    g.output(g.op('Add', [g.input('a', [1]), g.input('b', [1])]), [1]);
    const two = path.join(dir, 'two.onnx');
    writeFileSync(two, g.toBytes());
    await expect(computeFvd(r, r, { model: two })).rejects.toThrow(/takes one input/);
  });

  it('CLI: prints FVD and writes JSON; a missing model is a one-line error', async () => {
    const [r, g] = [await real, await gen];
    const json = path.join(dir, 'fvd.json');
    const ok = runCli(['eval', 'fvd', '--real', r, '--generated', g, '--features', ncthw, '--frames', '4', '--size', '16', '--json', json]);
    expect(ok.stderr).not.toMatch(/^error/m);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^FVD \d+\.\d{4} +\(real 4 clips, generated 3 clips, 3-d features/);
    const out = JSON.parse((await import('node:fs')).readFileSync(json, 'utf8'));
    expect(out.fvd).toBeGreaterThan(1);
    expect(out.real.clips).toBe(4);
    const bad = runCli(['eval', 'fvd', '--real', r, '--generated', g, '--features', path.join(dir, 'none.onnx')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toMatch(/^error: .*none\.onnx: no such file$/);
  });
});
