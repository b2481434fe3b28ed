// The fused kernels of the wasm backend (src/model/wasm-fused.ts) through norm.ts:
// - geluTanh: value and gradient against the float64 closed form, on a size that is not a
//   multiple of 4 (the JavaScript tail) and one that is; tolerance 1e-5 absolute for |x| ≤ 4
//   (float32 and tfjs-wasm's sigmoid approximation);
// - layerNorm and rmsNorm (with its gain): value and gradients against float64 formulas on rows
//   of 64 and 8 (fused) and 6 (the composite ops); tolerance 1e-5 absolute on O(1) values, 1e-4 on
//   the gain's gradient (a sum over 15 rows).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { geluTanh, layerNorm, rmsNorm } from '../../src/model/norm.js';
import { fusedGelu, fusedNorm, GELU_A } from '../../src/model/wasm-fused.js';

beforeAll(async () => {
  await selectBackend('wasm', { quiet: true });
  await ensureGradients();
});

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + GELU_A * x ** 3)));
const dgelu = (x: number) => {
  const u = Math.sqrt(2 / Math.PI) * (x + GELU_A * x ** 3);
  const du = Math.sqrt(2 / Math.PI) * (1 + 3 * GELU_A * x * x);
  return 0.5 * (1 + Math.tanh(u)) + 0.5 * x * (1 - Math.tanh(u) ** 2) * du;
};

describe('fused GELU on wasm', () => {
  it('runs fused, and matches the closed form in value and gradient', () => {
    expect(fusedGelu()).toBe(true);
    for (const n of [1003, 64]) {
      const xs = Array.from({ length: n }, (_, i) => -4 + (8 * i) / (n - 1));
      const ws = Array.from({ length: n }, (_, i) => Math.cos(i));
      const x = tf.tensor1d(xs);
      const w = tf.tensor1d(ws);
      const y = geluTanh(x);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(geluTanh(a), w)))(x);
      const [yd, gd] = [y.dataSync(), g.dataSync()];
      let ey = 0;
      let eg = 0;
      xs.forEach((v, i) => {
        ey = Math.max(ey, Math.abs(yd[i] - gelu(v)));
        eg = Math.max(eg, Math.abs(gd[i] - ws[i] * dgelu(v)));
      });
      expect(ey).toBeLessThan(1e-5);
      expect(eg).toBeLessThan(1e-5);
      tf.dispose([x, w, y, g]);
    }
  });

  it('LayerNorm matches float64 in value and gradient, fused and not', () => {
    for (const d of [64, 8, 6]) {
      expect(fusedNorm(d)).toBe(d % 4 === 0);
      const rows = 15;
      const xs = Array.from({ length: rows * d }, (_, i) => 3 * Math.sin(i * 1.7) + (i % d) * 0.1 + 2);
      const ws = Array.from({ length: rows * d }, (_, i) => Math.cos(i * 0.3));
      const x = tf.tensor3d(xs, [3, 5, d]);
      const w = tf.tensor3d(ws, [3, 5, d]);
      const y = layerNorm(x).dataSync();
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(layerNorm(a), w)))(x);
      const gd = g.dataSync();
      let ey = 0;
      let eg = 0;
      for (let r = 0; r < rows; r++) {
        const row = xs.slice(r * d, (r + 1) * d);
        const wr = ws.slice(r * d, (r + 1) * d);
        const mu = row.reduce((a, b) => a + b, 0) / d;
        const rs = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / d + 1e-6);
        const xh = row.map((v) => (v - mu) * rs);
        const m1 = wr.reduce((a, b) => a + b, 0) / d;
        const m2 = wr.reduce((a, b, i) => a + b * xh[i], 0) / d;
        for (let i = 0; i < d; i++) {
          ey = Math.max(ey, Math.abs(y[r * d + i] - xh[i]));
          eg = Math.max(eg, Math.abs(gd[r * d + i] - rs * (wr[i] - m1 - xh[i] * m2)));
        }
      }
      expect(ey, `d ${d}`).toBeLessThan(1e-5);
      expect(eg, `d ${d}`).toBeLessThan(1e-5);
      tf.dispose([x, w, g]);
    }
  });

  it('RMSNorm matches float64 in value and both gradients, fused and not', () => {
    for (const d of [64, 8, 6]) {
      const rows = 15;
      const xs = Array.from({ length: rows * d }, (_, i) => 2 * Math.sin(i * 0.9) + 0.3);
      const gs = Array.from({ length: d }, (_, i) => 1 + 0.1 * i);
      const ws = Array.from({ length: rows * d }, (_, i) => Math.cos(i * 0.7));
      const x = tf.tensor3d(xs, [5, 3, d]);
      const g = tf.tensor1d(gs);
      const w = tf.tensor3d(ws, [5, 3, d]);
      const y = rmsNorm(x, g);
      const [dx, dg] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(rmsNorm(a, b), w)))([x, g]);
      const [yd, dxd, dgd] = [y.dataSync(), dx.dataSync(), dg.dataSync()];
      const wantDg = new Array(d).fill(0);
      let ey = 0;
      let ex = 0;
      for (let r = 0; r < rows; r++) {
        const row = xs.slice(r * d, (r + 1) * d);
        const rs = 1 / Math.sqrt(row.reduce((a, b) => a + b * b, 0) / d + 1e-6);
        const xh = row.map((v) => v * rs);
        const e = xh.map((_, i) => ws[r * d + i] * gs[i]);
        const m = e.reduce((a, b, i) => a + b * xh[i], 0) / d;
        for (let i = 0; i < d; i++) {
          ey = Math.max(ey, Math.abs(yd[r * d + i] - xh[i] * gs[i]));
          ex = Math.max(ex, Math.abs(dxd[r * d + i] - rs * (e[i] - xh[i] * m)));
          wantDg[i] += ws[r * d + i] * xh[i];
        }
      }
      const eg = Math.max(...wantDg.map((v, i) => Math.abs(v - dgd[i])));
      expect(ey, `d ${d}`).toBeLessThan(1e-5);
      expect(ex, `d ${d}`).toBeLessThan(1e-5);
      expect(eg, `d ${d}`).toBeLessThan(1e-4);
      tf.dispose([x, g, w, y, dx, dg]);
    }
  });
});
