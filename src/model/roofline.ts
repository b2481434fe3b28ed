// The machine's SIMD128 float32 peak as wasm sees it, measured in-process, so a benchmark figure
// can be recorded beside the speed of the machine that produced it (the 2-core hosts we run on
// differ by 30 % between machines of one kind and drift by as much within a session: 42 vs
// 31.5 GFLOP/s on one machine an hour apart). Twelve independent chains of a = a·x + y on f32x4
// (one multiply and one add per lane per link); twelve keep the multiply and add units busy
// without spilling SIMD128's 16 registers (14 spilled and halved the rate when measured).
import { I32, V128, WA, countDown, instantiate, op, type Code } from './wasm-asm.js';

const CHAINS = 12;

let peak: ((iters: number) => void) | null = null;

function compile(): (iters: number) => void {
  const [iters, x, y, a0] = [0, 1, 2, 3];
  const links: Code[] = [];
  for (let c = 0; c < CHAINS; c++) links.push(op.get(a0 + c), op.get(x), op.f32x4Mul, op.get(y), op.f32x4Add, op.set(a0 + c));
  const sum: Code[] = [];
  for (let c = 1; c < CHAINS; c++) sum.push(op.get(a0 + c), op.f32x4Add);
  const body: Code[] = [
    op.f32Const1, op.f32x4Splat, op.set(x),
    op.v128Zero, op.set(y),
    ...countDown(iters, links),
    // keep the chains live: store their sum
    op.i32(0), op.get(a0), ...sum, op.v128Store(0),
  ];
  const mem = new WA.Memory({ initial: 1 });
  return instantiate<{ peak: (iters: number) => void }>([{ name: 'peak', params: [I32], locals: new Array(2 + CHAINS).fill(V128), body }], mem).peak;
}

/** GFLOP/s of one thread on f32x4 multiply + add chains: the best of `reps` runs of ~`ms` each. */
export function simdPeakGflops(ms = 150, reps = 3): number {
  peak ??= compile();
  peak(100_000); // compile tiers and warm up
  let iters = 1_000_000;
  let t0 = performance.now();
  peak(iters);
  const dt = performance.now() - t0;
  iters = Math.max(1, Math.round((iters * ms) / Math.max(dt, 1e-3)));
  let best = 0;
  for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    peak(iters);
    best = Math.max(best, (iters * CHAINS * 8) / ((performance.now() - t0) * 1e6)); // 4 lanes × (mul + add)
  }
  return best;
}
