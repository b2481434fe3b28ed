#!/usr/bin/env node
// DiT training-step benchmark (src/model/bench.ts) on the built package: `npm run build` first, then
//   node scripts/bench-dit.mjs [--backend wasm|cpu|tensorflow] [--attention auto|looped|batched]
//                              [--steps 10] [--warmup 2] [--batch 4] [--preset DiT-bench] [--json FILE]
//                              [--workers N]   (N > 1: data-parallel worker_threads, src/model/parallel.ts)
//                              [--gemm spacetime|tfjs]   (wasm matmul kernels: ours, src/model/wasm-gemm.ts, or
//                                                         tfjs-wasm's own; workers: set SPACETIME_GEMM=tfjs)
import { writeFileSync } from 'node:fs';
import { benchDiT } from '../dist/model/bench.js';
import { benchDataParallel } from '../dist/model/parallel.js';
import { simdPeakGflops } from '../dist/model/roofline.js';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const num = (name, dflt) => Number(flag(name, String(dflt)));
const workers = num('workers', 1);
// the machine's speed now (src/model/roofline.ts): figures are comparable only at similar peaks
const peakBefore = simdPeakGflops();
const peakLine = () => `machine: wasm SIMD128 peak ${peakBefore.toFixed(1)} GFLOP/s before, ${simdPeakGflops().toFixed(1)} after (one thread)`;
if (workers > 1) {
  const p = await benchDataParallel({ workers, preset: flag('preset', 'DiT-bench'), steps: num('steps', 10), warmup: num('warmup', 2), batch: num('batch', 4) });
  console.log(`data-parallel wasm, ${p.workers} workers, ${p.tokensPerStep} tokens/step, replicas in sync: ${p.replicasInSync}`);
  console.log(`train step: median ${p.trainMs.toFixed(1)} ms → ${p.trainTokensPerSec.toFixed(1)} tokens/s   (steps: ${p.stepMs.map((x) => x.toFixed(0)).join(', ')}; per-worker compute median ${p.computeMs.toFixed(0)} ms)`);
  console.log(`worker thread CPU time per step: ${p.workerCpuMs.map((x) => x.toFixed(0)).join(', ')} ms → ${p.cpuTokensPerSec.toFixed(1)} tokens/s with a free core per worker`);
  p.parts.forEach((q, r) => console.log(`  worker ${r}: ${Object.entries(q).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')} ms`));
  console.log(peakLine());
  const out = flag('json');
  if (out) writeFileSync(out, JSON.stringify({ ...p, simdPeakGflops: peakBefore }, null, 2));
  process.exit(0);
}
const r = await benchDiT({
  preset: flag('preset', 'DiT-bench'),
  backend: flag('backend', 'wasm'),
  attention: flag('attention', 'auto'),
  steps: num('steps', 10),
  warmup: num('warmup', 2),
  batch: num('batch', 4),
  profile: flag('profile', 'yes') !== 'no',
  gemm: flag('gemm', 'spacetime'),
});
const f = (x) => x.toFixed(1);
console.log(`backend ${r.backend}, matmul ${r.gemm}, attention ${r.attention}, ${r.preset} (${(r.params / 1e6).toFixed(2)}M params), ${r.tokensPerStep} tokens/step`);
console.log(`train step: median ${f(r.trainMs)} ms → ${f(r.trainTokensPerSec)} tokens/s   (steps: ${r.stepMs.map(f).join(', ')})`);
console.log(`forward only: median ${f(r.forwardMs)} ms → ${f((r.tokensPerStep * 1000) / r.forwardMs)} tokens/s`);
console.log(`process CPU time (≈ wall time on an idle core): train ${f(r.trainCpuMs)} ms/step → ${f(r.cpuTokensPerSec)} tokens/s, forward ${f(r.forwardCpuMs)} ms`);
if (r.profile.length > 0) {
  console.log(`profile of one step: kernels ${f(r.profileTotalMs)} ms of ${f(r.profileWallMs)} ms wall (rest: JS, host copies, profiler)`);
  console.log('  ("unnamed scope" = tf.customGrad calls; their time includes the kernels nested in them)');
  for (const k of r.profile.slice(0, 15)) console.log(`  ${k.kernel.padEnd(20)} ${f(k.ms).padStart(8)} ms  ${String(k.calls).padStart(5)} calls  ${f((100 * k.ms) / r.profileTotalMs).padStart(5)}%`);
}
console.log(peakLine());
const out = flag('json');
if (out) writeFileSync(out, JSON.stringify({ ...r, simdPeakGflops: peakBefore }, null, 2));
