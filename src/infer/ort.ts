// onnxruntime-node sessions: one place that sets threads and graph optimisation, turns the
// runtime's rejections into FileErrors carrying its message, and runs with plain typed arrays.
// API: onnxruntime-node (InferenceSession.create / run, ort.Tensor), ONNX Runtime docs.
import os from 'node:os';
import { promises as fs } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { FileError, SpacetimeError } from '../util/errors.js';

export type Session = ort.InferenceSession;
export type OrtTensor = ort.Tensor;

export interface SessionOptions {
  /** Intra-op threads (default: all cores). */
  threads?: number;
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Execution providers in order of preference (default ['cpu']). */
  providers?: readonly string[];
}

/**
 * Open a model from a file path or bytes. A missing file or a model the runtime rejects becomes
 * a FileError naming the file (or `<bytes>`) and the runtime's own message.
 */
export async function createSession(fileOrBytes: string | Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  const label = typeof fileOrBytes === 'string' ? fileOrBytes : '<onnx bytes>';
  if (typeof fileOrBytes === 'string') {
    try {
      const st = await fs.stat(fileOrBytes);
      if (!st.isFile()) throw new FileError(fileOrBytes, 'not a file');
    } catch (e) {
      if (e instanceof FileError) throw e;
      throw new FileError(fileOrBytes, 'no such file');
    }
  }
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.optimization ?? 'all',
    executionProviders: [...(opts.providers ?? ['cpu'])],
  };
  try {
    return typeof fileOrBytes === 'string' ? await ort.InferenceSession.create(fileOrBytes, options) : await ort.InferenceSession.create(fileOrBytes, options);
  } catch (e) {
    throw new FileError(label, `onnxruntime cannot load the model: ${runtimeMessage(e)}`);
  }
}

function runtimeMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
}

/** A plain tensor: data plus shape. */
export interface Feed {
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array;
  dims: readonly number[];
}

function toOrt(name: string, f: Feed | ort.Tensor): ort.Tensor {
  if (f instanceof ort.Tensor) return f;
  const n = f.dims.reduce((a, b) => a * b, 1);
  if (n !== f.data.length) throw new SpacetimeError(`input ${name}: ${f.data.length} values do not fill shape (${f.dims.join(', ')})`);
  if (f.data instanceof Float32Array) return new ort.Tensor('float32', f.data, f.dims);
  if (f.data instanceof Float64Array) return new ort.Tensor('float64', f.data, f.dims);
  if (f.data instanceof Int32Array) return new ort.Tensor('int32', f.data, f.dims);
  if (f.data instanceof BigInt64Array) return new ort.Tensor('int64', f.data, f.dims);
  return new ort.Tensor('uint8', f.data, f.dims);
}

/**
 * Run the session. Inputs are named; an unknown or missing input name is a SpacetimeError that
 * lists the model's inputs. Returns the outputs as ort Tensors keyed by name.
 */
export async function run(session: Session, feeds: Record<string, Feed | ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const want = session.inputNames;
  for (const k of Object.keys(feeds)) if (!want.includes(k)) throw new SpacetimeError(`model has no input '${k}' (inputs: ${want.join(', ')})`);
  for (const k of want) if (!(k in feeds)) throw new SpacetimeError(`model input '${k}' not given (inputs: ${want.join(', ')})`);
  const t: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) t[k] = toOrt(k, v);
  try {
    return (await session.run(t)) as Record<string, ort.Tensor>;
  } catch (e) {
    throw new SpacetimeError(`onnxruntime run failed: ${runtimeMessage(e)}`);
  }
}

/** The float32 data and dims of an output tensor. */
export function floatOutput(out: ort.Tensor, name = 'output'): { data: Float32Array; dims: number[] } {
  if (out.type !== 'float32') throw new SpacetimeError(`${name}: expected a float32 output, got ${out.type}`);
  return { data: out.data as Float32Array, dims: [...out.dims] };
}

/** The declared shape of a session input (symbolic dims as strings), or null when the runtime does not know it. */
export function inputShape(session: Session, name: string): (number | string)[] | null {
  const m = session.inputMetadata.find((x) => x.name === name);
  return m && m.isTensor && m.shape.length ? [...m.shape] : null;
}
