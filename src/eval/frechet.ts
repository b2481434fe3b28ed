// The Fréchet distance between two Gaussians fitted to feature sets (Dowson & Landau 1982), as used
// by FID (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
// Equilibrium", NeurIPS 2017) and FVD (Unterthiner et al., "Towards Accurate Generative Models of
// Video: A New Metric & Challenges", 2018):
//   d² = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}),
// in float64, with the cross term computed stably through symmetric eigendecompositions:
//   Tr((Σ_r Σ_g)^{1/2}) = Tr((Σ_r^{1/2} Σ_g Σ_r^{1/2})^{1/2}) = Σ_i √λ_i(Σ_r^{1/2} Σ_g Σ_r^{1/2}),
// which avoids the non-symmetric sqrtm (and its complex round-off) of the reference code.
// Covariances are unbiased (N − 1), like numpy.cov in the reference implementations.
import { SpacetimeError } from '../util/errors.js';
import { matmul, sqrtPsd, symmetricEigen, trace } from './linalg.js';

export interface GaussianStats {
  dim: number;
  count: number;
  mu: Float64Array;
  /** (dim × dim) row-major. */
  sigma: Float64Array;
}

/** Mean and unbiased covariance of feature rows (each of length dim). */
export function gaussianStats(rows: readonly ArrayLike<number>[]): GaussianStats {
  if (rows.length < 2) throw new SpacetimeError(`need at least 2 feature vectors for a covariance, got ${rows.length}`);
  const d = rows[0].length;
  const n = rows.length;
  const mu = new Float64Array(d);
  for (const r of rows) {
    if (r.length !== d) throw new SpacetimeError(`feature vectors differ in length (${d} vs ${r.length})`);
    for (let i = 0; i < d; i++) mu[i] += r[i] / n;
  }
  const sigma = new Float64Array(d * d);
  const x = new Float64Array(d);
  for (const r of rows) {
    for (let i = 0; i < d; i++) x[i] = r[i] - mu[i];
    for (let i = 0; i < d; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      for (let j = i; j < d; j++) sigma[i * d + j] += xi * x[j];
    }
  }
  for (let i = 0; i < d; i++)
    for (let j = i; j < d; j++) {
      const v = sigma[i * d + j] / (n - 1);
      sigma[i * d + j] = sigma[j * d + i] = v;
    }
  return { dim: d, count: n, mu, sigma };
}

/** Fréchet distance between two Gaussians (clipped at 0 against round-off). */
export function frechetDistance(r: { mu: Float64Array; sigma: Float64Array }, g: { mu: Float64Array; sigma: Float64Array }): number {
  const d = r.mu.length;
  if (g.mu.length !== d || r.sigma.length !== d * d || g.sigma.length !== d * d) throw new SpacetimeError(`Fréchet distance: dimensions differ (${d} vs ${g.mu.length})`);
  let mean2 = 0;
  for (let i = 0; i < d; i++) mean2 += (r.mu[i] - g.mu[i]) ** 2;
  const sr = sqrtPsd(r.sigma, d);
  const m = matmul(matmul(sr, g.sigma, d), sr, d);
  const lam = symmetricEigen(m, d, { vectors: false }).values;
  let cross = 0;
  for (const l of lam) cross += Math.sqrt(Math.max(0, l));
  return Math.max(0, mean2 + trace(r.sigma, d) + trace(g.sigma, d) - 2 * cross);
}

/** Centred rows scaled by 1/√(N − 1), so that Σ = XᵀX. (N × d) row-major. */
function centred(rows: readonly ArrayLike<number>[], d: number): Float64Array {
  const n = rows.length;
  const mu = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mu[i] += r[i] / n;
  const k = 1 / Math.sqrt(n - 1);
  const x = new Float64Array(n * d);
  rows.forEach((r, a) => {
    for (let i = 0; i < d; i++) x[a * d + i] = (r[i] - mu[i]) * k;
  });
  return x;
}

/**
 * Fréchet distance between two feature sets. With fewer samples than dimensions (the usual case
 * for I3D's 400 logits on small sets) the cross term is computed exactly in sample space: with
 * Σ_r = AᵀA and Σ_g = BᵀB, the nonzero eigenvalues of Σ_r Σ_g are those of (ABᵀ)(ABᵀ)ᵀ, so
 * Tr((Σ_r Σ_g)^{1/2}) is the sum of the singular values of the (N_r × N_g) matrix ABᵀ.
 */
export function frechetFromFeatures(real: readonly ArrayLike<number>[], generated: readonly ArrayLike<number>[], opts: { method?: 'auto' | 'covariance' | 'samples' } = {}): number {
  const r = gaussianStats(real);
  const g = gaussianStats(generated);
  if (r.dim !== g.dim) throw new SpacetimeError(`Fréchet distance: feature dimensions differ (${r.dim} vs ${g.dim})`);
  const d = r.dim;
  const method = opts.method ?? (Math.min(r.count, g.count) < d ? 'samples' : 'covariance');
  if (method === 'covariance') return frechetDistance(r, g);
  const A = centred(real, d);
  const B = centred(generated, d);
  const [nr, ng] = [r.count, g.count];
  const C = new Float64Array(nr * ng); // A Bᵀ
  for (let i = 0; i < nr; i++)
    for (let j = 0; j < ng; j++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += A[i * d + k] * B[j * d + k];
      C[i * ng + j] = acc;
    }
  const m = Math.min(nr, ng);
  const K = new Float64Array(m * m); // C Cᵀ or Cᵀ C, whichever is smaller
  for (let i = 0; i < m; i++)
    for (let j = i; j < m; j++) {
      let acc = 0;
      if (nr <= ng) for (let k = 0; k < ng; k++) acc += C[i * ng + k] * C[j * ng + k];
      else for (let k = 0; k < nr; k++) acc += C[k * ng + i] * C[k * ng + j];
      K[i * m + j] = K[j * m + i] = acc;
    }
  let cross = 0;
  for (const l of symmetricEigen(K, m, { vectors: false }).values) cross += Math.sqrt(Math.max(0, l));
  let mean2 = 0;
  for (let i = 0; i < d; i++) mean2 += (r.mu[i] - g.mu[i]) ** 2;
  return Math.max(0, mean2 + trace(r.sigma, d) + trace(g.sigma, d) - 2 * cross);
}
