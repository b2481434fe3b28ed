// SIMD128 kernels for the data-parallel workers' flat-buffer arithmetic: summing the gradient
// slots over a shard with its squared norm, and AdamW (flat-adamw.ts gives the update and is the
// float64 reference). The flat buffers are SharedArrayBuffers, which V8's JavaScript loops read
// and write about 2× slower than ordinary arrays (AdamW over 4.7 M shared floats: 75 ms vs 33 ms
// measured); a wasm module cannot address them directly either. So the work goes through a small
// private wasm memory in chunks of 16 Ki floats (L2-resident): copy the chunk in
// (TypedArray.set, a memcpy), run the kernel four lanes at a time, copy the results back.
// Arithmetic is float32 (the float64 JS reference differs by float32 rounding).
import { F32, I32, V128, WA, countDown, instantiate, op, type Code, type WasmFunc } from '../model/wasm-asm.js';
import { adamwCoefficients, shardSegments, type FlatLayout } from './flat-adamw.js';
import type { OptimizerConfig } from './optimizer.js';

const CHUNK = 16384; // floats per staging area
const BYTES = CHUNK * 4;
// staging areas in the private memory: P, G, M, V, then 16 bytes for sumsq's result
const [P, G, M, V, OUT] = [0, BYTES, 2 * BYTES, 3 * BYTES, 4 * BYTES];

/** dst[i] += src[i] for n4 float32x4 vectors. */
function addFunc(): WasmFunc {
  const [dst, src, n4] = [0, 1, 2];
  const body: Code[] = [
    ...countDown(n4, [
      op.get(dst), op.get(dst), op.v128Load(0), op.get(src), op.v128Load(0), op.f32x4Add, op.v128Store(0),
      op.get(dst), op.i32(16), op.i32Add, op.set(dst),
      op.get(src), op.i32(16), op.i32Add, op.set(src),
    ]),
  ];
  return { name: 'add', params: [I32, I32, I32], locals: [], body };
}

/**
 * out (4 lanes) = Σ x² over n16 groups of four vectors, in four accumulators (each lane sums a
 * quarter as many terms as one accumulator would: float32 error bound n16·2⁻²⁴ of the sum).
 */
function sumsqFunc(): WasmFunc {
  const [x, n16, out] = [0, 1, 2];
  const acc = [3, 4, 5, 6];
  const t = 7;
  const group: Code[] = [];
  for (let q = 0; q < 4; q++) group.push(op.get(x), op.v128Load(16 * q), op.set(t), op.get(acc[q]), op.get(t), op.get(t), op.f32x4Mul, op.f32x4Add, op.set(acc[q]));
  const body: Code[] = [
    ...countDown(n16, [
      ...group,
      op.get(x), op.i32(64), op.i32Add, op.set(x),
    ]),
    op.get(out), op.get(acc[0]), op.get(acc[1]), op.f32x4Add, op.get(acc[2]), op.get(acc[3]), op.f32x4Add, op.f32x4Add, op.v128Store(0),
  ];
  return { name: 'sumsq', params: [I32, I32, I32], locals: [V128, V128, V128, V128, V128], body };
}

/**
 * AdamW on n4 vectors of the staging areas P, G, M, V (flat-adamw.ts's update):
 *   ĝ = g·gScale; m ← β1·m + c1·ĝ; v ← β2·v + c2·ĝ²; p ← p·keep − a1·m / (√(v·ib2) + ε).
 */
function adamwFunc(): WasmFunc {
  const n4 = 0;
  const [gScale, b1, c1, b2, c2, a1, ib2, eps, keep] = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const i = 10;
  // splatted constants, then per-element temporaries
  const [sG, sB1, sC1, sB2, sC2, sA1, sIb2, sEps, sKeep, g, m, v] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
  const splat = (from: number, to: number) => [op.get(from), op.f32x4Splat, op.set(to)];
  const at = (base: number) => [op.get(i), op.i32(base), op.i32Add];
  const body: Code[] = [
    splat(gScale, sG), splat(b1, sB1), splat(c1, sC1), splat(b2, sB2), splat(c2, sC2),
    splat(a1, sA1), splat(ib2, sIb2), splat(eps, sEps), splat(keep, sKeep),
    ...countDown(n4, [
      ...at(G), op.v128Load(0), op.get(sG), op.f32x4Mul, op.set(g),
      // m ← β1·m + c1·ĝ
      ...at(M), op.v128Load(0), op.get(sB1), op.f32x4Mul, op.get(sC1), op.get(g), op.f32x4Mul, op.f32x4Add, op.set(m),
      // v ← β2·v + c2·ĝ²
      ...at(V), op.v128Load(0), op.get(sB2), op.f32x4Mul, op.get(sC2), op.get(g), op.f32x4Mul, op.get(g), op.f32x4Mul, op.f32x4Add, op.set(v),
      ...at(M), op.get(m), op.v128Store(0),
      ...at(V), op.get(v), op.v128Store(0),
      // p ← p·keep − a1·m / (√(v·ib2) + ε)
      ...at(P),
      ...at(P), op.v128Load(0), op.get(sKeep), op.f32x4Mul,
      op.get(sA1), op.get(m), op.f32x4Mul,
      op.get(v), op.get(sIb2), op.f32x4Mul, op.f32x4Sqrt, op.get(sEps), op.f32x4Add,
      op.f32x4Div, op.f32x4Sub,
      op.v128Store(0),
      op.get(i), op.i32(16), op.i32Add, op.set(i),
    ]),
  ];
  return { name: 'adamw', params: [I32, F32, F32, F32, F32, F32, F32, F32, F32, F32], locals: [I32, ...new Array<number>(12).fill(V128)] as (typeof I32 | typeof V128)[], body };
}

interface Exports {
  add(dst: number, src: number, n4: number): void;
  sumsq(x: number, n16: number, out: number): void;
  adamw(n4: number, gScale: number, b1: number, c1: number, b2: number, c2: number, a1: number, ib2: number, eps: number, keep: number): void;
}

/** The kernels with their staging memory (one per worker thread). */
export class FlatSimd {
  private readonly k: Exports;
  private readonly f: Float32Array;

  constructor() {
    const mem = new WA.Memory({ initial: Math.ceil((4 * BYTES + 16) / 65536) });
    this.k = instantiate<Exports>([addFunc(), sumsqFunc(), adamwFunc()], mem);
    this.f = new Float32Array(mem.buffer);
  }

  /**
   * out[j] = Σ_r srcs[r][j] for j in [lo, hi) (out may be srcs[0]); returns Σ_j out[j]² (float64
   * sum of float32 per-chunk lane sums).
   */
  sumSlots(out: Float32Array, srcs: Float32Array[], lo: number, hi: number): number {
    const f = this.f;
    let sq = 0;
    for (let a = lo; a < hi; a += CHUNK) {
      const n = Math.min(CHUNK, hi - a);
      const n4 = Math.ceil(n / 4);
      const n16 = Math.ceil(n / 16);
      f.set(srcs[0].subarray(a, a + n), G / 4);
      for (let r = 1; r < srcs.length; r++) {
        f.set(srcs[r].subarray(a, a + n), P / 4);
        this.k.add(G, P, n4);
      }
      f.fill(0, G / 4 + n, G / 4 + 16 * n16); // the padding counts in sumsq
      this.k.sumsq(G, n16, OUT);
      sq += f[OUT / 4] + f[OUT / 4 + 1] + f[OUT / 4 + 2] + f[OUT / 4 + 3];
      out.set(f.subarray(G / 4, G / 4 + n), a);
    }
    return sq;
  }

  /** flat-adamw.ts's adamwShard (same arguments and indexing: m and v at j − lo), in float32 SIMD. */
  adamwShard(layout: FlatLayout, lo: number, hi: number, p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, step: number, lr: number, gScale: number, cfg: Pick<OptimizerConfig, 'beta1' | 'beta2' | 'eps' | 'weightDecay'>): void {
    const { beta1, beta2, eps } = cfg;
    const { a1, ib2 } = adamwCoefficients(cfg, step, lr);
    const f = this.f;
    for (const { a: s, b: e, keep } of shardSegments(layout, lo, hi, cfg, lr)) {
      for (let a = s; a < e; a += CHUNK) {
        const n = Math.min(CHUNK, e - a);
        f.set(p.subarray(a, a + n), P / 4);
        f.set(g.subarray(a, a + n), G / 4);
        f.set(m.subarray(a - lo, a - lo + n), M / 4);
        f.set(v.subarray(a - lo, a - lo + n), V / 4);
        this.k.adamw(Math.ceil(n / 4), gScale, beta1, 1 - beta1, beta2, 1 - beta2, a1, ib2, eps, keep);
        p.set(f.subarray(P / 4, P / 4 + n), a);
        m.set(f.subarray(M / 4, M / 4 + n), a - lo);
        v.set(f.subarray(V / 4, V / 4 + n), a - lo);
      }
    }
  }
}
