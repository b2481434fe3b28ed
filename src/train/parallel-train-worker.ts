// One worker of data-parallel training (parallel-train.ts): its own tfjs instance (wasm or cpu)
// and a replica of the system rebuilt from the resolved config and tokenizer, fed the shared
// weights. It answers three messages per step, each with one reply:
//   grads  — load the shared weights if they changed, then forward + backward of its part of every
//            micro-batch (loop.ts gridGradsFromDraw, the single-process code), Σ share·∇ into its
//            slot of the flat gradient buffer (zeros for parameters without a gradient);
//   reduce — slot 0 ← Σ over slots (in slot order) on its range [lo, hi); the squared norm of
//            scale·Σ on that range;
//   apply  — AdamW (flat-adamw.ts's update) on its range of the parameters that got a gradient,
//            into the shared weights, m and v.
// The reduce and AdamW run in SIMD128 through flat-simd.ts.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../model/backend.js';
import { ensureGradients } from '../model/tf-gradients.js';
import { readView } from '../model/wasm-memory.js';
import { BpeTokenizer } from '../model/tokenizer.js';
import { buildSystem, paramLrScale } from './build.js';
import { flatLayout, shardRange } from './flat-adamw.js';
import { FlatSimd } from './flat-simd.js';
import { gridGradsFromDraw } from './loop.js';
import { hostCopy, type FromWorker, type ToWorker, type WorkerArgs } from './parallel-train.js';

const a = workerData as WorkerArgs;
const port = parentPort!;

/** CPU time of this thread in ms (Linux /proc; NaN elsewhere), 10 ms resolution. */
function threadCpuMs(): number {
  try {
    const f = readFileSync('/proc/thread-self/stat', 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10; // utime + stime in 10 ms ticks
  } catch {
    return NaN;
  }
}

await selectBackend(a.backend, { quiet: true });
await ensureGradients();
const system = buildSystem(a.config, BpeTokenizer.fromJSON(a.tokenizer));
const names = [...system.params.keys()];
if (names.join('\n') !== a.names.join('\n')) throw new Error('the rebuilt model has other parameters than the trainer');
const vars = [...system.params.values()];
vars.forEach((p, i) => {
  if (p.shape.join(',') !== a.shapes[i].join(',')) throw new Error(`${names[i]}: shape (${p.shape.join(', ')}), the trainer has (${a.shapes[i].join(', ')})`);
});
const index = new Map(vars.map((p, i) => [p.name, i])); // variable name → parameter index
const layout = flatLayout(a.shapes);
const total = layout.total;
const slots = new Float32Array(a.grads);
const mine = slots.subarray(a.rank * total, (a.rank + 1) * total);
const weights = new Float32Array(a.weights);
const m = new Float32Array(a.m);
const v = new Float32Array(a.v);
const [lo, hi] = shardRange(total, a.rank, a.world);
const slotViews = Array.from({ length: a.world }, (_, r) => slots.subarray(r * total, (r + 1) * total));
const simd = new FlatSimd(); // the reduce and AdamW in SIMD128 (flat-simd.ts)
const lrScale = a.names.map(paramLrScale(a.config)); // per parameter, as the single-process AdamW
let stale = true; // the shared weights changed since they were last loaded

/** Every variable ← its range of the shared weights. */
function loadWeights(): void {
  vars.forEach((p, i) => {
    const t = tf.tensor(hostCopy(weights.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i])), p.shape, 'float32');
    p.assign(t);
    t.dispose();
  });
  stale = false;
}

function grads(msg: Extract<ToWorker, { kind: 'grads' }>): FromWorker {
  const c0 = threadCpuMs();
  if (stale) loadWeights();
  const written = new Uint8Array(vars.length);
  const losses: number[] = [];
  const perLevel: [number, number][][] = [];
  for (const part of msg.parts) {
    if (!part) {
      losses.push(0);
      perLevel.push([]);
      continue;
    }
    const r = gridGradsFromDraw(system.dit, system.encodeText, part.b, part.draw, vars, a.config.objective.motionWeight);
    losses.push(r.loss);
    perLevel.push(r.perLevel);
    for (const [vn, g] of Object.entries(r.grads)) {
      const i = index.get(vn)!;
      const d = readView(g); // no tfjs op runs until the loop below has read it
      const o = mine.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i]);
      if (written[i]) for (let j = 0; j < d.length; j++) o[j] += part.share * d[j];
      else for (let j = 0; j < d.length; j++) o[j] = part.share * d[j];
      written[i] = 1;
      g.dispose();
    }
  }
  written.forEach((w, i) => {
    if (!w) mine.fill(0, layout.offsets[i], layout.offsets[i] + layout.sizes[i]);
  });
  return { kind: 'grads', losses, perLevel, present: written, cpuMs: threadCpuMs() - c0 };
}

function reduce(msg: Extract<ToWorker, { kind: 'reduce' }>): FromWorker {
  // slot 0 ← Σ slots over my range, and the squared norm of the scaled sums
  const sq = simd.sumSlots(slotViews[0], slotViews, lo, hi) * msg.scale * msg.scale;
  return { kind: 'reduce', sq };
}

function apply(msg: Extract<ToWorker, { kind: 'apply' }>): FromWorker {
  const g = slots.subarray(0, total); // slot 0 holds the sums on every worker's range
  layout.offsets.forEach((off, i) => {
    const s = Math.max(lo, off);
    const e = Math.min(hi, off + layout.sizes[i]);
    // m and v are indexed from s (adamwShard's shard-local index j − s)
    if (s < e && msg.present[i]) simd.adamwShard(layout, s, e, weights, g, m.subarray(s), v.subarray(s), msg.step, msg.lr * lrScale[i], msg.gScale, a.config.optimizer);
  });
  stale = true;
  return { kind: 'apply' };
}

port.on('message', (msg: ToWorker) => {
  port.postMessage(msg.kind === 'grads' ? grads(msg) : msg.kind === 'reduce' ? reduce(msg) : apply(msg));
});
port.postMessage({ kind: 'ready' } satisfies FromWorker);
