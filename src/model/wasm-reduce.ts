// Column sums for the wasm backend: tf.sum over every axis but the last, the reduction autodiff
// uses for a bias or per-channel gain broadcast over (N, T, H, W). tfjs-wasm transposes the
// tensor so the reduced axes come last and then sums rows; on (2, 9, 64, 64, 16) that takes
// ≈ 140 ms, and these sums were 62 % of a VAE training step (4.5 of 7.2 s). Here the rows are
// added four columns per v128 in blocks of 256 rows, and the block sums added up (blocked
// summation: float32 error grows with 256 + rows/256 terms, not with all rows; Higham, "The
// accuracy of floating point summation", 1993). Other reductions, columns not a multiple of 4 and
// other dtypes go to tfjs-wasm's kernel. installWasmReduce() replaces the Sum kernel.
import * as tf from '@tensorflow/tfjs-core';
import { I32, V128, countDown, instantiate, op, whileBelow, type Code, type WasmFunc } from './wasm-asm.js';
import { heapOffset, overrideWasmKernel, wasmBackendMemory, type KernelArgs, type WasmBackendLike } from './wasm-memory.js';

const BLOCK = 256; // rows per block sum

/** dst = Σ over `rows` rows of `bytes` bytes at x (dst zeroed first). */
function sumRowsFunc(): WasmFunc {
  const [x, dst, rows, bytes] = [0, 1, 2, 3];
  const q = 4;
  const at = (base: number): Code[] => [op.get(base), op.get(q), op.i32Add];
  const body: Code[] = [
    op.i32(0), op.set(q),
    ...whileBelow(q, bytes, 16, [...at(dst), op.v128Zero, op.v128Store(0)]),
    ...countDown(rows, [
      op.i32(0), op.set(q),
      ...whileBelow(q, bytes, 16, [...at(dst), ...at(dst), op.v128Load(0), ...at(x), op.v128Load(0), op.f32x4Add, op.v128Store(0)]),
      op.get(x), op.get(bytes), op.i32Add, op.set(x),
    ]),
  ];
  return { name: 'sumRows', params: [I32, I32, I32, I32], locals: [I32], body };
}

/** dst += src over `bytes` bytes. */
function accumulateFunc(): WasmFunc {
  const [dst, src, bytes] = [0, 1, 2];
  const q = 3;
  const body: Code[] = [
    ...whileBelow(q, bytes, 16, [op.get(dst), op.get(q), op.i32Add, op.get(dst), op.get(q), op.i32Add, op.v128Load(0), op.get(src), op.get(q), op.i32Add, op.v128Load(0), op.f32x4Add, op.v128Store(0)]),
  ];
  return { name: 'accumulate', params: [I32, I32, I32], locals: [I32], body };
}

interface Exports {
  sumRows(x: number, dst: number, rows: number, bytes: number): void;
  accumulate(dst: number, src: number, bytes: number): void;
}
let installedOn: object | null = null;
let k: Exports | null = null;

function sum(args: KernelArgs, original: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo | tf.TensorInfo[] {
  const be = args.backend as WasmBackendLike;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = (args.attrs ?? {}) as { axis: number | number[]; keepDims: boolean };
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const c = x.shape[r - 1];
  const columns = r >= 2 && axes.length === r - 1 && axes.every((a, i) => a === i);
  if (be !== installedOn || k === null || x.dtype !== 'float32' || !columns || c % 4 !== 0 || c === 0) return original(args);
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const out = be.makeOutput(keepDims ? [...new Array(r - 1).fill(1), c] : [c], 'float32');
  const [px, po] = [heapOffset(be, x), heapOffset(be, out)];
  const bytes = 4 * c;
  k.sumRows(px, po, Math.min(rows, BLOCK), bytes);
  if (rows > BLOCK) {
    const tmp = be.makeOutput([c], 'float32');
    const pt = heapOffset(be, tmp);
    for (let start = BLOCK; start < rows; start += BLOCK) {
      k.sumRows(px + start * bytes, pt, Math.min(BLOCK, rows - start), bytes);
      k.accumulate(po, pt, bytes);
    }
    be.disposeData(tmp.dataId);
  }
  return out;
}

/** Route the active wasm backend's Sum through the column-sum kernel (see above). Idempotent. */
export function installWasmReduce(): boolean {
  const heap = wasmBackendMemory();
  if (heap === null) return false;
  if (installedOn === heap.be) return true;
  k = instantiate<Exports>([sumRowsFunc(), accumulateFunc()], heap.memory);
  if (!overrideWasmKernel(tf.Sum, (original) => (args) => sum(args, original))) return false;
  installedOn = heap.be;
  return true;
}
