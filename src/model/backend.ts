// Tensor backend selection (DESIGN.md "Engine"). `auto` tries tfjs-node-gpu, then tfjs-node
// (both optional dependencies that may be absent), then wasm, then cpu, and says which one runs.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';
import { FlagError, SpacetimeError } from '../util/errors.js';
import { info } from '../util/log.js';
import { installWasmGemm } from './wasm-gemm.js';
import { installWasmMemory } from './wasm-memory.js';
import { installWasmFused } from './wasm-fused.js';
import { installWasmReduce } from './wasm-reduce.js';

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

const require = createRequire(import.meta.url);
let active: string | null = null;

async function tryNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string | null> {
  try {
    // tfjs-node registers the 'tensorflow' backend on the shared tfjs-core instance.
    await import(pkg);
    if (await tf.setBackend('tensorflow')) return 'tensorflow';
  } catch {
    // absent or its native library failed to load: fall through
  }
  return null;
}

async function initWasm(): Promise<boolean> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the threaded build tries a blob: worker and fails (ENGINE-NOTES.md): use the SIMD build.
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const dist = path.join(dir, 'dist');
  wasm.setWasmPaths(
    {
      'tfjs-backend-wasm.wasm': path.join(dist, 'tfjs-backend-wasm.wasm'),
      'tfjs-backend-wasm-simd.wasm': path.join(dist, 'tfjs-backend-wasm-simd.wasm'),
      'tfjs-backend-wasm-threaded-simd.wasm': path.join(dist, 'tfjs-backend-wasm-threaded-simd.wasm'),
    },
    false,
  );
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) return false;
  installWasmGemm(); // our matmul kernels (wasm-gemm.ts) unless SPACETIME_GEMM=tfjs
  installWasmMemory(); // clones share data, slices as memmove runs (wasm-memory.ts)
  installWasmFused(); // single-pass GELU, LayerNorm and RMSNorm kernels (wasm-fused.ts)
  installWasmReduce(); // column sums (wasm-reduce.ts)
  return true;
}

async function initCpu(): Promise<boolean> {
  await import('@tensorflow/tfjs-backend-cpu');
  return tf.setBackend('cpu');
}

/**
 * Select and initialise a backend. Idempotent for the same choice. Prints one info line
 * (`backend: wasm`) unless `quiet`.
 */
export async function selectBackend(choice: BackendChoice | string = 'auto', opts: { quiet?: boolean } = {}): Promise<string> {
  if (!(BACKENDS as readonly string[]).includes(choice)) {
    throw new FlagError('backend', `unknown backend '${choice}' (choose ${BACKENDS.join('|')})`);
  }
  // PROD silences tfjs's console advice (e.g. "install tfjs-node") so stderr stays one line per
  // error; our own info line below says which backend runs.
  tf.env().set('PROD', true);
  let name: string | null = null;
  let why = '';
  switch (choice as BackendChoice) {
    case 'tensorflow-gpu':
      name = await tryNode('@tensorflow/tfjs-node-gpu');
      if (!name) throw new FlagError('backend', "tensorflow-gpu: '@tensorflow/tfjs-node-gpu' is not installed or failed to load");
      break;
    case 'tensorflow':
      name = await tryNode('@tensorflow/tfjs-node');
      if (!name) throw new FlagError('backend', "tensorflow: '@tensorflow/tfjs-node' is not installed or failed to load");
      break;
    case 'wasm':
      if (await initWasm()) name = 'wasm';
      break;
    case 'cpu':
      if (await initCpu()) name = 'cpu';
      break;
    case 'auto':
      name = (await tryNode('@tensorflow/tfjs-node-gpu')) ?? (await tryNode('@tensorflow/tfjs-node'));
      if (!name) {
        why = ' (tfjs-node not installed)';
        try {
          if (await initWasm()) name = 'wasm';
        } catch {
          why = ' (tfjs-node not installed, wasm failed to start)';
        }
      }
      if (!name && (await initCpu())) name = 'cpu';
      break;
  }
  if (!name) throw new SpacetimeError(`backend ${choice} could not be initialised`);
  await tf.ready();
  if (!opts.quiet && active !== name) info(`backend: ${name}${why}`);
  active = name;
  return name;
}

/** The backend that runs, or null before selectBackend. */
export function activeBackend(): string | null {
  return active;
}
