// AdamW (Loshchilov & Hutter 2019, with Adam's bias correction, Kingma & Ba 2015) on flat
// Float32Arrays, for the data-parallel workers (src/model/parallel-worker.ts): every parameter of
// the model lives at an offset of one flat buffer, and each worker updates only its shard of the
// range (the optimizer-state sharding of ZeRO stage 1, Rajbhandari et al. 2020). Same update as
// optimizer.ts's AdamW (PyTorch's): p ← p·(1 − lr·λ); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// p ← p − lr·m̂/(√v̂ + ε); no weight decay for vectors (rank < 2). Arithmetic in float64 per
// element, stored as float32.
import type { OptimizerConfig } from './optimizer.js';

/** Where each parameter lives in the flat buffer, and whether it is weight-decayed. */
export interface FlatLayout {
  offsets: number[];
  sizes: number[];
  decay: boolean[]; // rank ≥ 2
  total: number;
}

export function flatLayout(shapes: readonly (readonly number[])[]): FlatLayout {
  const offsets: number[] = [];
  const sizes: number[] = [];
  const decay: boolean[] = [];
  let total = 0;
  for (const s of shapes) {
    const n = s.reduce((a, b) => a * b, 1);
    offsets.push(total);
    sizes.push(n);
    decay.push(s.length >= 2);
    total += n;
  }
  return { offsets, sizes, decay, total };
}

/** Shard r of w: an element range [lo, hi) of the flat buffer, near-equal sizes. */
export function shardRange(total: number, r: number, w: number): [number, number] {
  return [Math.floor((total * r) / w), Math.floor((total * (r + 1)) / w)];
}

/**
 * One AdamW step on the elements [lo, hi) of the flat parameters p, with the gradient g·gScale
 * (gScale folds in the averaging over workers and the clipping factor). m and v hold this shard's
 * state: index j − lo. `step` is the 1-based step number k of the bias correction.
 */
export function adamwShard(
  layout: FlatLayout,
  lo: number,
  hi: number,
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  step: number,
  lr: number,
  gScale: number,
  cfg: Pick<OptimizerConfig, 'beta1' | 'beta2' | 'eps' | 'weightDecay'>,
): void {
  const { beta1, beta2, eps } = cfg;
  const { a1, ib2 } = adamwCoefficients(cfg, step, lr);
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (const { a, b, keep } of shardSegments(layout, lo, hi, cfg, lr)) {
    for (let j = a; j < b; j++) {
      const gj = g[j] * gScale;
      const k = j - lo;
      const mj = beta1 * m[k] + c1 * gj;
      const vj = beta2 * v[k] + c2 * gj * gj;
      m[k] = mj;
      v[k] = vj;
      p[j] = p[j] * keep - (a1 * mj) / (Math.sqrt(vj * ib2) + eps);
    }
  }
}

/** Step-dependent AdamW factors: a1 = lr / (1 − β1^k) and ib2 = 1 / (1 − β2^k). */
export function adamwCoefficients(cfg: Pick<OptimizerConfig, 'beta1' | 'beta2'>, step: number, lr: number): { a1: number; ib2: number } {
  return { a1: lr / (1 - cfg.beta1 ** step), ib2: 1 / (1 - cfg.beta2 ** step) };
}

/**
 * The parts [a, b) of [lo, hi) that fall in each parameter, with that parameter's decay factor
 * keep = 1 − lr·λ (1 for vectors).
 */
export function shardSegments(layout: FlatLayout, lo: number, hi: number, cfg: Pick<OptimizerConfig, 'weightDecay'>, lr: number): { a: number; b: number; keep: number }[] {
  const out: { a: number; b: number; keep: number }[] = [];
  for (let i = 0; i < layout.offsets.length; i++) {
    const a = Math.max(lo, layout.offsets[i]);
    const b = Math.min(hi, layout.offsets[i] + layout.sizes[i]);
    if (a < b) out.push({ a, b, keep: layout.decay[i] ? 1 - lr * cfg.weightDecay : 1 });
  }
  return out;
}
