#!/usr/bin/env node
// `npm run bench`: engine benchmarks on the built package, written to bench.json (or --out FILE).
//  - DiT-bench training step (tokens/s, ms/step median of ≥ 10 steps after warm-up, per-op
//    profile) on every backend that starts here (wasm always, with our matmul kernels and with
//    tfjs-wasm's own for comparison; tfjs-node when installed), and on wasm with 2 data-parallel
//    workers (the configuration for the 1000 tokens/s target on 2 cores);
//  - generation: ms per DiT evaluation and seconds per 30-step clip, onnxruntime-node vs tfjs.
// Figures go to the issue notes; targets live here, not in timed tests.
import { writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import { benchDiT } from '../dist/model/bench.js';
import { benchGeneration } from '../dist/infer/bench.js';
import { benchDataParallel } from '../dist/model/parallel.js';
import { simdPeakGflops } from '../dist/model/roofline.js';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = flag('out', 'bench.json');
const steps = Number(flag('steps', '10'));
const result = { date: new Date().toISOString(), host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load: os.loadavg(), simdPeakGflops: simdPeakGflops() }, train: [], trainParallel: null, generation: null, targets: { trainTokensPerSecWasm: 1000 } };

const runs = flag('backends', 'wasm,tensorflow').split(',').flatMap((b) => (b === 'wasm' ? [[b, 'spacetime'], [b, 'tfjs']] : [[b, 'spacetime']]));
for (const [backend, gemm] of runs) {
  const label = backend === 'wasm' ? `wasm (matmul: ${gemm})` : backend;
  try {
    const r = await benchDiT({ backend, steps, warmup: 2, gemm });
    result.train.push({ ...r, stepMs: r.stepMs, profile: r.profile.slice(0, 20) });
    console.log(`train ${label}: ${r.trainTokensPerSec.toFixed(0)} tokens/s, ${r.trainMs.toFixed(0)} ms/step (median of ${r.stepMs.length}), forward ${r.forwardMs.toFixed(0)} ms`);
  } catch (e) {
    console.log(`train ${label}: skipped (${e.message})`);
  }
}
if (os.cpus().length >= 2) {
  const p = await benchDataParallel({ workers: 2, preset: 'DiT-bench', steps, warmup: 2, batch: 4 });
  result.trainParallel = p;
  console.log(`train wasm, 2 data-parallel workers: ${p.trainTokensPerSec.toFixed(0)} tokens/s, ${p.trainMs.toFixed(0)} ms/step (replicas in sync: ${p.replicasInSync})`);
}
const g = await benchGeneration({ backend: 'wasm', steps: 30 });
result.generation = g;
console.log(`generate (DiT-bench, ${g.tokens} tokens, CFG batch 2, 30 steps): onnxruntime ${g.onnx.msPerEval.toFixed(0)} ms/eval → ${g.onnx.secondsPerClip.toFixed(1)} s/clip; tfjs-${g.tfjs.backend} ${g.tfjs.msPerEval.toFixed(0)} ms/eval → ${g.tfjs.secondsPerClip.toFixed(1)} s/clip (${g.speedup.toFixed(1)}x)`);
result.host.simdPeakGflopsAfter = simdPeakGflops(); // the machine's speed at both ends of the run
console.log(`machine: wasm SIMD128 peak ${result.host.simdPeakGflops.toFixed(1)} GFLOP/s before, ${result.host.simdPeakGflopsAfter.toFixed(1)} after (one thread)`);
writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 2) + '\n');
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}`);
