// Layer-level checks of the DiT building blocks on the cpu backend (the reference): patchify is an
// exact inverse, RoPE preserves norms and depends only on relative offsets, and every hand-written
// gradient (linear, gain, attention, RoPE swap) matches plain autodiff within 1e-4.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { patchify, unpatchify, condTokens } from '../../src/model/patchify.js';
import { applyRope, ropeTables } from '../../src/model/rope.js';
import { linear, matmul2d, scaleLastAxis } from '../../src/model/linear.js';
import { attend, MASKED } from '../../src/model/attention.js';
import { geluTanh } from '../../src/model/norm.js';
import { pooledTextEmbed } from '../../src/model/embed.js';

beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
  await ensureGradients();
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('patchify', () => {
  it.each([
    [[2, 4, 6, 8, 3], [1, 2, 2]],
    [[1, 5, 7, 9, 2], [2, 2, 4]],
    [[2, 3, 3, 3, 1], [3, 3, 3]],
  ] as const)('round-trips %j with patch %j exactly', (shape, patch) => {
    const x = tf.randomNormal([...shape]) as tf.Tensor5D;
    const { tokens, grid, pad, valid } = patchify(x, patch);
    const [b, t, h, w, c] = shape;
    expect(grid).toEqual([Math.ceil(t / patch[0]), Math.ceil(h / patch[1]), Math.ceil(w / patch[2])]);
    expect(pad).toEqual(grid.map((g, i) => g * patch[i] - [t, h, w][i]));
    expect(tokens.shape).toEqual([b, grid[0] * grid[1] * grid[2], patch[0] * patch[1] * patch[2] * c]);
    expect(Array.from(valid.dataSync()).every((v) => v === 1)).toBe(true);
    const y = unpatchify(tokens, grid, patch, [t, h, w, c]);
    expect(y.shape).toEqual(x.shape);
    expect(maxAbs(x, y)).toBe(0);
    tf.dispose([x, tokens, valid, y]);
  });

  it('lays a token out in (pt, ph, pw, C) order, t-major token order', () => {
    const x = tf.tensor5d(Array.from({ length: 2 * 4 * 4 * 2 }, (_, i) => i), [1, 2, 4, 4, 2]);
    const { tokens } = patchify(x, [1, 2, 2]);
    const v = tokens.arraySync()[0];
    // token 1 = frame 0, patch row 0, patch col 1 → pixels (0,0,2),(0,0,3),(0,1,2),(0,1,3)
    const px = (t: number, h: number, w: number) => [((t * 4 + h) * 4 + w) * 2, ((t * 4 + h) * 4 + w) * 2 + 1];
    expect(v[1]).toEqual([...px(0, 0, 2), ...px(0, 0, 3), ...px(0, 1, 2), ...px(0, 1, 3)]);
    expect(v[4]).toEqual([...px(1, 0, 0), ...px(1, 0, 1), ...px(1, 1, 0), ...px(1, 1, 1)]);
    tf.dispose([x, tokens]);
  });

  it('rejects a bad patch and a mismatched grid', () => {
    const x = tf.zeros([1, 2, 2, 2, 1]) as tf.Tensor5D;
    expect(() => patchify(x, [0, 2, 2])).toThrow(/patch must be three positive integers/);
    const t = tf.zeros([1, 4, 4]) as tf.Tensor3D;
    expect(() => unpatchify(t, [1, 2, 2], [1, 2, 2], [1, 5, 4, 1])).toThrow(/does not fit/);
    tf.dispose([x, t]);
  });

  it('spreads per-frame clean flags over tokens, padded frames clean = 0', () => {
    const m = tf.tensor2d([[1, 0, 1]]);
    const c = condTokens(m, [2, 1, 2], 2); // T = 3 padded to 4
    expect(c.arraySync()).toEqual([[[1, 0], [1, 0], [1, 0], [1, 0]]]);
    tf.dispose([m, c]);
  });
});

describe('3-D RoPE', () => {
  const cfg = { split: [2, 3, 3] as [number, number, number], theta: 100, scale: [1, 1, 1] as [number, number, number] };

  it('preserves the norm of every head vector', () => {
    const pos = new Int32Array([0, 0, 0, 3, 1, 7, 9, 5, 2]);
    const { cos, sin } = ropeTables(pos, 16, cfg);
    const x = tf.randomNormal([1, 3, 2, 16]) as tf.Tensor4D;
    const y = applyRope(x, cos, sin);
    const nx = tf.norm(x, 2, -1);
    const ny = tf.norm(y, 2, -1);
    expect(maxAbs(nx, ny)).toBeLessThan(1e-5);
    // position (0,0,0) is the identity; others are not
    expect(maxAbs(tf.slice(x, [0, 0, 0, 0], [1, 1, 2, 16]), tf.slice(y, [0, 0, 0, 0], [1, 1, 2, 16]))).toBeLessThan(1e-6);
    expect(maxAbs(x, y)).toBeGreaterThan(1e-2);
    tf.dispose([cos, sin, x, y, nx, ny]);
  });

  it('q·k after RoPE depends only on the relative offset', () => {
    const q = tf.randomNormal([1, 1, 1, 16]);
    const k = tf.randomNormal([1, 1, 1, 16]);
    const score = (pq: number[], pk: number[]) =>
      tf.tidy(() => {
        const a = ropeTables(new Int32Array(pq), 16, cfg);
        const b = ropeTables(new Int32Array(pk), 16, cfg);
        return tf.sum(tf.mul(applyRope(q as tf.Tensor4D, a.cos, a.sin), applyRope(k as tf.Tensor4D, b.cos, b.sin))).dataSync()[0];
      });
    const s1 = score([1, 2, 3], [4, 0, 5]);
    const s2 = score([11, 7, 4], [14, 5, 6]); // same offset (3, −2, 2)
    const s3 = score([1, 2, 3], [4, 1, 5]); // different offset
    expect(Math.abs(s1 - s2)).toBeLessThan(1e-4);
    expect(Math.abs(s1 - s3)).toBeGreaterThan(1e-3);
    tf.dispose([q, k]);
  });

  it('scale multiplies positions (interpolation) and a wrong split is an error', () => {
    const a = ropeTables(new Int32Array([2, 4, 6]), 16, { ...cfg, scale: [0.5, 0.5, 0.5] });
    const b = ropeTables(new Int32Array([1, 2, 3]), 16, cfg);
    expect(maxAbs(a.cos, b.cos)).toBeLessThan(1e-6);
    expect(maxAbs(a.sin, b.sin)).toBeLessThan(1e-6);
    expect(() => ropeTables(new Int32Array(3), 18, cfg)).toThrow(/must sum to head dim \/ 2 = 9/);
    tf.dispose([a.cos, a.sin, b.cos, b.sin]);
  });
});

describe('hand-written gradients match autodiff (cpu, 1e-4)', () => {
  it('matmul2d and linear', () => {
    const a = tf.randomNormal([5, 7]) as tf.Tensor2D;
    const w = tf.randomNormal([7, 3]) as tf.Tensor2D;
    const bias = tf.randomNormal([3]);
    const dy = tf.randomNormal([5, 3]);
    const mine = tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.mul(linear(x as tf.Tensor2D, y, z), dy))([a, w, bias]);
    const ref = tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.mul(tf.add(tf.matMul(x, y), z), dy))([a, w, bias]);
    mine.forEach((g, i) => expect(maxAbs(g, ref[i])).toBeLessThan(1e-4));
    const mm = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.mul(matmul2d(x as tf.Tensor2D, y as tf.Tensor2D), dy))([a, w]);
    mm.forEach((g, i) => expect(maxAbs(g, ref[i])).toBeLessThan(1e-4));
    // a rank-3 input goes through the same product
    const x3 = tf.randomNormal([2, 4, 7]);
    expect(maxAbs(linear(x3, w, bias), tf.reshape(tf.add(tf.matMul(tf.reshape(x3, [8, 7]), w), bias), [2, 4, 3]))).toBeLessThan(1e-5);
    tf.dispose([a, w, bias, dy, x3, ...mine, ...ref, ...mm]);
  });

  it('scaleLastAxis and geluTanh', () => {
    const x = tf.randomNormal([2, 3, 4, 6]);
    const g = tf.randomNormal([6]) as tf.Tensor1D;
    const dy = tf.randomNormal([2, 3, 4, 6]);
    const mine = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(scaleLastAxis(a, b as tf.Tensor1D), dy))([x, g]);
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(tf.mul(a, b), dy))([x, g]);
    mine.forEach((t, i) => expect(maxAbs(t, ref[i])).toBeLessThan(1e-4));
    const c = Math.sqrt(2 / Math.PI);
    const gelRef = tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c))));
    expect(maxAbs(geluTanh(x), gelRef)).toBeLessThan(1e-5);
    tf.dispose([x, g, dy, gelRef, ...mine, ...ref]);
  });

  it.each([
    ['self-attention with a block-diagonal mask', 5, 5, true],
    ['cross-attention with padded keys', 5, 3, true],
    ['unmasked', 4, 4, false],
  ] as const)('looped attention = batched attention: %s', (_, nq, nk, masked) => {
    const [b, h, dh] = [2, 3, 4];
    const q = tf.randomNormal([b, h, nq, dh]) as tf.Tensor4D;
    const k = tf.randomNormal([b, h, nk, dh]) as tf.Tensor4D;
    const v = tf.randomNormal([b, h, nk, dh]) as tf.Tensor4D;
    const dy = tf.randomNormal([b, h, nq, dh]);
    const biasVals = new Float32Array(b * nq * nk).map((_, i) => ((i * 7) % 5 === 0 && i % nk !== 0 ? MASKED : 0));
    const bias = masked ? (tf.tensor4d(biasVals, [b, 1, nq, nk])) : null;
    const f = (impl: 'looped' | 'batched') => (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.mul(attend(a as tf.Tensor4D, c as tf.Tensor4D, d as tf.Tensor4D, bias, impl), dy);
    const yl = attend(q, k, v, bias, 'looped');
    const yb = attend(q, k, v, bias, 'batched');
    expect(maxAbs(yl, yb)).toBeLessThan(1e-5);
    const gl = tf.grads(f('looped'))([q, k, v]);
    const gb = tf.grads(f('batched'))([q, k, v]);
    gl.forEach((g, i) => expect(maxAbs(g, gb[i])).toBeLessThan(1e-4));
    tf.dispose([q, k, v, dy, yl, yb, ...gl, ...gb]);
    bias?.dispose();
  });

  it('RoPE gradient (half swap as a product) matches a slice-and-concat reference', () => {
    const cfg = { split: [1, 1, 2] as [number, number, number], theta: 50, scale: [1, 1, 1] as [number, number, number] };
    const { cos, sin } = ropeTables(new Int32Array([0, 1, 2, 3, 4, 5]), 8, cfg);
    const x = tf.randomNormal([1, 2, 2, 8]);
    const dy = tf.randomNormal([1, 2, 2, 8]);
    const ref = (a: tf.Tensor) => {
      const [x1, x2] = tf.split(a, 2, -1);
      const sw = tf.concat([x2, x1], -1);
      return tf.add(tf.mul(a, tf.reshape(cos, [1, 2, 1, 8])), tf.mul(sw, tf.reshape(sin, [1, 2, 1, 8])));
    };
    expect(maxAbs(applyRope(x as tf.Tensor4D, cos, sin), ref(x))).toBeLessThan(1e-6);
    const g1 = tf.grad((a: tf.Tensor) => tf.mul(applyRope(a as tf.Tensor4D, cos, sin), dy))(x);
    const g2 = tf.grad((a: tf.Tensor) => tf.mul(ref(a), dy))(x);
    expect(maxAbs(g1, g2)).toBeLessThan(1e-5);
    tf.dispose([cos, sin, x, dy, g1, g2]);
  });
});

describe('pooled text vector', () => {
  // float64 reference: mean over masked tokens and/or the first token × its mask, each times its
  // own (E, D) weight plus bias; 1e-5 absolute in float32.
  it.each(['mean', 'first', 'mean+first'] as const)('%s matches a float64 formula, masks included', (mode) => {
    const [m, l, e, d] = [3, 4, 5, 2];
    const emb = Array.from({ length: m * l * e }, (_, i) => Math.sin(i * 0.37) * 2);
    const mask = [1, 1, 1, 0, /**/ 1, 1, 0, 0, /**/ 0, 0, 0, 0]; // the last row: a fully masked caption
    const wPool = Array.from({ length: e * d }, (_, i) => Math.cos(i * 0.7));
    const wFirst = Array.from({ length: e * d }, (_, i) => Math.sin(i * 1.3 + 1));
    const bPool = [0.1, -0.2];
    const bFirst = [0.3, 0.05];
    const p = new Map<string, tf.Variable>([
      ['text_pool.weight', tf.variable(tf.tensor2d(wPool, [e, d]))],
      ['text_pool.bias', tf.variable(tf.tensor1d(bPool))],
      ['text_first.weight', tf.variable(tf.tensor2d(wFirst, [e, d]))],
      ['text_first.bias', tf.variable(tf.tensor1d(bFirst))],
    ]);
    const embT = tf.tensor3d(emb, [m, l, e]);
    const maskT = tf.tensor2d(mask, [m, l]);
    const got = pooledTextEmbed(p, { emb: embT, mask: maskT }, mode);
    const g = got.arraySync();
    for (let r = 0; r < m; r++) {
      const mean = new Array(e).fill(0);
      let cnt = 0;
      for (let j = 0; j < l; j++) if (mask[r * l + j]) { cnt++; for (let k = 0; k < e; k++) mean[k] += emb[(r * l + j) * e + k]; }
      for (let k = 0; k < e; k++) mean[k] /= Math.max(cnt, 1);
      const first = Array.from({ length: e }, (_, k) => emb[r * l * e + k] * mask[r * l]);
      for (let o = 0; o < d; o++) {
        let want = 0;
        if (mode !== 'first') { want += bPool[o]; for (let k = 0; k < e; k++) want += mean[k] * wPool[k * d + o]; }
        if (mode !== 'mean') { want += bFirst[o]; for (let k = 0; k < e; k++) want += first[k] * wFirst[k * d + o]; }
        expect(Math.abs(g[r][o] - want)).toBeLessThan(1e-5);
      }
    }
    // The mean ignores token order; the first token does not (swap tokens 0 and 1 of row 0).
    const swapped = emb.slice();
    for (let k = 0; k < e; k++) [swapped[k], swapped[e + k]] = [emb[e + k], emb[k]];
    const embS = tf.tensor3d(swapped, [m, l, e]);
    const got2 = pooledTextEmbed(p, { emb: embS, mask: maskT }, mode);
    const moved = Math.abs(got2.arraySync()[0][0] - g[0][0]);
    if (mode === 'mean') expect(moved).toBeLessThan(1e-5);
    else expect(moved).toBeGreaterThan(1e-2);
    tf.dispose([embT, maskT, got, embS, got2, ...p.values()]);
  });
});
