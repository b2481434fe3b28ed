// Our wasm matmul kernels (src/model/wasm-gemm.ts) and their module writer (wasm-asm.ts):
// - the kernels on a plain WebAssembly memory against a float64 product, for every remainder of
//   M mod 4 and N mod 8 and both strided layouts; tolerance 1e-6·Σₖ|aᵢₖ·bₖⱼ| + 1e-7 (float32
//   summation of K ≤ 70 terms errs by at most K·2⁻²⁴ of that sum);
// - the same through tf.matMul on the wasm backend, where they replace BatchMatMul: transpose
//   flags, batches, broadcast batches, the cases handed back to tfjs's kernel, gradients, a heap
//   that grows between calls, and no leaked tensors.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { relaxedSimd, sleb, uleb, WA, wasmModule, op, I32 } from '../../src/model/wasm-asm.js';
import { installWasmGemm, uninstallWasmGemm, WasmGemm, wasmGemmActive, type MatRef } from '../../src/model/wasm-gemm.js';
import { linear } from '../../src/model/linear.js';
import { attentionImpl } from '../../src/model/attention.js';
import { simdPeakGflops } from '../../src/model/roofline.js';

/** Deterministic values in [−1, 1). */
function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Max over (i, j) of |c − Σ a·b| / (1e-6·Σ|a·b| + 1e-7); ≤ 1 passes. */
function worstRatio(c: ArrayLike<number>, a: (i: number, k: number) => number, b: (k: number, j: number) => number, M: number, K: number, N: number): number {
  let worst = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      let abs = 0;
      for (let k = 0; k < K; k++) {
        s += a(i, k) * b(k, j);
        abs += Math.abs(a(i, k) * b(k, j));
      }
      worst = Math.max(worst, Math.abs(c[i * N + j] - s) / (1e-6 * abs + 1e-7));
    }
  }
  return worst;
}

describe('wasm-asm', () => {
  it('LEB128 encodings match the spec examples', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
  });

  it('the roofline module compiles and measures a plausible peak', () => {
    const g = simdPeakGflops(20, 1);
    expect(g).toBeGreaterThan(0.5); // SIMD128 chains; the cpus here give 29–48
    expect(g).toBeLessThan(1000);
  });

  it('writes a module that validates and runs', () => {
    // fill(p): copy the 16 bytes at p to p + 16
    const bytes = wasmModule([{ name: 'fill', params: [I32], locals: [], body: [op.get(0), op.get(0), op.v128Load(0), op.v128Store(16)] }]);
    const mem = new WA.Memory({ initial: 1 });
    const { exports } = new WA.Instance(new WA.Module(bytes), { env: { mem } });
    const f = new Float32Array(mem.buffer);
    f.set([1, 2, 3, 4], 0);
    (exports.fill as (p: number) => void)(0);
    expect(Array.from(f.subarray(4, 8))).toEqual([1, 2, 3, 4]);
  });
});

describe('WasmGemm kernels on their own memory (float64 reference)', () => {
  const mem = new WA.Memory({ initial: 64 });
  let top = 1024;
  const heap = {
    memory: mem,
    malloc: (n: number) => {
      const p = top;
      top += (n + 15) & ~15;
      return p;
    },
    free: () => {},
  };
  const f = () => new Float32Array(mem.buffer);
  const gemm = new WasmGemm(heap);

  it('uses relaxed SIMD (Node >= 20.19, our engines range, has it: behind a flag on 20)', () => {
    expect(relaxedSimd()).toBe(true);
    expect(gemm.fma).toBe(true);
  });

  it.each([
    ['relaxed_madd', true],
    ['multiply and add', false],
  ])('every M mod 4 and N mod 8, A and B plain or transposed (%s)', (_, fma) => {
    const gemm = new WasmGemm(heap, fma);
    expect(gemm.fma).toBe(fma);
    const shapes: [number, number, number][] = [];
    for (const M of [1, 2, 3, 4, 5, 6, 7, 9]) for (const N of [1, 3, 7, 8, 9, 13, 16, 21]) shapes.push([M, 17, N]);
    shapes.push([33, 70, 40], [64, 1, 24]);
    for (const [M, K, N] of shapes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const av = values(M * K, M * 31 + K);
          const bv = values(K * N, N * 17 + K);
          const pa = heap.malloc(M * K * 4);
          const pb = heap.malloc(K * N * 4);
          const pc = heap.malloc(M * N * 4);
          f().set(av, pa / 4);
          f().set(bv, pb / 4);
          // stored matrices: A as (M, K) or its transpose (K, M); B as (K, N) or (N, K)
          const A: MatRef = ta ? { ptr: pa, rs: 4, cs: M * 4 } : { ptr: pa, rs: K * 4, cs: 4 };
          const B: MatRef = tb ? { ptr: pb, rs: 4, cs: K * 4 } : { ptr: pb, rs: N * 4, cs: 4 };
          gemm.matmul(A, B, pc, M, K, N);
          const c = f().slice(pc / 4, pc / 4 + M * N);
          const a = (i: number, k: number) => Math.fround(ta ? av[k * M + i] : av[i * K + k]);
          const b = (k: number, j: number) => Math.fround(tb ? bv[j * K + k] : bv[k * N + j]);
          expect(worstRatio(c, a, b, M, K, N), `M ${M} K ${K} N ${N} ta ${ta} tb ${tb}`).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('one packing of B serves several products', () => {
    const [M, K, N] = [6, 9, 12];
    const pb = heap.malloc(K * N * 4);
    const bv = values(K * N, 5);
    f().set(bv, pb / 4);
    const packed = gemm.pack({ ptr: pb, rs: N * 4, cs: 4 }, K, N, M);
    for (const seed of [1, 2]) {
      const av = values(M * K, seed);
      const pa = heap.malloc(M * K * 4);
      const pc = heap.malloc(M * N * 4);
      f().set(av, pa / 4);
      gemm.matmul({ ptr: pa, rs: K * 4, cs: 4 }, packed, pc, M, K, N);
      const c = f().slice(pc / 4, pc / 4 + M * N);
      expect(worstRatio(c, (i, k) => Math.fround(av[i * K + k]), (k, j) => Math.fround(bv[k * N + j]), M, K, N)).toBeLessThanOrEqual(1);
    }
  });
});

describe('tf.matMul on wasm runs our kernels', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { quiet: true });
    await ensureGradients();
  });

  const ref = (a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean) => {
    const [A, B] = [a.dataSync(), b.dataSync()];
    const [r, c] = a.shape.slice(-2);
    const [br, bc] = b.shape.slice(-2);
    const M = ta ? c : r;
    const K = ta ? r : c;
    const N = tb ? br : bc;
    return { M, K, N, a: (i: number, k: number) => (ta ? A[k * M + i] : A[i * K + k]), b: (k: number, j: number) => (tb ? B[j * K + k] : B[k * N + j]) };
  };

  it('is installed, and matches a float64 product for every transpose flag', () => {
    expect(wasmGemmActive()).toBe(true);
    for (const [M, K, N] of [[4, 8, 8], [37, 29, 45], [128, 64, 96]] as const) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = tf.randomNormal(ta ? [K, M] : [M, K], 0, 1, 'float32', M + K);
          const b = tf.randomNormal(tb ? [N, K] : [K, N], 0, 1, 'float32', N + 3);
          const c = tf.matMul(a, b, ta, tb);
          const r = ref(a, b, ta, tb);
          expect(c.shape).toEqual([M, N]);
          expect(worstRatio(c.dataSync(), r.a, r.b, M, K, N)).toBeLessThanOrEqual(1);
          tf.dispose([a, b, c]);
        }
      }
    }
  });

  it('batched, broadcast batches, and the small cases left to tfjs agree with per-matrix products', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[3, 2, 10, 12], [12, 16], false, false], // shared B, packed once
      [[3, 2, 10, 12], [3, 2, 16, 12], false, true],
      [[1, 12, 10], [4, 12, 9], true, false], // shared A
      [[2, 3, 12], [2, 12, 5], false, false], // M < 4 and N < 8: tfjs's kernel
      [[2, 3, 12], [2, 12, 8], false, false], // M < 4: rows of B swept unpacked
      [[1, 40], [40, 12], false, false], // a ones-row-like 1 × K product
      [[12, 1], [40, 12], true, true], // M < 4 with a transposed B: tiles with packing
      [[3, 12], [5, 12], false, true], // … and N < 8 as well: tfjs's kernel
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = tf.randomNormal(sa, 0, 1, 'float32', 11);
      const b = tf.randomNormal(sb, 0, 1, 'float32', 12);
      const c = tf.matMul(a, b, ta, tb);
      const batch = c.shape.slice(0, -2).reduce((p, q) => p * q, 1);
      const [M, N] = c.shape.slice(-2);
      const as = tf.unstack(tf.reshape(a, [-1, ...sa.slice(-2)]));
      const bs = tf.unstack(tf.reshape(b, [-1, ...sb.slice(-2)]));
      const cd = c.dataSync();
      for (let i = 0; i < batch; i++) {
        const ai = as[as.length === 1 ? 0 : i];
        const bi = bs[bs.length === 1 ? 0 : i];
        const r = ref(ai, bi, ta, tb);
        expect(worstRatio(cd.subarray(i * M * N, (i + 1) * M * N), r.a, r.b, M, r.K, N), `${sa} × ${sb} batch ${i}`).toBeLessThanOrEqual(1);
      }
      tf.dispose([a, b, c, ...as, ...bs]);
    }
  });

  it('gradients of a product with transpose flags match the closed form', () => {
    // L = Σ (Aᵀ·Bᵀ) ⊙ G: tfjs differentiates BatchMatMul with more transposed products (our kernels)
    const a = tf.randomNormal([20, 12], 0, 1, 'float32', 21); // Aᵀ is (12, 20)
    const b = tf.randomNormal([16, 20], 0, 1, 'float32', 22); // Bᵀ is (20, 16)
    const g = tf.randomNormal([12, 16], 0, 1, 'float32', 23);
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, true, true), g)))([a, b]);
    // C = Aᵀ·Bᵀ with A (20, 12), B (16, 20): dA = Bᵀ·Gᵀ (20, 12), dB = Gᵀ·Aᵀ (16, 20)
    const [A, B, G] = [a.dataSync(), b.dataSync(), g.dataSync()];
    const dA = da.dataSync();
    const dB = db.dataSync();
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 12; j++) {
        let s = 0;
        for (let k = 0; k < 16; k++) s += B[k * 20 + i] * G[j * 16 + k];
        expect(Math.abs(dA[i * 12 + j] - s)).toBeLessThan(1e-4);
      }
    }
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 20; j++) {
        let s = 0;
        for (let k = 0; k < 12; k++) s += G[k * 16 + i] * A[j * 12 + k];
        expect(Math.abs(dB[i * 20 + j] - s)).toBeLessThan(1e-4);
      }
    }
    tf.dispose([a, b, g, da, db]);
  });

  it('stays correct when the heap grows between products, and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const a = tf.randomNormal([64, 48], 0, 1, 'float32', 31);
    const b = tf.randomNormal([48, 40], 0, 1, 'float32', 32);
    const c1 = tf.matMul(a, b);
    const big = tf.zeros([64 * 1024 * 1024 / 4]); // 64 MiB: the wasm heap grows
    const c2 = tf.matMul(a, b);
    expect(Array.from(c2.dataSync())).toEqual(Array.from(c1.dataSync()));
    tf.dispose([a, b, big, c1, c2]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with tfjs-wasm\'s own kernel back (SPACETIME_GEMM=tfjs), linear layers take the transposed-copy path to the same gradients', () => {
    const x = tf.randomNormal([37, 24], 0, 1, 'float32', 41);
    const w = tf.randomNormal([24, 40], 0, 1, 'float32', 42);
    const b = tf.randomNormal([40], 0, 1, 'float32', 43);
    const g = tf.randomNormal([37, 40], 0, 1, 'float32', 44);
    const grads = () => tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(linear(xi, wi, bi), g)))([x, w, b]);
    const ours = grads();
    expect(attentionImpl()).toBe('batched');
    uninstallWasmGemm();
    try {
      expect(wasmGemmActive()).toBe(false);
      expect(attentionImpl()).toBe('looped');
      const theirs = grads();
      ours.forEach((t, i) => expect(tf.max(tf.abs(tf.sub(t, theirs[i]))).dataSync()[0]).toBeLessThan(1e-4));
      tf.dispose(theirs);
    } finally {
      installWasmGemm();
    }
    expect(wasmGemmActive()).toBe(true);
    tf.dispose([x, w, b, g, ...ours]);
  });
});
