// Our own f32 matrix-multiply kernels for the tfjs wasm backend (ENGINE-NOTES.md "wasm kernel
// speeds"). tfjs-wasm's BatchMatMul runs untransposed 2-D products through XNNPACK at 21–30 GFLOP/s
// on our machines and every other case (transposed operands, batches) through a scalar loop at
// 1.3–2 GFLOP/s. The kernels here (wasm-gemm-kernels.ts) are generated at run time with
// wasm-asm.ts and run on the backend's own memory (no copies):
// - the right operand is packed into panels of 8 columns, (N/8, K, 8), so the inner loop reads it
//   contiguously whatever its layout (this is also where a transposed B is handled);
// - a 4 × 8 register tile (8 f32x4 accumulators) is updated per k with two panel loads and four
//   load32_splat broadcasts of A, read with a row stride and a column stride (a transposed A is
//   packed into 4-row tiles instead). Where relaxed SIMD is available (wasm-asm.ts relaxedSimd())
//   the update is f32x4.relaxed_madd, one fused multiply-add (measured 43–45 vs 29–30 GFLOP/s
//   with a multiply and an add); otherwise the two.
// This is the GotoBLAS / BLIS structure (Goto & van de Geijn 2008, "Anatomy of high-performance
// matrix multiplication"; Van Zee & van de Geijn 2015, BLIS) with one level of packing, sized for
// SIMD128's 16 registers.
// Products with fewer than 4 rows (the ones-row products of bias gradients) skip the packing and
// sweep B's rows directly.
// installWasmGemm() replaces the wasm backend's BatchMatMul kernel with one that uses these
// kernels for float32 products with N ≥ 8 (any transpose flags), or fewer than 4 rows with a
// row-major B and N a multiple of 4, batched with equal or broadcast batches, and hands every
// other case (N < 8 otherwise, other dtypes) to the original kernel. SPACETIME_GEMM=tfjs keeps
// the original for all. Gradients are unchanged: tfjs differentiates BatchMatMul by kernel name.
import * as tf from '@tensorflow/tfjs-core';
import { instantiate, relaxedSimd, type WasmMemory } from './wasm-asm.js';
import { heapOffset, overrideWasmKernel, restoreWasmKernel, wasmBackendMemory, type KernelArgs, type WasmBackendLike } from './wasm-memory.js';
import { MR, NR, gemmFunc, packFunc, packRowsFunc, rowsFunc } from './wasm-gemm-kernels.js';

type GemmFn = (a: number, rsA: number, csA: number, tsA: number, bp: number, c: number, ldc: number, M: number, K: number, np: number) => void;
type PackRowsFn = (x: number, rsX: number, dst: number, K: number, np: number) => void;
interface Kernels {
  gemm: GemmFn[]; // index = rows per tile (1…4)
  pack: (b: number, rsB: number, csB: number, bp: number, K: number, np: number) => void;
  packRows8: PackRowsFn;
  packRows4: PackRowsFn;
  rows: (a: number, rsA: number, csA: number, b: number, rsB: number, c: number, ldc: number, M: number, K: number, N: number) => void;
}

/** The heap a kernel set runs on: tfjs-wasm's Emscripten module, or a plain memory in tests. */
export interface GemmHeap {
  memory: WasmMemory;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/** A matrix operand in the heap: element (r, c) of the logical matrix at ptr + r·rs + c·cs (bytes). */
export interface MatRef {
  ptr: number;
  rs: number;
  cs: number;
}

/** A growable block of the heap. */
class Scratch {
  ptr = 0;
  private bytes = 0;
  constructor(private readonly heap: GemmHeap) {}
  release(): void {
    if (this.ptr) this.heap.free(this.ptr);
    this.ptr = 0;
    this.bytes = 0;
  }
  ensure(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.ptr) this.heap.free(this.ptr);
      this.bytes = Math.max(bytes, 2 * this.bytes);
      this.ptr = this.heap.malloc(this.bytes) >>> 0;
      if (this.ptr === 0) throw new Error(`wasm gemm: could not allocate ${this.bytes} bytes of scratch`);
    }
    return this.ptr;
  }
}

/** Compiled kernels bound to one heap, with scratch areas for packed operands. */
export class WasmGemm {
  private readonly k: Kernels;
  private readonly packedB: Scratch;
  private readonly packedA: Scratch;

  /** `fma`: use relaxed_madd (default: where relaxed SIMD is available). */
  constructor(
    private readonly heap: GemmHeap,
    readonly fma = relaxedSimd(),
  ) {
    const e = instantiate<Record<string, (...args: number[]) => void>>([gemmFunc(1, fma), gemmFunc(2, fma), gemmFunc(3, fma), gemmFunc(4, fma), packFunc(), packRowsFunc(8), packRowsFunc(4), rowsFunc()], heap.memory);
    this.k = { gemm: [e.gemm1, e.gemm1, e.gemm2, e.gemm3, e.gemm4] as GemmFn[], pack: e.pack, packRows8: e.packRows8, packRows4: e.packRows4, rows: e.rows };
    this.packedB = new Scratch(heap);
    this.packedA = new Scratch(heap);
  }

  /** Free the scratch areas (the kernels stay usable; scratch is allocated again on demand). */
  release(): void {
    this.packedA.release();
    this.packedB.release();
  }

  /**
   * Pack B (K × N; the last panel zero-padded) into its scratch area and return the address.
   * When N is not a multiple of 8, room for an M × 8 result tile follows the panels (matmul's tail).
   */
  pack(B: MatRef, K: number, N: number, M: number): number {
    const np = Math.floor(N / NR);
    const tail = N - np * NR;
    const bp = this.packedB.ensure((np + (tail ? 1 : 0)) * K * NR * 4 + (tail ? M * NR * 4 : 0));
    if (B.cs === 4) this.k.packRows8(B.ptr, B.rs, bp, K, np);
    else this.k.pack(B.ptr, B.rs, B.cs, bp, K, np);
    if (tail) {
      const f = new Float32Array(this.heap.memory.buffer);
      const base = (bp + np * K * NR * 4) >>> 2;
      for (let k = 0; k < K; k++) {
        for (let v = 0; v < NR; v++) f[base + k * NR + v] = v < tail ? f[(B.ptr + k * B.rs + (np * NR + v) * B.cs) >>> 2] : 0;
      }
    }
    return bp;
  }

  /**
   * A as the kernel reads it: {a, rsA, csA, tsA}. A row-major-ish A (cs = 4) is read in place; a
   * transposed one (rs = 4: its columns are contiguous) is packed into (M/4, K, 4) row tiles, so
   * the inner loop reads 16 contiguous bytes per k instead of 4 floats a row-length apart.
   */
  private rowsOf(A: MatRef, M: number, K: number): [number, number, number, number] {
    if (A.cs === 4 || A.rs !== 4) return [A.ptr, A.rs, A.cs, MR * A.rs];
    const nt = Math.floor(M / MR);
    const rest = M - nt * MR;
    const ap = this.packedA.ensure((nt + (rest ? 1 : 0)) * K * MR * 4);
    this.k.packRows4(A.ptr, A.cs, ap, K, nt);
    if (rest) {
      const f = new Float32Array(this.heap.memory.buffer);
      const base = (ap + nt * K * MR * 4) >>> 2;
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < rest; r++) f[base + k * MR + r] = f[(A.ptr + k * A.cs + (nt * MR + r) * 4) >>> 2];
      }
    }
    return [ap, 4, MR * 4, K * MR * 4];
  }

  /** Whether matmul() takes the unpacked few-rows path for these operands. */
  static fewRows(M: number, N: number, B: MatRef): boolean {
    return M < MR && N % 4 === 0 && B.cs === 4;
  }

  /**
   * C = A·B for A (M × K) and B (K × N) given as strided views, C row-major (M × N) at `c`.
   * `B` may be an address returned by pack(B, K, N, M), to reuse one packing across a batch.
   */
  matmul(A: MatRef, B: MatRef | number, c: number, M: number, K: number, N: number): void {
    if (typeof B !== 'number' && WasmGemm.fewRows(M, N, B)) {
      this.k.rows(A.ptr, A.rs, A.cs, B.ptr, B.rs, c, N * 4, M, K, N);
      return;
    }
    const np = Math.floor(N / NR);
    const tail = N - np * NR;
    const bp = typeof B === 'number' ? B : this.pack(B, K, N, M);
    const [a, rsA, csA, tsA] = this.rowsOf(A, M, K);
    // tiles of four rows, then the remaining M mod 4 rows with a narrower tile
    const m4 = M - (M % MR);
    const run = (panels: number, cAt: number, ldc: number, count: number) => {
      if (m4 > 0) this.k.gemm[MR](a, rsA, csA, tsA, panels, cAt, ldc, m4, K, count);
      if (M > m4) this.k.gemm[M - m4](a + (m4 / MR) * tsA, rsA, csA, tsA, panels, cAt + m4 * ldc, ldc, M - m4, K, count);
    };
    // full panels write straight into C; the padded last panel goes to the M × 8 tile behind the
    // panels, whose valid columns are then copied out
    const tileAddr = bp + (np + 1) * K * NR * 4;
    if (np > 0) run(bp, c, N * 4, np);
    if (tail) {
      run(bp + np * K * NR * 4, tileAddr, NR * 4, 1);
      const f = new Float32Array(this.heap.memory.buffer);
      const ci = c >>> 2;
      const ti = tileAddr >>> 2;
      for (let i = 0; i < M; i++) {
        for (let v = 0; v < tail; v++) f[ci + i * N + np * NR + v] = f[ti + i * NR + v];
      }
    }
  }
}

// ---- tfjs integration -------------------------------------------------------------------------

let installedOn: object | null = null;
let gemm: WasmGemm | null = null;

/** Whether the wasm backend's BatchMatMul currently runs our kernels. */
export function wasmGemmActive(): boolean {
  return installedOn !== null && tf.getBackend() === 'wasm' && tf.backend() === installedOn;
}

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

function batchMatMul(args: KernelArgs, orig: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo | tf.TensorInfo[] {
  const be = args.backend as WasmBackendLike;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA = false, transposeB = false } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  if (be !== installedOn || gemm === null || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return orig(args);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const bRef = (ptr: number): MatRef => ({ ptr, rs: transposeB ? 4 : N * 4, cs: transposeB ? K * 4 : 4 });
  // N ≥ 8 runs the tiled kernels (M < 4 with a row-major B and N a multiple of 4: the row sweep)
  if (K !== Kb || K === 0 || M === 0 || (N < NR && !WasmGemm.fewRows(M, N, bRef(0)))) return orig(args);
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return orig(args); // the original kernel words the shape error
  }
  const batch = size(outer);
  const batchA = size(outerA);
  const batchB = size(outerB);
  // Each operand either has every batch entry (in output order) or one shared matrix.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return orig(args);
  const out = be.makeOutput([...outer, M, N], 'float32');
  const pa = heapOffset(be, a);
  const pb = heapOffset(be, b);
  const pc = heapOffset(be, out);
  const A = (i: number): MatRef => ({ ptr: pa + (batchA === 1 ? 0 : i * M * K * 4), rs: transposeA ? 4 : K * 4, cs: transposeA ? M * 4 : 4 });
  const B = (i: number): MatRef => bRef(pb + (batchB === 1 ? 0 : i * K * N * 4));
  const shared = batchB === 1 && batch > 1 && M >= MR ? gemm.pack(B(0), K, N, M) : null; // one packing for the batch
  for (let i = 0; i < batch; i++) gemm.matmul(A(i), shared ?? B(i), pc + i * M * N * 4, M, K, N);
  return out;
}

/**
 * Route the active wasm backend's BatchMatMul through our kernels (see the file comment).
 * Idempotent; a no-op unless the active backend is wasm, or when SPACETIME_GEMM=tfjs.
 */
export function installWasmGemm(): boolean {
  if (process.env.SPACETIME_GEMM === 'tfjs') return false;
  const heap = wasmBackendMemory(); // null: not wasm, or a build that hides its memory (keep XNNPACK)
  if (heap === null) return false;
  const be = heap.be;
  if (installedOn === be) return true;
  gemm = new WasmGemm({ memory: heap.memory, malloc: (n) => be.wasm._malloc(n), free: (p) => be.wasm._free(p) });
  if (!overrideWasmKernel(tf.BatchMatMul, (original) => (args) => batchMatMul(args, original))) return false;
  installedOn = be;
  return true;
}

/** Give BatchMatMul back to tfjs-wasm's own kernel (benchmarks compare the two in one process). */
export function uninstallWasmGemm(): void {
  if (installedOn === null) return;
  restoreWasmKernel(tf.BatchMatMul);
  gemm?.release();
  gemm = null;
  installedOn = null;
}
