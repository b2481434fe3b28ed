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
import * as tf from '@tensorflow/tfjs-core';
import { WA, type WasmMemory } from './wasm-asm.js';

/**
 * The active tfjs-wasm backend and its WebAssembly.Memory (our kernels import it), or null on
 * another backend or a tfjs-wasm build that hides its memory.
 */
export function wasmBackendMemory(): { be: object; memory: WasmMemory } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.backend() as unknown as { wasm: { asm?: { memory?: unknown } } };
  const memory = be.wasm.asm?.memory;
  return memory instanceof WA.Memory ? { be, memory } : null;
}

interface RefCounting {
  incRef(dataId: object): void;
}

interface WasmHeap {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

let installedOn: object | null = null;

/** Route the active wasm backend's Identity and Slice through the kernels above. Idempotent. */
export function installWasmMemory(): boolean {
  const identity = installIdentity();
  return installSlice() && identity;
}

let sliceOn: object | null = null;

function installSlice(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  const be = tf.backend() as unknown as WasmHeap;
  if (sliceOn === be) return true;
  const current = tf.getKernel(tf.Slice, 'wasm');
  if (current === undefined) return false;
  const original = current.kernelFunc;
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (args.backend !== sliceOn || (x.dtype !== 'float32' && x.dtype !== 'int32')) return original(args as never);
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    return sliceRuns(args.backend as WasmHeap, x, b, s);
  };
  tf.unregisterKernel(tf.Slice, 'wasm');
  tf.registerKernel({ ...current, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  sliceOn = be;
  return true;
}

/** x[b : b + s] of a 4-byte tensor as contiguous runs copied inside the heap. */
function sliceRuns(be: WasmHeap, x: tf.TensorInfo, b: number[], s: number[]): tf.TensorInfo {
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
  const src0 = ((be.dataIdMap.get(x.dataId) as { memoryOffset: number }).memoryOffset >>> 2) + b.reduce((p, q, a) => p + q * strides[a], 0);
  let dst = (be.dataIdMap.get(out.dataId) as { memoryOffset: number }).memoryOffset >>> 2;
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

function installIdentity(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  const be = tf.backend() as unknown as RefCounting;
  if (installedOn === be) return true;
  const current = tf.getKernel(tf.Identity, 'wasm');
  if (current === undefined || typeof be.incRef !== 'function') return false;
  const original = current.kernelFunc;
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (args.backend !== installedOn || x.dtype === 'string') return original(args as never);
    (args.backend as RefCounting).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({ ...current, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  installedOn = be;
  return true;
}

/**
 * The values of a float32 tensor: on wasm a view of the backend's heap (no copy; valid until the
 * next tfjs operation, which may grow and move the heap), elsewhere dataSync().
 */
export function readView(t: tf.Tensor): Float32Array {
  if (t.dtype === 'float32' && tf.getBackend() === 'wasm') {
    const be = tf.backend() as unknown as WasmHeap;
    const info = be.dataIdMap.get(t.dataId);
    if (info) return new Float32Array(be.wasm.HEAPF32.buffer, info.memoryOffset, t.size);
  }
  return t.dataSync() as Float32Array;
}
