// Named parameters and their initialisation, following DiT (Peebles & Xie 2023, "Scalable
// Diffusion Models with Transformers", §3.2 and its reference init): Xavier-uniform weights for
// linear layers (Glorot & Bengio 2010), zero biases, N(0, 0.02) for embedding MLPs, and zeros for
// the adaLN-Zero modulation and the final projection. Weights are stored (in, out) so that a
// linear layer is y = x·W + b. Names are the safetensors keys (`blocks.0.attn.q.weight`).
// Every draw comes from the seeded Rng (src/util/rng.ts), so a model is reproducible from its seed.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng.js';
import { SpacetimeError } from '../util/errors.js';
import type { ParamStore } from './types.js';

export type InitKind = 'xavier' | 'normal02' | 'zeros' | 'ones';

/** A parameter's declared shape and initialiser; the model declares these once, in order. */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: InitKind;
}

/** Values for one initialiser, drawn from `rng` (xavier/normal02) or constant. */
export function initValues(spec: ParamSpec, rng: Rng): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (spec.init) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'normal02':
      for (let i = 0; i < n; i++) out[i] = 0.02 * rng.normal();
      return out;
    case 'xavier': {
      // fan_in / fan_out of a (in, out) matrix; for a vector, treat it as (1, n).
      const fanIn = spec.shape.length >= 2 ? spec.shape[0] : 1;
      const fanOut = spec.shape[spec.shape.length - 1];
      const a = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[i] = rng.range(-a, a);
      return out;
    }
  }
}

/** Create every declared parameter as a trainable tf.Variable, seeded. */
export function createParams(specs: readonly ParamSpec[], seed: number): ParamStore {
  const rng = new Rng(seed);
  const store: ParamStore = new Map();
  for (const s of specs) {
    if (store.has(s.name)) throw new SpacetimeError(`duplicate parameter name ${s.name}`);
    store.set(s.name, toVariable(tf.tensor(initValues(s, rng), s.shape), `${s.name}#${seed}#${uniq++}`));
  }
  return store;
}
let uniq = 0;

/** A trainable variable holding `t`'s values; `t` itself is disposed (the variable shares its data). */
function toVariable(t: tf.Tensor, name: string): tf.Variable {
  const v = tf.variable(t, true, name);
  t.dispose();
  return v;
}

/** A serialised tensor as the checkpoint reader hands it over. */
export interface RawTensor {
  shape: readonly number[];
  data: Float32Array;
}

/**
 * Build a store from loaded tensors, checking that every declared key is present with its exact
 * shape and that no unknown key is left over. Errors name the key.
 */
export function loadParams(specs: readonly ParamSpec[], tensors: Record<string, RawTensor>, what = 'model'): ParamStore {
  const fmt = (s: readonly number[]) => `(${s.join(', ')})`;
  for (const s of specs) {
    const t = tensors[s.name];
    if (!t) throw new SpacetimeError(`${what}: missing parameter '${s.name}' (expected shape ${fmt(s.shape)})`);
    const same = t.shape.length === s.shape.length && t.shape.every((d, i) => d === s.shape[i]);
    if (!same) throw new SpacetimeError(`${what}: parameter '${s.name}' has shape ${fmt(t.shape)}, expected ${fmt(s.shape)}`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new SpacetimeError(`${what}: parameter '${s.name}' has ${t.data.length} values, expected ${n}`);
  }
  const known = new Set(specs.map((s) => s.name));
  const extra = Object.keys(tensors).filter((k) => !known.has(k));
  if (extra.length > 0) throw new SpacetimeError(`${what}: unexpected parameter '${extra[0]}'${extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''}`);
  const store: ParamStore = new Map();
  for (const s of specs) store.set(s.name, toVariable(tf.tensor(tensors[s.name].data, s.shape), `${s.name}#load#${uniq++}`));
  return store;
}

/** Get a parameter by name (a missing one is a programming error with a clear message). */
export function param(store: ParamStore, name: string): tf.Variable {
  const v = store.get(name);
  if (!v) throw new SpacetimeError(`parameter '${name}' not found`);
  return v;
}

/** Dispose every variable of a store. */
export function disposeParams(store: ParamStore): void {
  for (const v of store.values()) v.dispose();
  store.clear();
}

/** Total number of scalar parameters. */
export function countParams(store: ParamStore): number {
  let n = 0;
  for (const v of store.values()) n += v.size;
  return n;
}
