// Dense symmetric linear algebra in float64 for Fréchet distances: the cyclic Jacobi eigenvalue
// method (Jacobi 1846; Golub & Van Loan, "Matrix Computations", §8.5 — rotations annihilate one
// off-diagonal pair at a time, converging quadratically and accurately even for tiny eigenvalues),
// the PSD square root V diag(√λ⁺) Vᵀ, and small helpers. Matrices are row-major Float64Array (n × n).

export interface Eigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** Eigenvectors as columns, row-major (n × n): A V = V diag(values). */
  vectors: Float64Array;
}

/**
 * Eigendecomposition of a symmetric matrix (only the symmetric part of `a` is used). Rows p, q
 * are rotated in place (contiguous) and mirrored into columns; eigenvectors are accumulated as
 * rows of Vᵀ for the same reason. `vectors: false` skips them (eigenvalues only).
 */
export function symmetricEigen(a: Float64Array, n: number, opts: { maxSweeps?: number; tol?: number; vectors?: boolean } = {}): Eigen {
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
  const wantV = opts.vectors ?? true;
  const Vt = new Float64Array(wantV ? n * n : 0);
  if (wantV) for (let i = 0; i < n; i++) Vt[i * n + i] = 1;
  const tol = opts.tol ?? 1e-15;
  const maxSweeps = opts.maxSweeps ?? 60;
  let norm = 0;
  for (let k = 0; k < n * n; k++) norm += A[k] * A[k];
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
    if (off <= tol * tol * norm || off === 0) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const rp = p * n;
        const rq = q * n;
        const apq = A[rp + q];
        if (apq === 0) continue;
        const app = A[rp + p];
        const aqq = A[rq + q];
        // Past the first sweeps, entries below rounding level of both diagonals are just zeroed.
        if (sweep > 3 && Math.abs(apq) < 1e-18 * (Math.abs(app) + Math.abs(aqq))) {
          A[rp + q] = A[rq + p] = 0;
          continue;
        }
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J. Off the (p, q) block: rows p, q rotate; columns mirror them (A symmetric).
        for (let k = 0; k < n; k++) {
          const apk = A[rp + k];
          const aqk = A[rq + k];
          const np = c * apk - s * aqk;
          const nq = s * apk + c * aqk;
          A[rp + k] = np;
          A[rq + k] = nq;
          A[k * n + p] = np;
          A[k * n + q] = nq;
        }
        A[rp + p] = app - t * apq;
        A[rq + q] = aqq + t * apq;
        A[rp + q] = A[rq + p] = 0;
        if (wantV) {
          for (let k = 0; k < n; k++) {
            const vpk = Vt[rp + k];
            const vqk = Vt[rq + k];
            Vt[rp + k] = c * vpk - s * vqk;
            Vt[rq + k] = s * vpk + c * vqk;
          }
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[i * n + i] - A[j * n + j]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(wantV ? n * n : 0);
  order.forEach((src, dst) => {
    values[dst] = A[src * n + src];
    if (wantV) for (let k = 0; k < n; k++) vectors[k * n + dst] = Vt[src * n + k];
  });
  return { values, vectors };
}

/** C = A B for n × n row-major matrices. */
export function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      const bk = k * n;
      const ci = i * n;
      for (let j = 0; j < n; j++) c[ci + j] += aik * b[bk + j];
    }
  return c;
}

/** V diag(f(λ)) Vᵀ. */
export function spectralMap(e: Eigen, n: number, f: (x: number) => number): Float64Array {
  const fl = e.values.map(f);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += e.vectors[i * n + k] * fl[k] * e.vectors[j * n + k];
      out[i * n + j] = out[j * n + i] = s;
    }
  return out;
}

/** Square root of a symmetric positive semi-definite matrix (negative rounding noise in λ clipped to 0). */
export function sqrtPsd(a: Float64Array, n: number): Float64Array {
  return spectralMap(symmetricEigen(a, n), n, (x) => Math.sqrt(Math.max(0, x)));
}

export function trace(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i];
  return s;
}
