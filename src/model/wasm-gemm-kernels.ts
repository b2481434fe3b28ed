// The wasm functions behind wasm-gemm.ts, written with wasm-asm.ts: the register-tiled product
// (4 × 8 tiles or narrower, fused multiply-add where relaxed SIMD runs), the packing of B into
// 8-column panels and of a transposed A into 4-row tiles, and the unpacked few-rows product. See
// wasm-gemm.ts for the structure and the measurements.
import { I32, V128, op, whileBelow, countDown, type Code, type WasmFunc } from './wasm-asm.js';

export const NR = 8; // panel width (two f32x4)
export const MR = 4; // rows per register tile

/**
 * C[i, 8p + v] = Σ_k A[i, k]·Bp[p, k, v] for i < M (a multiple of `mr`), p < np. Byte addresses:
 * A[i, k] at a + ⌊i/mr⌋·tsA + (i mod mr)·rsA + k·csA (tsA = mr·rsA for a plain strided A).
 */
export function gemmFunc(mr: number, fma: boolean): WasmFunc {
  const [a, rsA, csA, tsA, bp, c, ldc, M, K, np] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [p, i, k, ta, pa, pb, bpan, cpan, rs2, rs3] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const s = 20;
  const b = [21, 22];
  const acc = (r: number, v: number) => 23 + r * 2 + v;
  const rowAddr = [[op.get(pa)], [op.get(pa), op.get(rsA), op.i32Add], [op.get(pa), op.get(rs2), op.i32Add], [op.get(pa), op.get(rs3), op.i32Add]];
  const kStep: Code[] = [op.get(pb), op.v128Load(0), op.set(b[0]), op.get(pb), op.v128Load(16), op.set(b[1])];
  for (let r = 0; r < mr; r++) {
    kStep.push(...rowAddr[r], op.v128Load32Splat(0), op.set(s));
    for (let v = 0; v < 2; v++) {
      if (fma) kStep.push(op.get(s), op.get(b[v]), op.get(acc(r, v)), op.f32x4RelaxedMadd, op.set(acc(r, v)));
      else kStep.push(op.get(acc(r, v)), op.get(s), op.get(b[v]), op.f32x4Mul, op.f32x4Add, op.set(acc(r, v)));
    }
  }
  const zero: Code[] = [];
  const store: Code[] = [];
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < 2; v++) {
      zero.push(op.v128Zero, op.set(acc(r, v)));
      // address: cpan + (i + r)·ldc, then offset 16·v
      store.push(op.get(cpan), op.get(i), op.i32(r), op.i32Add, op.get(ldc), op.i32Mul, op.i32Add, op.get(acc(r, v)), op.v128Store(16 * v));
    }
  }
  const body: Code[] = [
    op.get(rsA), op.i32(2), op.i32Mul, op.set(rs2),
    op.get(rsA), op.i32(3), op.i32Mul, op.set(rs3),
    op.get(bp), op.set(bpan),
    op.get(c), op.set(cpan),
    ...whileBelow(p, np, 1, [
      op.i32(0), op.set(i),
      op.get(a), op.set(ta),
      ...whileBelow(i, M, mr, [
        ...zero,
        op.get(ta), op.set(pa),
        op.get(bpan), op.set(pb),
        op.get(K), op.set(k),
        ...countDown(k, [...kStep, op.get(pa), op.get(csA), op.i32Add, op.set(pa), op.get(pb), op.i32(32), op.i32Add, op.set(pb)]),
        ...store,
        op.get(ta), op.get(tsA), op.i32Add, op.set(ta),
      ]),
      op.get(bpan), op.get(K), op.i32(32), op.i32Mul, op.i32Add, op.set(bpan),
      op.get(cpan), op.i32(32), op.i32Add, op.set(cpan),
    ]),
  ];
  return { name: `gemm${mr}`, params: new Array(10).fill(I32), locals: [...new Array(10).fill(I32), ...new Array(3 + 2 * mr).fill(V128)], body };
}

/** Bp[p, k, v] = B[k, 8p + v] for p < np, where B[k, j] lies at b + k·rsB + j·csB (bytes). */
export function packFunc(): WasmFunc {
  const [b, rsB, csB, bp, K, np] = [0, 1, 2, 3, 4, 5];
  const [p, k, src, q, dst] = [6, 7, 8, 9, 10];
  const copy8: Code[] = [op.get(src), op.set(q)];
  for (let v = 0; v < NR; v++) copy8.push(op.get(dst), op.get(q), op.f32Load(0), op.f32Store(4 * v), op.get(q), op.get(csB), op.i32Add, op.set(q));
  const body: Code[] = [
    op.get(bp), op.set(dst),
    ...whileBelow(p, np, 1, [
      op.get(b), op.get(p), op.i32(NR), op.i32Mul, op.get(csB), op.i32Mul, op.i32Add, op.set(src),
      op.get(K), op.set(k),
      ...countDown(k, [...copy8, op.get(src), op.get(rsB), op.i32Add, op.set(src), op.get(dst), op.i32(32), op.i32Add, op.set(dst)]),
    ]),
  ];
  return { name: 'pack', params: new Array(6).fill(I32), locals: new Array(5).fill(I32), body };
}

/**
 * Panels of `w` (4 or 8) columns of a matrix whose rows are contiguous: P[p, k, v] = X[k, w·p + v]
 * with X[k, j] at x + k·rsX + 4j, as w/4 v128 copies per k. Packs B's panels (w = 8) and a
 * transposed A's row tiles (w = 4: Aᵀ's rows are A's columns).
 */
export function packRowsFunc(w: 4 | 8): WasmFunc {
  const [x, rsX, dstStart, K, np] = [0, 1, 2, 3, 4];
  const [p, k, src, dst] = [5, 6, 7, 8];
  const copy: Code[] = [];
  for (let o = 0; o < 4 * w; o += 16) copy.push(op.get(dst), op.get(src), op.v128Load(o), op.v128Store(o));
  const body: Code[] = [
    op.get(dstStart), op.set(dst),
    ...whileBelow(p, np, 1, [
      op.get(x), op.get(p), op.i32(4 * w), op.i32Mul, op.i32Add, op.set(src),
      op.get(K), op.set(k),
      ...countDown(k, [...copy, op.get(src), op.get(rsX), op.i32Add, op.set(src), op.get(dst), op.i32(4 * w), op.i32Add, op.set(dst)]),
    ]),
  ];
  return { name: `packRows${w}`, params: new Array(5).fill(I32), locals: new Array(4).fill(I32), body };
}

/**
 * C = A·B row by row for few rows (M < 4: bias gradients are 1 × K products with a ones row),
 * without packing B: for each k, C[i, :] += A[i, k]·B[k, :] over B's contiguous row, four
 * columns per v128 (N a multiple of 4). Packing would copy all of B to multiply it once.
 */
export function rowsFunc(): WasmFunc {
  const [a, rsA, csA, b, rsB, c, ldc, M, K, N] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [i, k, pa, pb, pc, q, end, rowA] = [10, 11, 12, 13, 14, 15, 16, 17];
  const s = 18;
  const body: Code[] = [
    ...whileBelow(i, M, 1, [
      op.get(c), op.get(i), op.get(ldc), op.i32Mul, op.i32Add, op.set(pc),
      op.get(pc), op.get(N), op.i32(4), op.i32Mul, op.i32Add, op.set(end),
      op.get(pc), op.set(q),
      ...whileBelow(q, end, 16, [op.get(q), op.v128Zero, op.v128Store(0)]), // zero the row
      op.get(a), op.get(i), op.get(rsA), op.i32Mul, op.i32Add, op.set(rowA),
      op.get(b), op.set(pb),
      op.i32(0), op.set(k),
      ...whileBelow(k, K, 1, [
        op.get(rowA), op.get(k), op.get(csA), op.i32Mul, op.i32Add, op.set(pa),
        op.get(pa), op.v128Load32Splat(0), op.set(s),
        op.get(pc), op.set(q),
        // C[i, j…j+3] += s·B[k, j…j+3]
        ...whileBelow(q, end, 16, [
          op.get(q), op.get(q), op.v128Load(0), op.get(s), op.get(pb), op.v128Load(0), op.f32x4Mul, op.f32x4Add, op.v128Store(0),
          op.get(pb), op.i32(16), op.i32Add, op.set(pb),
        ]),
        // pb advanced by N·4 over the row: move it to the next row's start
        op.get(pb), op.get(rsB), op.get(N), op.i32(4), op.i32Mul, op.i32Sub, op.i32Add, op.set(pb),
      ]),
    ]),
  ];
  return { name: 'rows', params: new Array(10).fill(I32), locals: [...new Array(8).fill(I32), V128], body };
}

