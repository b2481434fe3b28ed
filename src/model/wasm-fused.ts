// Fused elementwise kernels for the wasm backend, registered as tfjs kernels of their own. The
// tanh-GELU of norm.ts costs ~16 tfjs-wasm ops per use (7 forward, 9 backward), each a full pass
// over the MLP's widest tensor: 11.4 ms forward + backward on (512, 1024), ~7 % of a DiT-bench
// step. Two SIMD128 passes replace 13 of them (the sigmoid and the product stay tfjs ops):
//   SpacetimeGeluArg:  z = 2u = c2·(x + a·x³) = x·(c2 + c2·a·x²),  c2 = 2√(2/π), a = 0.044715
//   SpacetimeGeluGrad: dx = dy·(s + s·(1 − s)·x·(c2 + 3·c2·a·x²)),  s = sigmoid(2u)
// (the formulas of norm.ts's geluTanh, Hendrycks & Gimpel 2016). LayerNorm without affine (15
// ops forward and backward per use, 19 uses per DiT-bench step) becomes one row-wise pass each way:
//   SpacetimeLayerNorm:     μ, then σ² = mean((x − μ)²) (two passes over the row, as norm.ts),
//                           r = 1/√(σ² + ε), x̂ = (x − μ)·r  → [x̂, r]
//   SpacetimeLayerNormGrad: dx = r·(dy − mean(dy) − x̂·mean(dy ⊙ x̂))
// RMSNorm with gain (the per-head QK-norm) likewise:
//   SpacetimeRmsNorm:     r = 1/√(mean(x²) + ε), y = x·r·g  → [y, r]
//   SpacetimeRmsNormGrad: x̂ = x·r, e = dy ⊙ g, dx = r·(e − x̂·mean(e ⊙ x̂)), dg = Σ_rows dy ⊙ x̂
// Written by wasm-asm.ts, run on the backend's memory; GELU's last n mod 4 elements are computed in
// JavaScript, the norms need rows of a multiple of 4. Other backends (and other rows) keep the
// composite ops (fusedGelu() / fusedLayerNorm(d) say which runs).
import * as tf from '@tensorflow/tfjs-core';
import { F32, I32, V128, countDown, instantiate, op, whileBelow, type Code, type WasmFunc } from './wasm-asm.js';
import { heapOffset, wasmBackendMemory, type WasmBackendLike } from './wasm-memory.js';

export const GELU_A = 0.044715;
export const GELU_C2 = 2 * Math.sqrt(2 / Math.PI);
const ARG = 'SpacetimeGeluArg';
const GRAD = 'SpacetimeGeluGrad';
const LN = 'SpacetimeLayerNorm';
const LN_GRAD = 'SpacetimeLayerNormGrad';
const RMS = 'SpacetimeRmsNorm';
const RMS_GRAD = 'SpacetimeRmsNormGrad';

/** Σ of the four lanes of a v128 local, as an f32 on the stack. */
const hsum = (v: number): Code[] => [op.get(v), op.f32x4Lane(0), op.get(v), op.f32x4Lane(1), op.f32Add, op.get(v), op.f32x4Lane(2), op.f32Add, op.get(v), op.f32x4Lane(3), op.f32Add];

/** A loop over one row: q (a byte offset in the row) from 0 to `bytes` by 16, running `body`. */
const rowLoop = (q: number, bytes: number, body: Code[]): Code[] => [op.i32(0), op.set(q), ...whileBelow(q, bytes, 16, body)];

/** The vector at base + q. */
const at = (base: number, q: number): Code[] => [op.get(base), op.get(q), op.i32Add];

/** LayerNorm forward over `rows` rows of `bytes` bytes: x̂ into xh, r (one f32 per row) into r. */
function lnFunc(): WasmFunc {
  const [x, xh, r, rows, bytes, invD, eps] = [0, 1, 2, 3, 4, 5, 6];
  const [q, mu, rr] = [7, 8, 9]; // i32, f32, f32
  const [acc, t, vmu, vr] = [10, 11, 12, 13];
  const body: Code[] = [
    ...countDown(rows, [
      // μ
      op.v128Zero, op.set(acc),
      ...rowLoop(q, bytes, [op.get(acc), ...at(x, q), op.v128Load(0), op.f32x4Add, op.set(acc)]),
      ...hsum(acc), op.get(invD), op.f32Mul, op.set(mu),
      op.get(mu), op.f32x4Splat, op.set(vmu),
      // σ² and r
      op.v128Zero, op.set(acc),
      ...rowLoop(q, bytes, [...at(x, q), op.v128Load(0), op.get(vmu), op.f32x4Sub, op.set(t), op.get(acc), op.get(t), op.get(t), op.f32x4Mul, op.f32x4Add, op.set(acc)]),
      op.f32Const1, ...hsum(acc), op.get(invD), op.f32Mul, op.get(eps), op.f32Add, op.f32Sqrt, op.f32Div, op.set(rr),
      op.get(r), op.get(rr), op.f32Store(0),
      op.get(rr), op.f32x4Splat, op.set(vr),
      // x̂
      ...rowLoop(q, bytes, [...at(xh, q), ...at(x, q), op.v128Load(0), op.get(vmu), op.f32x4Sub, op.get(vr), op.f32x4Mul, op.v128Store(0)]),
      op.get(x), op.get(bytes), op.i32Add, op.set(x),
      op.get(xh), op.get(bytes), op.i32Add, op.set(xh),
      op.get(r), op.i32(4), op.i32Add, op.set(r),
    ]),
  ];
  return { name: 'ln', params: [I32, I32, I32, I32, I32, F32, F32], locals: [I32, F32, F32, V128, V128, V128, V128], body };
}

/** LayerNorm backward: dx = r·(dy − mean(dy) − x̂·mean(dy ⊙ x̂)) row by row. */
function lnGradFunc(): WasmFunc {
  const [dy, xh, r, dx, rows, bytes, invD] = [0, 1, 2, 3, 4, 5, 6];
  const q = 7;
  const [a1, a2, t, vm1, vm2, vr] = [8, 9, 10, 11, 12, 13];
  const body: Code[] = [
    ...countDown(rows, [
      op.v128Zero, op.set(a1),
      op.v128Zero, op.set(a2),
      ...rowLoop(q, bytes, [...at(dy, q), op.v128Load(0), op.set(t), op.get(a1), op.get(t), op.f32x4Add, op.set(a1), op.get(a2), op.get(t), ...at(xh, q), op.v128Load(0), op.f32x4Mul, op.f32x4Add, op.set(a2)]),
      ...hsum(a1), op.get(invD), op.f32Mul, op.f32x4Splat, op.set(vm1),
      ...hsum(a2), op.get(invD), op.f32Mul, op.f32x4Splat, op.set(vm2),
      op.get(r), op.f32Load(0), op.f32x4Splat, op.set(vr),
      ...rowLoop(q, bytes, [...at(dx, q), ...at(dy, q), op.v128Load(0), op.get(vm1), op.f32x4Sub, ...at(xh, q), op.v128Load(0), op.get(vm2), op.f32x4Mul, op.f32x4Sub, op.get(vr), op.f32x4Mul, op.v128Store(0)]),
      op.get(dy), op.get(bytes), op.i32Add, op.set(dy),
      op.get(xh), op.get(bytes), op.i32Add, op.set(xh),
      op.get(dx), op.get(bytes), op.i32Add, op.set(dx),
      op.get(r), op.i32(4), op.i32Add, op.set(r),
    ]),
  ];
  return { name: 'lnGrad', params: [I32, I32, I32, I32, I32, I32, F32], locals: [I32, V128, V128, V128, V128, V128, V128], body };
}

/** RMSNorm forward: y = x·r·g with r = 1/√(mean(x²) + ε) per row (one f32 per row into r). */
function rmsFunc(): WasmFunc {
  const [x, g, y, r, rows, bytes, invD, eps] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [q, rr] = [8, 9]; // i32, f32
  const [acc, t, vr] = [10, 11, 12];
  const body: Code[] = [
    ...countDown(rows, [
      op.v128Zero, op.set(acc),
      ...rowLoop(q, bytes, [...at(x, q), op.v128Load(0), op.set(t), op.get(acc), op.get(t), op.get(t), op.f32x4Mul, op.f32x4Add, op.set(acc)]),
      op.f32Const1, ...hsum(acc), op.get(invD), op.f32Mul, op.get(eps), op.f32Add, op.f32Sqrt, op.f32Div, op.set(rr),
      op.get(r), op.get(rr), op.f32Store(0),
      op.get(rr), op.f32x4Splat, op.set(vr),
      ...rowLoop(q, bytes, [...at(y, q), ...at(x, q), op.v128Load(0), op.get(vr), op.f32x4Mul, ...at(g, q), op.v128Load(0), op.f32x4Mul, op.v128Store(0)]),
      op.get(x), op.get(bytes), op.i32Add, op.set(x),
      op.get(y), op.get(bytes), op.i32Add, op.set(y),
      op.get(r), op.i32(4), op.i32Add, op.set(r),
    ]),
  ];
  return { name: 'rms', params: [I32, I32, I32, I32, I32, I32, F32, F32], locals: [I32, F32, V128, V128, V128], body };
}

/** RMSNorm backward: dx per row, and dg (zeroed here) summed over the rows. */
function rmsGradFunc(): WasmFunc {
  const [dy, x, r, g, dx, dg, rows, bytes, invD] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const q = 9;
  const [acc, vr, xh, e, vm] = [10, 11, 12, 13, 14];
  // x̂ and e for the vector at q
  const load = [...at(x, q), op.v128Load(0), op.get(vr), op.f32x4Mul, op.set(xh), ...at(dy, q), op.v128Load(0), ...at(g, q), op.v128Load(0), op.f32x4Mul, op.set(e)];
  const body: Code[] = [
    ...rowLoop(q, bytes, [...at(dg, q), op.v128Zero, op.v128Store(0)]),
    ...countDown(rows, [
      op.get(r), op.f32Load(0), op.f32x4Splat, op.set(vr),
      op.v128Zero, op.set(acc),
      ...rowLoop(q, bytes, [...load, op.get(acc), op.get(e), op.get(xh), op.f32x4Mul, op.f32x4Add, op.set(acc)]),
      ...hsum(acc), op.get(invD), op.f32Mul, op.f32x4Splat, op.set(vm),
      ...rowLoop(q, bytes, [
        ...load,
        ...at(dx, q), op.get(e), op.get(xh), op.get(vm), op.f32x4Mul, op.f32x4Sub, op.get(vr), op.f32x4Mul, op.v128Store(0),
        ...at(dg, q), ...at(dg, q), op.v128Load(0), ...at(dy, q), op.v128Load(0), op.get(xh), op.f32x4Mul, op.f32x4Add, op.v128Store(0),
      ]),
      op.get(dy), op.get(bytes), op.i32Add, op.set(dy),
      op.get(x), op.get(bytes), op.i32Add, op.set(x),
      op.get(dx), op.get(bytes), op.i32Add, op.set(dx),
      op.get(r), op.i32(4), op.i32Add, op.set(r),
    ]),
  ];
  return { name: 'rmsGrad', params: [I32, I32, I32, I32, I32, I32, I32, I32, F32], locals: [I32, V128, V128, V128, V128, V128], body };
}

/** out = x·(c2 + ca·x²) over n4 vectors. */
function argFunc(): WasmFunc {
  const [x, out, n4, c2, ca] = [0, 1, 2, 3, 4];
  const [vc2, vca, t] = [5, 6, 7];
  const body: Code[] = [
    op.get(c2), op.f32x4Splat, op.set(vc2),
    op.get(ca), op.f32x4Splat, op.set(vca),
    ...countDown(n4, [
      op.get(x), op.v128Load(0), op.set(t),
      op.get(out), op.get(t), op.get(vc2), op.get(vca), op.get(t), op.f32x4Mul, op.get(t), op.f32x4Mul, op.f32x4Add, op.f32x4Mul, op.v128Store(0),
      op.get(x), op.i32(16), op.i32Add, op.set(x),
      op.get(out), op.i32(16), op.i32Add, op.set(out),
    ]),
  ];
  return { name: 'geluArg', params: [I32, I32, I32, F32, F32], locals: [V128, V128, V128], body };
}

/** out = dy·(s + (s − s²)·x·(c2 + ca3·x²)) over n4 vectors. */
function gradFunc(): WasmFunc {
  const [dy, x, s, out, n4, c2, ca3] = [0, 1, 2, 3, 4, 5, 6];
  const [vc2, vca3, tx, ts] = [7, 8, 9, 10];
  const body: Code[] = [
    op.get(c2), op.f32x4Splat, op.set(vc2),
    op.get(ca3), op.f32x4Splat, op.set(vca3),
    ...countDown(n4, [
      op.get(x), op.v128Load(0), op.set(tx),
      op.get(s), op.v128Load(0), op.set(ts),
      op.get(out),
      op.get(dy), op.v128Load(0),
      op.get(ts),
      op.get(ts), op.get(ts), op.get(ts), op.f32x4Mul, op.f32x4Sub, // s − s²
      op.get(tx), op.f32x4Mul,
      op.get(vc2), op.get(vca3), op.get(tx), op.f32x4Mul, op.get(tx), op.f32x4Mul, op.f32x4Add, // c2 + ca3·x²
      op.f32x4Mul, op.f32x4Add, op.f32x4Mul,
      op.v128Store(0),
      op.get(dy), op.i32(16), op.i32Add, op.set(dy),
      op.get(x), op.i32(16), op.i32Add, op.set(x),
      op.get(s), op.i32(16), op.i32Add, op.set(s),
      op.get(out), op.i32(16), op.i32Add, op.set(out),
    ]),
  ];
  return { name: 'geluGrad', params: [I32, I32, I32, I32, I32, F32, F32], locals: [V128, V128, V128, V128], body };
}

interface Exports {
  geluArg(x: number, out: number, n4: number, c2: number, ca: number): void;
  geluGrad(dy: number, x: number, s: number, out: number, n4: number, c2: number, ca3: number): void;
  ln(x: number, xh: number, r: number, rows: number, bytes: number, invD: number, eps: number): void;
  lnGrad(dy: number, xh: number, r: number, dx: number, rows: number, bytes: number, invD: number): void;
  rms(x: number, g: number, y: number, r: number, rows: number, bytes: number, invD: number, eps: number): void;
  rmsGrad(dy: number, x: number, r: number, g: number, dx: number, dg: number, rows: number, bytes: number, invD: number): void;
}

let installedOn: object | null = null;
let k: Exports | null = null;

const f32 = Math.fround;
const count = (t: tf.TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

function argKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = args.backend as WasmBackendLike;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const out = be.makeOutput([...x.shape], 'float32');
  const n = count(x);
  const n4 = n >>> 2;
  const [px, po] = [heapOffset(be, x), heapOffset(be, out)];
  (k as Exports).geluArg(px, po, n4, GELU_C2, GELU_C2 * GELU_A);
  const h = be.wasm.HEAPF32;
  for (let i = 4 * n4; i < n; i++) {
    const v = h[(px >>> 2) + i];
    h[(po >>> 2) + i] = f32(v * (GELU_C2 + GELU_C2 * GELU_A * v * v));
  }
  return out;
}

function gradKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = args.backend as WasmBackendLike;
  const { dy, x, s } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; s: tf.TensorInfo };
  const out = be.makeOutput([...x.shape], 'float32');
  const n = count(x);
  const n4 = n >>> 2;
  const [pd, px, ps, po] = [heapOffset(be, dy), heapOffset(be, x), heapOffset(be, s), heapOffset(be, out)];
  (k as Exports).geluGrad(pd, px, ps, po, n4, GELU_C2, 3 * GELU_C2 * GELU_A);
  const h = be.wasm.HEAPF32;
  for (let i = 4 * n4; i < n; i++) {
    const [g, v, sv] = [h[(pd >>> 2) + i], h[(px >>> 2) + i], h[(ps >>> 2) + i]];
    h[(po >>> 2) + i] = f32(g * (sv + (sv - sv * sv) * v * (GELU_C2 + 3 * GELU_C2 * GELU_A * v * v)));
  }
  return out;
}

function lnKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const be = args.backend as WasmBackendLike;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const eps = (args.attrs as { eps: number }).eps;
  const d = x.shape[x.shape.length - 1];
  const xh = be.makeOutput([...x.shape], 'float32');
  const r = be.makeOutput([...x.shape.slice(0, -1), 1], 'float32');
  (k as Exports).ln(heapOffset(be, x), heapOffset(be, xh), heapOffset(be, r), count(x) / d, 4 * d, 1 / d, eps);
  return [xh, r];
}

function lnGradKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = args.backend as WasmBackendLike;
  const { dy, xh, r } = args.inputs as { dy: tf.TensorInfo; xh: tf.TensorInfo; r: tf.TensorInfo };
  const d = xh.shape[xh.shape.length - 1];
  const dx = be.makeOutput([...xh.shape], 'float32');
  (k as Exports).lnGrad(heapOffset(be, dy), heapOffset(be, xh), heapOffset(be, r), heapOffset(be, dx), count(xh) / d, 4 * d, 1 / d);
  return dx;
}

function rmsKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const be = args.backend as WasmBackendLike;
  const { x, g } = args.inputs as { x: tf.TensorInfo; g: tf.TensorInfo };
  const eps = (args.attrs as { eps: number }).eps;
  const d = x.shape[x.shape.length - 1];
  const y = be.makeOutput([...x.shape], 'float32');
  const r = be.makeOutput([...x.shape.slice(0, -1), 1], 'float32');
  (k as Exports).rms(heapOffset(be, x), heapOffset(be, g), heapOffset(be, y), heapOffset(be, r), count(x) / d, 4 * d, 1 / d, eps);
  return [y, r];
}

function rmsGradKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo[] {
  const be = args.backend as WasmBackendLike;
  const { dy, x, r, g } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; r: tf.TensorInfo; g: tf.TensorInfo };
  const d = x.shape[x.shape.length - 1];
  const dx = be.makeOutput([...x.shape], 'float32');
  const dg = be.makeOutput([d], 'float32');
  (k as Exports).rmsGrad(heapOffset(be, dy), heapOffset(be, x), heapOffset(be, r), heapOffset(be, g), heapOffset(be, dx), heapOffset(be, dg), count(x) / d, 4 * d, 1 / d);
  return [dx, dg];
}

/** Compile the kernels on the active wasm backend's memory and register them. Idempotent. */
export function installWasmFused(): boolean {
  const heap = wasmBackendMemory();
  if (heap === null) return false;
  if (installedOn === heap.be) return true;
  k = instantiate<Exports>([argFunc(), gradFunc(), lnFunc(), lnGradFunc(), rmsFunc(), rmsGradFunc()], heap.memory);
  for (const [kernelName, kernelFunc] of [
    [ARG, argKernel],
    [GRAD, gradKernel],
    [LN, lnKernel],
    [LN_GRAD, lnGradKernel],
    [RMS, rmsKernel],
    [RMS_GRAD, rmsGradKernel],
  ] as const) {
    if (tf.getKernel(kernelName, 'wasm') === undefined) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  installedOn = heap.be;
  return true;
}

/** Whether geluArg/geluGrad run as fused kernels on the active backend. */
export function fusedGelu(): boolean {
  return installedOn !== null && tf.getBackend() === 'wasm' && tf.backend() === installedOn;
}

/** 2u = c2·(x + a·x³), one pass (wasm only: check fusedGelu()). */
export function geluArg(x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(ARG, { x }) as tf.Tensor;
}

/** dy·dGELU/dx from x and s = sigmoid(2u), one pass (wasm only: check fusedGelu()). */
export function geluGrad(dy: tf.Tensor, x: tf.Tensor, s: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(GRAD, { dy, x, s }) as tf.Tensor;
}

/** Whether LayerNorm and RMSNorm over rows of d run as fused kernels on the active backend. */
export function fusedNorm(d: number): boolean {
  return d % 4 === 0 && fusedGelu();
}

/** [x̂, r] of LayerNorm over the last axis, r with a trailing axis of 1 (check fusedNorm). */
export function layerNormFused(x: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(LN, { x }, { eps }) as unknown as [tf.Tensor, tf.Tensor];
}

/** LayerNorm's input gradient from dy, x̂ and r (check fusedNorm). */
export function layerNormGradFused(dy: tf.Tensor, xh: tf.Tensor, r: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(LN_GRAD, { dy, xh, r }) as tf.Tensor;
}

/** [y, r] of RMSNorm with gain g over the last axis (check fusedNorm). */
export function rmsNormFused(x: tf.Tensor, g: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(RMS, { x, g }, { eps }) as unknown as [tf.Tensor, tf.Tensor];
}

/** [dx, dg] of RMSNorm from dy, x, r and g (check fusedNorm). */
export function rmsNormGradFused(dy: tf.Tensor, x: tf.Tensor, r: tf.Tensor, g: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(RMS_GRAD, { dy, x, r, g }) as unknown as [tf.Tensor, tf.Tensor];
}
