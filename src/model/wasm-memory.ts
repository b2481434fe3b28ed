// Zero-copy and copy-light access to the wasm backend's memory.
// 1. Identity (tensor clone) without a copy. tfjs clones every tensor a gradient
// keeps for the backward pass (engine.saveTensorsForBackwardMode and customGrad's save), and
// tfjs-wasm's Identity kernel copies the data each time: ~880 copies per DiT-bench training step.
// tfjs tensors are immutable (kernels write only their fresh outputs; Variable.assign swaps in
// another data id), so a clone can share the data under a reference count, which is what the
// tfjs cpu backend's Identity does and what tfjs-wasm's own Reshape does.
// 2. Slice as runs of memmove: the sliced tensor is a set of contiguous runs of the source (each
//    as long as the last axis that is cut, times the axes after it), copied with copyWithin.
//    tfjs-wasm's Slice took 273 ms for (2, 10, 16, 16, 64) → (2, 9, 16, 16, 64) in the VAE (two
//    runs here). 4-byte dtypes; others go to tfjs-wasm's kernel.
// 3. readView(t): a float32 tensor's values as a view of the heap instead of dataSync()'s copy,
//    for loops that only read them once (the data-parallel workers' gradient exchange).
// Also what every kernel of ours on wasm shares: the backend's memory and tensor offsets, and
// overrideWasmKernel(), which puts one of our kernels in place of tfjs-wasm's own and keeps the
// original for the cases ours hands back (wasm-gemm.ts, wasm-reduce.ts and 1–2 here).
import * as tf from '@tensorflow/tfjs-core';
import { WA, type WasmMemory } from './wasm-asm.js';

/** What our kernels use of tfjs-wasm's backend object (BackendWasm). */
export interface WasmBackendLike {
  wasm: { HEAPF32: Float32Array; _malloc(n: number): number; _free(p: number): void; asm?: { memory?: unknown } };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): void;
  incRef(dataId: object): void;
}

/** The byte offset in the wasm heap of a tensor's data. */
export function heapOffset(be: WasmBackendLike, t: tf.TensorInfo): number {
  return (be.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
}

/**
 * The active tfjs-wasm backend and its WebAssembly.Memory (our kernels import it), or null on
 * another backend or a tfjs-wasm build that hides its memory.
 */
export function wasmBackendMemory(): { be: WasmBackendLike; memory: WasmMemory } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.backend() as unknown as WasmBackendLike;
  const memory = be.wasm.asm?.memory;
  return memory instanceof WA.Memory ? { be, memory } : null;
}

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

const originals = new Map<string, Kernel>();

/**
 * Replace tfjs-wasm's kernel `name` by `make(original)`, where `original` is tfjs-wasm's own
 * kernel (the one registered before any of ours, so installing again on a new backend instance
 * does not wrap our kernel in itself), for the cases ours hands back. False if tfjs has no such
 * kernel.
 */
export function overrideWasmKernel(name: string, make: (original: Kernel) => Kernel): boolean {
  const current = tf.getKernel(name, 'wasm');
  if (current === undefined) return false;
  if (!originals.has(name)) originals.set(name, current.kernelFunc as unknown as Kernel);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...current, kernelFunc: make(originals.get(name) as Kernel) as unknown as tf.KernelFunc });
  return true;
}

/** Give kernel `name` back to tfjs-wasm's own implementation. */
export function restoreWasmKernel(name: string): void {
  const current = tf.getKernel(name, 'wasm');
  const original = originals.get(name);
  if (current === undefined || original === undefined) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...current, kernelFunc: original as unknown as tf.KernelFunc });
}

/** Route the active wasm backend's Identity and Slice through the kernels above. Idempotent. */
export function installWasmMemory(): boolean {
  const identity = installIdentity();
  return installSlice() && identity;
}

let sliceOn: object | null = null;

function installSlice(): boolean {
  const heap = wasmBackendMemory();
  if (heap === null) return false;
  if (sliceOn === heap.be) return true;
  const ok = overrideWasmKernel(tf.Slice, (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (args.backend !== sliceOn || (x.dtype !== 'float32' && x.dtype !== 'int32')) return original(args);
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    return sliceRuns(args.backend as WasmBackendLike, x, b, s);
  });
  if (ok) sliceOn = heap.be;
  return ok;
}

/** x[b : b + s] of a 4-byte tensor as contiguous runs copied inside the heap. */
function sliceRuns(be: WasmBackendLike, x: tf.TensorInfo, b: number[], s: number[]): tf.TensorInfo {
  const shape = x.shape;
  const r = shape.length;
  const out = be.makeOutput([...s], x.dtype);
  const n = s.reduce((p, q) => p * q, 1);
  if (n === 0) return out;
  const strides = new Array<number>(r).fill(1);
  for (let a = r - 2; a >= 0; a--) strides[a] = strides[a + 1] * shape[a + 1];
  // the last axis that is cut; every axis after it is whole, so a run spans it and them
  let j = r - 1;
  while (j > 0 && s[j] === shape[j] && b[j] === 0) j--;
  const run = s[j] * strides[j];
  const heap = be.wasm.HEAPF32; // 4-byte elements: float32 and int32 copy alike
  const src0 = (heapOffset(be, x) >>> 2) + b.reduce((p, q, a) => p + q * strides[a], 0);
  let dst = heapOffset(be, out) >>> 2;
  const idx = new Array<number>(j).fill(0); // odometer over axes 0 … j−1
  for (let done = 0; done < n; done += run) {
    let src = src0;
    for (let a = 0; a < j; a++) src += idx[a] * strides[a];
    heap.copyWithin(dst, src, src + run);
    dst += run;
    for (let a = j - 1; a >= 0; a--) {
      if (++idx[a] < s[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

let installedOn: object | null = null;

function installIdentity(): boolean {
  const heap = wasmBackendMemory();
  if (heap === null) return false;
  if (installedOn === heap.be) return true;
  const ok = overrideWasmKernel(tf.Identity, (original) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (args.backend !== installedOn || x.dtype === 'string') return original(args);
    (args.backend as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  if (ok) installedOn = heap.be;
  return ok;
}

/**
 * The values of a float32 tensor: on wasm a view of the backend's heap (no copy; valid until the
 * next tfjs operation, which may grow and move the heap), elsewhere dataSync().
 */
export function readView(t: tf.Tensor): Float32Array {
  const heap = t.dtype === 'float32' ? wasmBackendMemory() : null;
  const info = heap?.be.dataIdMap.get(t.dataId);
  if (heap && info) return new Float32Array(heap.be.wasm.HEAPF32.buffer, info.memoryOffset, t.size);
  return t.dataSync() as Float32Array;
}
