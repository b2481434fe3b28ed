// External ONNX flow and feature models, exercised with tiny graphs our builder writes.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import type { Frame } from '../../src/data/video.js';
import { featuresFromFlag, onnxFeatures, poolOutput, preprocessFrame, PRESETS } from '../../src/eval/features.js';
import { flowFromFlag, frameToNchw, onnxFlow } from '../../src/eval/flow-source.js';
import { consistency } from '../../src/eval/temporal.js';
import { GraphBuilder } from '../../src/infer/onnx/builder.js';
import { DataType } from '../../src/infer/onnx/proto.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../helpers.js';

const dir = tmpDir('onnx-models-');
const rng = new Rng(11);
const randomFrame = (w: number, h: number): Frame => ({ width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => rng.int(256)) });

/** A "flow network": (a, b) → constant flow (u0, v0) at 1/`down` resolution, shaped (1, 2, H/down, W/down). */
function constantFlowModel(file: string, u0: number, v0: number, down = 1): string {
  const g = new GraphBuilder('const-flow');
  const a = g.input('image1', [1, 3, 'H', 'W']);
  const b = g.input('image2', [1, 3, 'H', 'W']);
  let d = g.op('Sub', [a, b]);
  if (down > 1) d = g.op('AveragePool', [d], { kernel_shape: [down, down], strides: [down, down] });
  const two = g.op('Slice', [d, g.ints([0]), g.ints([2]), g.ints([1])]); // (1, 2, h, w)
  const zero = g.op('Mul', [two, g.constant([0], [1])]);
  g.output(g.op('Add', [zero, g.constant([u0, v0], [1, 2, 1, 1])]), [1, 2, 'h', 'w'], DataType.FLOAT, 'flow');
  writeFileSync(file, g.toBytes());
  return file;
}

describe('ONNX flow (--flow onnx:FILE)', () => {
  it('returns the model flow, cropped from the padded size', async () => {
    const est = await onnxFlow(constantFlowModel(path.join(dir, 'flow.onnx'), 1.5, -0.5), { threads: 1 });
    const f = await est.flow(randomFrame(20, 12), randomFrame(20, 12)); // padded to 24×16 inside
    expect([f.width, f.height]).toEqual([20, 12]);
    expect(f.u.every((x) => x === 1.5)).toBe(true);
    expect(f.v.every((x) => x === -0.5)).toBe(true);
  });
  it('upsamples a lower-resolution output and rescales its vectors', async () => {
    const est = await onnxFlow(constantFlowModel(path.join(dir, 'flow4.onnx'), 1, -2, 4), { threads: 1 });
    const f = await est.flow(randomFrame(32, 16), randomFrame(32, 16));
    expect([f.width, f.height]).toEqual([32, 16]);
    for (let i = 0; i < f.u.length; i++) {
      expect(f.u[i]).toBeCloseTo(4, 5);
      expect(f.v[i]).toBeCloseTo(-8, 5);
    }
  });
  it('feeds frames as NCHW in 0..255 or [−1, 1], edge-padded', () => {
    const fr: Frame = { width: 2, height: 1, data: new Uint8Array([0, 255, 51, 255, 0, 102]) };
    const a = frameToNchw(fr, 2, 4, '0-255');
    expect([...a.subarray(0, 8)]).toEqual([0, 255, 255, 255, 0, 255, 255, 255]); // R plane: row 0, then padded row 1
    const b = frameToNchw(fr, 1, 2, '-1-1');
    expect(b[0]).toBe(-1);
    expect(b[2]).toBe(1);
    expect(b[4]).toBeCloseTo(2 * 0.2 - 1, 6);
  });
  it('rejects a bad spec and a model with one input', async () => {
    await expect(flowFromFlag('raft.onnx')).rejects.toThrow(/--flow: expected 'builtin' or 'onnx:FILE'/);
    const g = new GraphBuilder('one');
    g.output(g.op('Relu', [g.input('x', [1, 3, 4, 4])]), [1, 3, 4, 4]);
    const one = path.join(dir, 'one.onnx');
    writeFileSync(one, g.toBytes());
    await expect(flowFromFlag(`onnx:${one}`)).rejects.toThrow(/takes two frames/);
  });
});

describe('ONNX features (--features onnx:FILE)', () => {
  /** An "encoder": (1, 3, H, W) → per-channel spatial mean (1, 3). */
  function meanEncoder(file: string, layout: 'nchw' | 'nhwc'): string {
    const g = new GraphBuilder('mean-encoder');
    const x = layout === 'nchw' ? g.input('pixel_values', [1, 3, 'H', 'W']) : g.input('pixel_values', [1, 'H', 'W', 3]);
    g.output(g.op('ReduceMean', [x], { axes: layout === 'nchw' ? [2, 3] : [1, 2], keepdims: 0 }), [1, 3]);
    writeFileSync(file, g.toBytes());
    return file;
  }

  it('features equal independently computed normalised channel means; consistency follows', async () => {
    const frames = [randomFrame(8, 6), randomFrame(8, 6), randomFrame(8, 6)];
    const mean: [number, number, number] = [0.5, 0.4, 0.3];
    const std: [number, number, number] = [0.2, 0.25, 0.5];
    const ext = await onnxFeatures(meanEncoder(path.join(dir, 'enc.onnx'), 'nchw'), { size: 6, crop: false, kernel: 'bilinear', mean, std, layout: 'nchw' }, 1);
    const got = await ext.extract(frames);
    const want = frames.map((f) => {
      const s = [0, 0, 0];
      for (let i = 0; i < f.data.length; i++) s[i % 3] += (f.data[i] / 255 - mean[i % 3]) / std[i % 3];
      return Float32Array.from(s.map((v) => v / 48));
    });
    for (let k = 0; k < 3; k++) for (let c = 0; c < 3; c++) expect(got[k][c]).toBeCloseTo(want[k][c], 5);
    expect(consistency(got)!).toBeCloseTo(consistency(want)!, 5);
  });
  it('pools encoder outputs: (1, D) as is, (1, N, D) → CLS token, (1, C, h, w) → spatial mean', () => {
    expect([...poolOutput(new Float32Array([1, 2, 3]), [1, 3])]).toEqual([1, 2, 3]);
    expect([...poolOutput(new Float32Array([1, 2, 3, 4, 5, 6]), [1, 2, 3])]).toEqual([1, 2, 3]);
    expect([...poolOutput(new Float32Array([1, 3, 5, 7, 2, 2, 2, 2]), [1, 2, 2, 2])]).toEqual([4, 2]);
    expect(() => poolOutput(new Float32Array(4), [2, 2])).toThrow(/batch 1/);
  });
  it('parses spec options and honours the NHWC layout and the crop', async () => {
    const frames = [randomFrame(12, 8), randomFrame(12, 8)];
    const a = await featuresFromFlag(`onnx:${meanEncoder(path.join(dir, 'enc2.onnx'), 'nchw')}#preset=dino,size=8`, 'subject', 1);
    const b = await featuresFromFlag(`onnx:${meanEncoder(path.join(dir, 'enc3.onnx'), 'nhwc')}#preset=dino,size=8,layout=nhwc`, 'subject', 1);
    const fa = await a.extract(frames);
    const fb = await b.extract(frames);
    for (let c = 0; c < 3; c++) expect(fa[1][c]).toBeCloseTo(fb[1][c], 5);
    expect(preprocessFrame(frames[0], { ...PRESETS.clip, size: 6 }).dims).toEqual([1, 3, 6, 6]);
    expect(preprocessFrame(frames[0], { ...PRESETS.dino, size: 6 }).dims).toEqual([1, 3, 6, 9]);
    await expect(featuresFromFlag('onnx:x.onnx#size=abc', 'subject')).rejects.toThrow(/--features: bad option 'size=abc'/);
    await expect(featuresFromFlag('dino', 'subject')).rejects.toThrow(/--features: expected 'builtin'/);
  });
});
