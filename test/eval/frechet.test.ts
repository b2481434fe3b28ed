// Fréchet distance and the Jacobi eigensolver against closed forms.
import { describe, expect, it } from 'vitest';
import { frechetDistance, frechetFromFeatures, gaussianStats } from '../../src/eval/frechet.js';
import { matmul, sqrtPsd, symmetricEigen } from '../../src/eval/linalg.js';
import { Rng } from '../../src/util/rng.js';

const diag = (xs: number[]) => {
  const n = xs.length;
  const m = new Float64Array(n * n);
  xs.forEach((x, i) => (m[i * n + i] = x));
  return m;
};

function randomSpd(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) a[i] = rng.normal();
  const at = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) at[i * n + j] = a[j * n + i];
  const s = matmul(a, at, n);
  for (let i = 0; i < n; i++) s[i * n + i] += 0.1;
  return s;
}

describe('symmetric eigendecomposition (Jacobi)', () => {
  it('reconstructs A V = V Λ with orthonormal V', () => {
    const n = 12;
    const A = randomSpd(n, new Rng(1));
    const { values, vectors } = symmetricEigen(A, n);
    const AV = matmul(A, vectors, n);
    let worst = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(AV[i * n + j] - vectors[i * n + j] * values[j]));
    expect(worst).toBeLessThan(1e-10);
    const VtV = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) VtV[i * n + j] += vectors[k * n + i] * vectors[k * n + j];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(VtV[i * n + j] - (i === j ? 1 : 0))).toBeLessThan(1e-12);
    for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
  });
  it('known 2×2: [[2, 1], [1, 2]] has eigenvalues 1 and 3', () => {
    const { values } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(1, 14);
    expect(values[1]).toBeCloseTo(3, 14);
  });
  it('sqrtPsd squares back to the matrix', () => {
    const n = 8;
    const A = randomSpd(n, new Rng(2));
    const R = sqrtPsd(A, n);
    const RR = matmul(R, R, n);
    for (let k = 0; k < n * n; k++) expect(Math.abs(RR[k] - A[k])).toBeLessThan(1e-10);
  });
});

describe('Fréchet distance', () => {
  it('equal distributions give 0', () => {
    const n = 6;
    const S = randomSpd(n, new Rng(3));
    const mu = Float64Array.from({ length: n }, (_, i) => i * 0.3);
    expect(frechetDistance({ mu, sigma: S }, { mu, sigma: S })).toBeLessThan(1e-9);
  });
  it('diagonal covariances: ‖μ_r − μ_g‖² + Σ (σ_r − σ_g)²', () => {
    const sr = [1, 4, 9, 0.25];
    const sg = [4, 1, 2, 0.04];
    const mr = new Float64Array([0, 1, 2, 3]);
    const mg = new Float64Array([1, 1, 0, 3]);
    const want = 1 + 0 + 4 + 0 + sr.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(sg[i])) ** 2, 0);
    expect(frechetDistance({ mu: mr, sigma: diag(sr) }, { mu: mg, sigma: diag(sg) })).toBeCloseTo(want, 10);
  });
  it('known non-commuting 2×2 case: Σ_r = I, Σ_g = [[2, 1], [1, 2]] → Tr = 2 + 4 − 2(1 + √3)', () => {
    const I = diag([1, 1]);
    const G = new Float64Array([2, 1, 1, 2]);
    const z = new Float64Array(2);
    // (Σ_r Σ_g)^{1/2} = G^{1/2}, eigenvalues √1 and √3
    expect(frechetDistance({ mu: z, sigma: I }, { mu: z, sigma: G })).toBeCloseTo(6 - 2 * (1 + Math.sqrt(3)), 12);
    // rotated / non-commuting: Σ_r = diag(1, 4), Σ_g = G: Tr((Σ_r^{1/2} G Σ_r^{1/2})^{1/2}) via eigenvalues of [[2, 2], [2, 8]]
    const R = diag([1, 4]);
    const lam = [5 - Math.sqrt(13), 5 + Math.sqrt(13)];
    expect(frechetDistance({ mu: z, sigma: R }, { mu: z, sigma: G })).toBeCloseTo(5 + 4 - 2 * (Math.sqrt(lam[0]) + Math.sqrt(lam[1])), 12);
  });
  it('is symmetric and computed from samples with unbiased covariances', () => {
    const rng = new Rng(4);
    const a = Array.from({ length: 40 }, () => [rng.normal(), 2 * rng.normal() + 1, rng.normal()]);
    const b = Array.from({ length: 30 }, () => [rng.normal() + 0.5, rng.normal(), 3 * rng.normal()]);
    const st = gaussianStats([[1, 2], [3, 6]]);
    expect([...st.mu]).toEqual([2, 4]);
    expect([...st.sigma]).toEqual([2, 4, 4, 8]);
    expect(Math.abs(frechetFromFeatures(a, b) - frechetFromFeatures(b, a))).toBeLessThan(1e-9);
    expect(frechetFromFeatures(a, a)).toBeLessThan(1e-9);
    expect(() => gaussianStats([[1, 2]])).toThrow(/at least 2/);
  });
  it('sample-space and covariance paths agree when samples are fewer than dimensions', () => {
    const rng = new Rng(6);
    const a = Array.from({ length: 5 }, () => Array.from({ length: 9 }, () => rng.normal()));
    const b = Array.from({ length: 7 }, () => Array.from({ length: 9 }, () => rng.normal() * 1.5 + 0.2));
    const viaCov = frechetFromFeatures(a, b, { method: 'covariance' });
    expect(frechetFromFeatures(a, b, { method: 'samples' })).toBeCloseTo(viaCov, 5); // √ of rank-deficient round-off (~1e-16) costs ~1e-8 per zero eigenvalue
    expect(frechetFromFeatures(b, a, { method: 'samples' })).toBeCloseTo(viaCov, 5);
  });
  it('handles a 400-dimensional rank-deficient case (I3D logits with few clips) in reasonable time', () => {
    const rng = new Rng(5);
    const d = 400;
    const rows = (shift: number) => Array.from({ length: 24 }, () => Float64Array.from({ length: d }, (_, i) => rng.normal() + (i < 10 ? shift : 0)));
    const t0 = Date.now();
    const same = frechetFromFeatures(rows(0), rows(0));
    const shifted = frechetFromFeatures(rows(0), rows(3));
    expect(shifted).toBeGreaterThan(same + 50); // mean shift alone contributes ≈ 10 · 3² = 90
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
  it('covariance path on 40 dimensions with more samples than dimensions', () => {
    const rng = new Rng(7);
    const rows = (k: number) => Array.from({ length: 60 }, () => Array.from({ length: 40 }, (_, i) => rng.normal() * (1 + k * (i % 3))));
    const x = rows(0);
    const y = rows(1);
    expect(frechetFromFeatures(x, y)).toBeCloseTo(frechetFromFeatures(x, y, { method: 'samples' }), 4);
  });
});
