// Pure schedules (STYLE.md §5): no tensors, no hidden counters. Shared by training and by the
// samplers (the ONNX pipeline imports them too).
// - lr(step, cfg): linear warmup then cosine decay or constant (Loshchilov & Hutter, SGDR 2017;
//   nanoGPT's get_lr).
// - Rectified-flow time shift t' = s·t / (1 + (s − 1)·t) (Esser et al. 2024, SD3 §5.3.2), with the
//   shift growing with the token count, s = base·sqrt(N / N_ref) (SD3 uses sqrt of the pixel
//   ratio; Open-Sora 2.0 applies it to the spacetime token count so longer/larger clips get noisier t).
// - DDPM ᾱ schedules: linear betas (Ho et al. 2020), cosine (Nichol & Dhariwal 2021) and the
//   zero-terminal-SNR rescale (Lin et al. 2024, Algorithm 1).

export interface LrConfig {
  lr: number;
  warmupSteps: number;
  schedule: 'cosine' | 'constant';
  /** Final lr of the cosine as a fraction of lr. */
  minLrRatio: number;
  /** Steps over which the cosine decays (after warmup it runs from warmupSteps to totalSteps). */
  totalSteps: number;
}

/** Learning rate at optimizer step `step` (0-based). */
export function lr(step: number, cfg: LrConfig): number {
  if (step < cfg.warmupSteps) return (cfg.lr * (step + 1)) / cfg.warmupSteps;
  if (cfg.schedule === 'constant') return cfg.lr;
  const span = Math.max(1, cfg.totalSteps - cfg.warmupSteps);
  const p = Math.min(1, (step - cfg.warmupSteps) / span);
  const minLr = cfg.lr * cfg.minLrRatio;
  return minLr + 0.5 * (1 + Math.cos(Math.PI * p)) * (cfg.lr - minLr);
}

/** SD3 time shift: maps t ∈ [0, 1] to s·t / (1 + (s − 1)·t); s > 1 spends more time at high noise. */
export function shiftTime(t: number, shift: number): number {
  return (shift * t) / (1 + (shift - 1) * t);
}

/** Resolution/duration-dependent shift: base · sqrt(tokens / refTokens) (below base for clips smaller than refTokens). */
export function tokenShift(tokens: number, base: number, refTokens: number): number {
  return base * Math.sqrt(tokens / refTokens);
}

/**
 * Rectified-flow sampling grid: n + 1 times from 1 (noise) down to 0 (data), uniform in the
 * unshifted time and then shifted (SD3). sigmas(n, 1) = [1, (n−1)/n, …, 0].
 */
export function sigmas(n: number, shift = 1): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`steps must be a positive integer, got ${n}`);
  const out = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) out[i] = shiftTime(1 - i / n, shift);
  return out;
}

export type BetaSchedule = 'linear' | 'cosine';

export interface DdpmConfig {
  schedule: BetaSchedule;
  /** Number of discrete training timesteps T. */
  trainSteps: number;
  prediction: 'eps' | 'v';
  zeroTerminalSnr: boolean;
}

/** ᾱ_k for k = 0..T−1 (k = 0 least noisy). */
export function alphaBars(cfg: Pick<DdpmConfig, 'schedule' | 'trainSteps' | 'zeroTerminalSnr'>): Float64Array {
  const T = cfg.trainSteps;
  const ab = new Float64Array(T);
  if (cfg.schedule === 'linear') {
    // Ho et al.: β from 1e-4 to 0.02 over T = 1000, scaled by 1000/T to keep the same endpoints in ᾱ.
    const scale = 1000 / T;
    const b0 = scale * 1e-4;
    const b1 = scale * 0.02;
    let prod = 1;
    for (let k = 0; k < T; k++) {
      const beta = T === 1 ? b0 : b0 + ((b1 - b0) * k) / (T - 1);
      prod *= 1 - beta;
      ab[k] = prod;
    }
  } else {
    // Nichol & Dhariwal: ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2), s = 0.008, β ≤ 0.999.
    const s = 0.008;
    const f = (t: number) => Math.cos((((t / T + s) / (1 + s)) * Math.PI) / 2) ** 2;
    let prod = 1;
    for (let k = 0; k < T; k++) {
      const beta = Math.min(0.999, 1 - f(k + 1) / f(k));
      prod *= 1 - beta;
      ab[k] = prod;
    }
  }
  return cfg.zeroTerminalSnr ? rescaleZeroTerminalSnr(ab) : ab;
}

/**
 * Lin et al. 2024: shift and scale √ᾱ so that the last timestep has ᾱ = 0 (pure noise, SNR 0)
 * while the first keeps its value.
 */
export function rescaleZeroTerminalSnr(ab: Float64Array): Float64Array {
  const T = ab.length;
  const sq = ab.map(Math.sqrt);
  const first = sq[0];
  const last = sq[T - 1];
  const out = new Float64Array(T);
  for (let k = 0; k < T; k++) {
    const v = ((sq[k] - last) * first) / (first - last);
    out[k] = v * v;
  }
  return out;
}

/** The model's time input for DDPM timestep k: (k + 1) / T ∈ (0, 1]. */
export function ddpmModelTime(k: number, trainSteps: number): number {
  return (k + 1) / trainSteps;
}

/** DDIM "trailing" timestep spacing (Lin et al. 2024 §3.4): n indices from T−1 down, evenly spaced. */
export function ddimTimesteps(n: number, trainSteps: number): Int32Array {
  if (!Number.isInteger(n) || n < 1 || n > trainSteps) throw new RangeError(`steps must be in 1..${trainSteps}, got ${n}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(trainSteps - (i * trainSteps) / n) - 1;
  return out;
}
