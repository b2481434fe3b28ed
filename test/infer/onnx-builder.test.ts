// Our ONNX writer against onnxruntime: tiny graphs checked element-wise against float64 JS math.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { GraphBuilder, attr } from '../../src/infer/onnx/builder.js';
import { DataType, Writer } from '../../src/infer/onnx/proto.js';
import { createSession, floatOutput, inputShape, run } from '../../src/infer/ort.js';
import { FileError } from '../../src/util/errors.js';
import { float16Bits } from '../../src/util/float16.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../helpers.js';

const TOL = 1e-5;
const rng = new Rng(7);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.range(-1, 1));

function expectClose(got: Float32Array, want: number[], tol = TOL) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThan(tol);
}

describe('protobuf wire encoding', () => {
  it('encodes varints, including negative int64 as 10 bytes', () => {
    const w = new Writer();
    w.varint(300);
    w.varint(-1);
    const b = Buffer.concat(w.finish());
    expect([...b.subarray(0, 2)]).toEqual([0xac, 0x02]);
    expect(b.length).toBe(12);
    expect([...b.subarray(2)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });
  it('converts float32 to float16 bits', () => {
    expect(float16Bits(1)).toBe(0x3c00);
    expect(float16Bits(-2)).toBe(0xc000);
    expect(float16Bits(65504)).toBe(0x7bff);
    expect(float16Bits(1e6)).toBe(0x7c00);
    expect(float16Bits(2 ** -24)).toBe(0x0001);
  });
});

describe('GraphBuilder → onnxruntime', () => {
  it('MatMul + Add + Relu with a dynamic batch axis', async () => {
    const [I, O] = [5, 3];
    const W = rand(I * O);
    const bias = rand(O);
    const g = new GraphBuilder('mlp');
    const x = g.input('x', ['batch', I]);
    const h = g.op('Add', [g.op('MatMul', [x, g.initializer('W', W, [I, O])]), g.initializer('b', bias, [O])]);
    g.output(g.op('Relu', [h]), ['batch', O], DataType.FLOAT, 'y');
    const s = await createSession(g.toBytes(), { threads: 1 });
    expect(inputShape(s, 'x')).toEqual(['batch', I]);
    expect(s.outputNames).toEqual(['y']);
    for (const B of [1, 4]) {
      const xs = rand(B * I);
      const y = floatOutput((await run(s, { x: { data: xs, dims: [B, I] } })).y);
      expect(y.dims).toEqual([B, O]);
      const want: number[] = [];
      for (let b = 0; b < B; b++)
        for (let o = 0; o < O; o++) {
          let acc = bias[o];
          for (let i = 0; i < I; i++) acc += xs[b * I + i] * W[i * O + o];
          want.push(Math.max(0, acc));
        }
      expectClose(y.data, want);
    }
  });

  it('Conv (pads, strides) then ReduceMean over H, W', async () => {
    const [C, K, H, W] = [2, 3, 6, 5];
    const w = rand(K * C * 3 * 3);
    const b = rand(K);
    const g = new GraphBuilder('conv');
    const x = g.input('x', ['N', C, H, W]);
    const y = g.op('Conv', [x, g.initializer('w', w, [K, C, 3, 3]), g.initializer('b', b, [K])], { pads: [1, 1, 1, 1], strides: [2, 1], kernel_shape: [3, 3] });
    g.output(y, ['N', K, 3, W], DataType.FLOAT, 'conv');
    g.output(g.op('ReduceMean', [y], { axes: [2, 3], keepdims: 0 }), ['N', K], DataType.FLOAT, 'mean');
    const s = await createSession(g.toBytes(), { threads: 1 });
    const xs = rand(C * H * W);
    const out = await run(s, { x: { data: xs, dims: [1, C, H, W] } });
    const Ho = 3;
    const conv: number[] = [];
    const mean: number[] = [];
    for (let k = 0; k < K; k++) {
      let sum = 0;
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < W; ox++) {
          let acc = b[k];
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const iy = oy * 2 - 1 + ky;
                const ix = ox - 1 + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += xs[(c * H + iy) * W + ix] * w[((k * C + c) * 3 + ky) * 3 + kx];
              }
          conv.push(acc);
          sum += acc;
        }
      mean.push(sum / (Ho * W));
    }
    expectClose(floatOutput(out.conv).data, conv);
    expectClose(floatOutput(out.mean).data, mean);
  });

  it('float attributes, int64 constants (Reshape with -1) and float16 initializers', async () => {
    const g = new GraphBuilder('misc');
    const x = g.input('x', [2, 3]);
    const r = g.op('Reshape', [x, g.ints([-1])]);
    const lr = g.op('LeakyRelu', [r], { alpha: attr.float(0.5) });
    const h = g.op('Cast', [g.initializer('h', new Float32Array([1.5, -2, 0.25, 8, 0, 3]), [6], { float16: true })], { to: DataType.FLOAT });
    g.output(g.op('Add', [lr, h]), [6]);
    const s = await createSession(g.toBytes(), { threads: 1 });
    const xs = new Float32Array([1, -1, 2, -2, 0.5, -4]);
    const y = floatOutput(Object.values(await run(s, { x: { data: xs, dims: [2, 3] } }))[0]);
    expectClose(y.data, [1 + 1.5, -0.5 - 2, 2 + 0.25, -1 + 8, 0.5, -2 + 3]);
  });

  it('saves with external data and loads from the file', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'ext.onnx');
    const W = rand(64 * 8);
    const g = new GraphBuilder('ext');
    const x = g.input('x', ['B', 64]);
    g.output(g.op('MatMul', [x, g.initializer('W', W, [64, 8])]), ['B', 8]);
    const r = await g.save(file, { externalThreshold: 1024 });
    expect(r.externalBytes).toBe(W.byteLength);
    expect(existsSync(`${file}.data`)).toBe(true);
    expect(statSync(file).size).toBeLessThan(1024);
    const s = await createSession(file, { threads: 1 });
    const xs = rand(64);
    const y = floatOutput(Object.values(await run(s, { x: { data: xs, dims: [1, 64] } }))[0]);
    const want = Array.from({ length: 8 }, (_, o) => {
      let acc = 0;
      for (let i = 0; i < 64; i++) acc += xs[i] * W[i * 8 + o];
      return acc;
    });
    expectClose(y.data, want);
  });

  it('rejects an invalid graph with the runtime message', async () => {
    const g = new GraphBuilder('bad');
    const x = g.input('x', [2, 3]);
    g.output(g.op('MatMul', [x, g.initializer('W', rand(4 * 2), [4, 2])]), [2, 2]);
    const err = await createSession(g.toBytes(), { threads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileError);
    expect((err as FileError).message).toMatch(/onnxruntime cannot load the model: .*(MatMul|dimension|shape)/i);
    const g2 = new GraphBuilder('unknown-op');
    g2.output(g2.op('NoSuchOp', [g2.input('x', [1])]), [1]);
    await expect(createSession(g2.toBytes())).rejects.toThrow(/NoSuchOp/);
    await expect(createSession('/nonexistent/model.onnx')).rejects.toThrow(/model.onnx: no such file/);
    const ok = new GraphBuilder('ok');
    ok.output(ok.op('Relu', [ok.input('x', [2])]), [2]);
    const s = await createSession(ok.toBytes(), { threads: 1 });
    await expect(run(s, { y: { data: new Float32Array(2), dims: [2] } })).rejects.toThrow(/model has no input 'y' \(inputs: x\)/);
    await expect(run(s, { x: { data: new Float32Array(3), dims: [2] } })).rejects.toThrow(/input x: 3 values do not fill shape \(2\)/);
  });
});
