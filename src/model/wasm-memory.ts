// Zero-copy access to the wasm backend's memory.
// 1. Identity (tensor clone) without a copy. tfjs clones every tensor a gradient
// keeps for the backward pass (engine.saveTensorsForBackwardMode and customGrad's save), and
// tfjs-wasm's Identity kernel copies the data each time: ~880 copies per DiT-bench training step.
// tfjs tensors are immutable (kernels write only their fresh outputs; Variable.assign swaps in
// another data id), so a clone can share the data under a reference count, which is what the
// tfjs cpu backend's Identity does and what tfjs-wasm's own Reshape does.
// 2. readView(t): a float32 tensor's values as a view of the heap instead of dataSync()'s copy,
//    for loops that only read them once (the data-parallel workers' gradient exchange).
import * as tf from '@tensorflow/tfjs-core';

interface RefCounting {
  incRef(dataId: object): void;
}

interface WasmHeap {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
}

let installedOn: object | null = null;

/** Route the active wasm backend's Identity through a shared-data clone. Idempotent. */
export function installWasmIdentity(): boolean {
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
