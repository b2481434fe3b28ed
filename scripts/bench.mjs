#!/usr/bin/env node
// `npm run bench`: engine benchmarks on the built package, written to bench.json (or --out FILE).
//  - DiT-bench training step (tokens/s, ms/step median of ≥ 10 steps after warm-up, per-op
//    profile) on every backend that starts here (wasm always; tfjs-node when installed);
//  - generation: ms per DiT evaluation and seconds per 30-step clip, onnxruntime-node vs tfjs.
// Figures go to the issue notes; targets live here, not in timed tests.
import { writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import { benchDiT } from '../dist/model/bench.js';
import { benchGeneration } from '../dist/infer/bench.js';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = flag('out', 'bench.json');
const steps = Number(flag('steps', '10'));
const result = { date: new Date().toISOString(), host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load: os.loadavg() }, train: [], generation: null, targets: { trainTokensPerSecWasm: 1000 } };

for (const backend of (flag('backends', 'wasm,tensorflow')).split(',')) {
  try {
    const r = await benchDiT({ backend, steps, warmup: 2 });
    result.train.push({ ...r, stepMs: r.stepMs, profile: r.profile.slice(0, 20) });
    console.log(`train ${backend}: ${r.trainTokensPerSec.toFixed(0)} tokens/s, ${r.trainMs.toFixed(0)} ms/step (median of ${r.stepMs.length}), forward ${r.forwardMs.toFixed(0)} ms`);
  } catch (e) {
    console.log(`train ${backend}: skipped (${e.message})`);
  }
}
const g = await benchGeneration({ backend: 'wasm', steps: 30 });
result.generation = g;
console.log(`generate (DiT-bench, ${g.tokens} tokens, CFG batch 2, 30 steps): onnxruntime ${g.onnx.msPerEval.toFixed(0)} ms/eval → ${g.onnx.secondsPerClip.toFixed(1)} s/clip; tfjs-${g.tfjs.backend} ${g.tfjs.msPerEval.toFixed(0)} ms/eval → ${g.tfjs.secondsPerClip.toFixed(1)} s/clip (${g.speedup.toFixed(1)}x)`);
writeFileSync(`${out}.tmp`, JSON.stringify(result, null, 2) + '\n');
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}`);
