// Samplers as pure functions on Float32Array (STYLE.md §5; no tfjs, so the ONNX `generate`
// pipeline shares them with `spacetime sample`).
// - Rectified flow (Liu et al. 2022; SD3, Esser et al. 2024): x_t = (1 − t)·x0 + t·ε, v = ε − x0,
//   dx/dt = v, integrated from t = 1 to 0 with Euler or Heun (Karras et al. 2022, Algorithm 1:
//   2nd-order correction, plain Euler on the last step to t = 0).
// - DDPM models (Ho et al. 2020) with DDIM η = 0 steps (Song et al. 2021), eps- or v-prediction
//   (Salimans & Ho 2022), on the trailing timestep grid of Lin et al. 2024.
// - Classifier-free guidance (Ho & Salimans 2022): u + s·(c − u).
// - Frame conditioning: the clean conditioning frames are put back before every model call and
//   at the end (the model was trained with clean conditioning frames and a mask).
// - SDEdit (Meng et al. 2022): start from the source noised to level `strength`.
import { alphaBars, ddimTimesteps, ddpmModelTime, sigmas, type DdpmConfig } from '../train/schedule.js';

/** The RF time grid t_0 = 1 > … > t_n = 0 with the SD3 shift (same as schedule.ts `sigmas`). */
export { sigmas as timesteps } from '../train/schedule.js';

export type SamplerName = 'euler' | 'heun' | 'ddim';
export const SAMPLERS: readonly SamplerName[] = ['euler', 'heun', 'ddim'];

/** RF Euler step: x + (tNext − t)·v. */
export function eulerStep(x: Float32Array, v: Float32Array, t: number, tNext: number): Float32Array {
  const h = tNext - t;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + h * v[i];
  return out;
}

/**
 * RF Heun step, second half: given v1 = v(x, t) and v2 = v(eulerStep(x, v1, t, tNext), tNext),
 * x + (tNext − t)·(v1 + v2)/2. The loop evaluates the model twice; this function only combines.
 */
export function heunStep(x: Float32Array, v1: Float32Array, v2: Float32Array, t: number, tNext: number): Float32Array {
  const h = 0.5 * (tNext - t);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + h * (v1[i] + v2[i]);
  return out;
}

/**
 * DDIM (η = 0) from ᾱ = abT to ᾱ = abPrev given the model output `pred` (ε or v).
 * x̂0 = (x − √(1−ᾱ)ε)/√ᾱ, or for v: x̂0 = √ᾱ·x − √(1−ᾱ)·v, ε = √(1−ᾱ)·x + √ᾱ·v.
 * Returns √ᾱ'·x̂0 + √(1−ᾱ')·ε.
 */
export function ddimStep(x: Float32Array, pred: Float32Array, abT: number, abPrev: number, prediction: 'eps' | 'v'): Float32Array {
  const a = Math.sqrt(abT);
  const b = Math.sqrt(1 - abT);
  const a2 = Math.sqrt(abPrev);
  const b2 = Math.sqrt(1 - abPrev);
  const out = new Float32Array(x.length);
  if (prediction === 'v') {
    for (let i = 0; i < x.length; i++) {
      const x0 = a * x[i] - b * pred[i];
      const eps = b * x[i] + a * pred[i];
      out[i] = a2 * x0 + b2 * eps;
    }
  } else {
    // ᾱ = 0 (zero terminal SNR) leaves x̂0 undefined under eps-prediction: Lin et al. require v there.
    const ai = 1 / Math.max(a, 1e-4);
    for (let i = 0; i < x.length; i++) {
      const eps = pred[i];
      const x0 = (x[i] - b * eps) * ai;
      out[i] = a2 * x0 + b2 * eps;
    }
  }
  return out;
}

/** Classifier-free guidance: uncond + scale·(cond − uncond). */
export function cfgCombine(cond: Float32Array, uncond: Float32Array, scale: number): Float32Array {
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) out[i] = uncond[i] + scale * (cond[i] - uncond[i]);
  return out;
}

/** Put the clean conditioning values back where mask = 1 (in place). */
export function imposeCond(x: Float32Array, clean: Float32Array, mask: Float32Array | Uint8Array): Float32Array {
  for (let i = 0; i < x.length; i++) if (mask[i]) x[i] = clean[i];
  return x;
}

/** Expand a per-frame mask (B, T) to a per-element mask over (B, T, H, W, C). */
export function frameMaskToElements(frameMask: ArrayLike<number>, shape: readonly [number, number, number, number, number]): Uint8Array {
  const [B, T, H, W, C] = shape;
  const per = H * W * C;
  const out = new Uint8Array(B * T * per);
  for (let f = 0; f < B * T; f++) if (frameMask[f]) out.fill(1, f * per, (f + 1) * per);
  return out;
}

/** The model as the sampling loop sees it: x (flat) at model time t → prediction (flat, same size). */
export type Predict = (x: Float32Array, t: number) => Promise<Float32Array>;

export interface SampleOptions {
  predict: Predict;
  /** Standard normal noise, the starting point (and the ε of SDEdit). */
  noise: Float32Array;
  steps: number;
  sampler: SamplerName;
  /** RF time shift (SD3); ignored by ddim. */
  shift?: number;
  /** Required for ddim: the DDPM process the model was trained with. */
  ddpm?: DdpmConfig;
  /** Clean conditioning latents and a per-element 1/0 mask of the values to keep clean. */
  cond?: { clean: Float32Array; mask: Float32Array | Uint8Array };
  /** SDEdit: start from `source` noised to level strength ∈ (0, 1] (1 = from pure noise). */
  init?: { source: Float32Array; strength: number };
  onStep?: (done: number, total: number) => void;
}

/** Number of model evaluations sample() will make (for progress bars). */
export function modelEvals(opts: Pick<SampleOptions, 'steps' | 'sampler' | 'init'>): number {
  const n = startIndex(opts.steps, opts.init?.strength);
  const run = opts.steps - n;
  return opts.sampler === 'heun' ? Math.max(0, 2 * run - 1) : run;
}

function startIndex(steps: number, strength: number | undefined): number {
  if (strength === undefined) return 0;
  if (!(strength > 0 && strength <= 1)) throw new RangeError(`strength must be in (0, 1], got ${strength}`);
  return Math.min(steps - 1, steps - Math.max(1, Math.round(steps * strength)));
}

/**
 * Run a sampler from noise (or from a noised source, SDEdit) to data. Every model call goes
 * through `predict`; guidance is the caller's (see `guided`).
 */
export async function sample(opts: SampleOptions): Promise<Float32Array> {
  const { predict, noise, steps, sampler } = opts;
  const start = startIndex(steps, opts.init?.strength);
  const total = modelEvals(opts);
  let done = 0;
  const tick = () => opts.onStep?.(++done, total);
  const fix = (x: Float32Array) => (opts.cond ? imposeCond(x, opts.cond.clean, opts.cond.mask) : x);
  const call = async (x: Float32Array, t: number) => {
    const out = await predict(fix(x), t);
    if (out.length !== x.length) throw new RangeError(`predict returned ${out.length} values for ${x.length}`);
    tick();
    return out;
  };

  if (sampler === 'ddim') {
    if (!opts.ddpm) throw new RangeError('the ddim sampler needs the DDPM config of the model');
    const ab = alphaBars(opts.ddpm);
    const ks = ddimTimesteps(steps, opts.ddpm.trainSteps);
    let x: Float32Array = noise.slice();
    if (opts.init) {
      const a = Math.sqrt(ab[ks[start]]);
      const b = Math.sqrt(1 - ab[ks[start]]);
      for (let i = 0; i < x.length; i++) x[i] = a * opts.init.source[i] + b * noise[i];
    }
    for (let i = start; i < steps; i++) {
      const k = ks[i];
      const pred = await call(x, ddpmModelTime(k, opts.ddpm.trainSteps));
      const abPrev = i + 1 < steps ? ab[ks[i + 1]] : 1;
      x = ddimStep(x, pred, ab[k], abPrev, opts.ddpm.prediction);
    }
    return fix(x);
  }

  const ts = sigmas(steps, opts.shift ?? 1);
  let x: Float32Array = noise.slice();
  if (opts.init) {
    const t0 = ts[start];
    for (let i = 0; i < x.length; i++) x[i] = (1 - t0) * opts.init.source[i] + t0 * noise[i];
  }
  for (let i = start; i < steps; i++) {
    const t = ts[i];
    const tNext = ts[i + 1];
    const v1 = await call(x, t);
    if (sampler === 'heun' && tNext > 0) {
      const xe = fix(eulerStep(x, v1, t, tNext));
      const v2 = await call(xe, tNext);
      x = heunStep(x, v1, v2, t, tNext);
    } else {
      x = eulerStep(x, v1, t, tNext);
    }
  }
  return fix(x);
}

/**
 * A Predict with classifier-free guidance from a function that returns the conditional and the
 * unconditional prediction (typically one batched model call). scale = 1 skips the combine.
 */
export function guided(predictPair: (x: Float32Array, t: number) => Promise<[Float32Array, Float32Array]>, scale: number): Predict {
  return async (x, t) => {
    const [c, u] = await predictPair(x, t);
    return scale === 1 ? c : cfgCombine(c, u, scale);
  };
}
