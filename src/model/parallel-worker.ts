// One data-parallel worker of the DiT benchmark (parallel.ts): its own tfjs + wasm instance, its
// own shard of the batch, and a synchronous exchange through SharedArrayBuffers (data parallelism
// as in Goyal et al. 2017, "Accurate, Large Minibatch SGD", with the optimizer state sharded as in
// ZeRO stage 1, Rajbhandari et al. 2020). Per step:
//   1. forward + backward on the local shard; the gradients go into this worker's slot of one
//      flat buffer (one copy per parameter from a view of the wasm heap, no per-parameter exchange);
//   2. barrier; each worker sums the slots over its own range of the flat parameter vector only
//      (reduce-scatter) and publishes the sum of squares of its range;
//   3. barrier; the global norm gives the clipping factor; each worker runs AdamW (flat-adamw.ts's
//      update, in SIMD128 by train/flat-simd.ts) on its range, writing the new values into the
//      shared weight buffer;
//   4. barrier; every worker uploads the whole shared weight buffer into its variables (all-gather).
// The sums run over the slots in the same order everywhere, so every replica holds bit-identical
// weights after each step.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { flatLayout, shardRange } from '../train/flat-adamw.js';
import { FlatSimd } from '../train/flat-simd.js';
import { selectBackend } from './backend.js';
import { readView } from './wasm-memory.js';
import { createDiT } from './dit.js';
import { resolveDiTConfig } from './presets.js';
import { ensureGradients } from './tf-gradients.js';

interface WorkerArgs {
  preset: string;
  rank: number;
  world: number;
  shard: number;
  frames: number;
  size: number;
  textLen: number;
  steps: number;
  seed: number;
  lr: number;
  clipNorm: number;
  grads: SharedArrayBuffer; // world × total float32
  weights: SharedArrayBuffer; // total float32
  norms: SharedArrayBuffer; // world float64
  ctrl: SharedArrayBuffer; // int32 barrier counter
}

const a = workerData as WorkerArgs;
const ctrl = new Int32Array(a.ctrl);
let round = 0;

/** Block until every worker has arrived here as often as this one. */
function barrier(): void {
  const target = ++round * a.world;
  if (Atomics.add(ctrl, 0, 1) + 1 >= target) {
    Atomics.notify(ctrl, 0);
    return;
  }
  for (let cur = Atomics.load(ctrl, 0); cur < target; cur = Atomics.load(ctrl, 0)) Atomics.wait(ctrl, 0, cur);
}

/** CPU time of the calling thread in ms (Linux /proc; NaN elsewhere), 10 ms resolution. */
function threadCpuMs(): number {
  try {
    const f = readFileSync('/proc/thread-self/stat', 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10; // utime + stime, clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

await selectBackend('wasm', { quiet: true });
await ensureGradients();
const cfg = resolveDiTConfig(a.preset);
const model = createDiT(cfg, a.seed);
const vars = [...model.params.values()];
const layout = flatLayout(vars.map((v) => v.shape));
const total = layout.total;
const slots = new Float32Array(a.grads);
const weights = new Float32Array(a.weights);
const norms = new Float64Array(a.norms);
const mine = slots.subarray(a.rank * total, (a.rank + 1) * total);
const [lo, hi] = shardRange(total, a.rank, a.world);
const gsum = new Float32Array(total); // only [lo, hi) is used
const m = new Float32Array(hi - lo);
const v = new Float32Array(hi - lo);
const slotViews = Array.from({ length: a.world }, (_, r) => slots.subarray(r * total, (r + 1) * total));
const simd = new FlatSimd(); // the reduce and AdamW in SIMD128 (train/flat-simd.ts)

/** Every variable ← its range of the shared weight buffer. */
function upload(): void {
  vars.forEach((p, i) => {
    const t = tf.tensor(weights.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i]), p.shape);
    p.assign(t);
    t.dispose();
  });
}

// Rank 0 publishes the initial weights (perturbed so that adaLN-Zero's gates carry work; tfjs
// treats seed 0 as "unseeded", hence the offset); everyone starts from them.
if (a.rank === 0) {
  for (const p of vars) tf.tidy(() => p.assign(tf.add(p, tf.randomNormal(p.shape, 0, 0.02, 'float32', a.seed + 7))));
  vars.forEach((p, i) => weights.set(p.dataSync() as Float32Array, layout.offsets[i]));
}
barrier();
upload();

const s = a.seed + 1000 * (a.rank + 1);
const x0 = tf.randomNormal([a.shard, a.frames, a.size, a.size, cfg.latentChannels], 0, 1, 'float32', s) as tf.Tensor5D;
const eps = tf.randomNormal(x0.shape, 0, 1, 'float32', s + 1) as tf.Tensor5D;
const t = tf.randomUniform([a.shard], 0, 1, 'float32', s + 2) as tf.Tensor1D;
const text = { emb: tf.randomNormal([a.shard, a.textLen, cfg.textWidth], 0, 1, 'float32', s + 3) as tf.Tensor3D, mask: tf.ones([a.shard, a.textLen]) as tf.Tensor2D };

for (let step = 0; step < a.steps; step++) {
  const t0 = performance.now();
  const c0 = threadCpuMs();
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const tb = tf.reshape(t, [-1, 1, 1, 1, 1]); // (b, 1, 1, 1, 1)
        const xt = tf.add(tf.mul(tf.sub(1, tb), x0), tf.mul(tb, eps)) as tf.Tensor5D; // (b, T, H, W, C)
        return tf.mean(tf.square(tf.sub(model.grid({ xt, t, text }), tf.sub(eps, x0)))) as tf.Scalar;
      }),
    vars,
  );
  const tCompute = performance.now();
  vars.forEach((p, i) => mine.set(readView(grads[p.name]), layout.offsets[i]));
  const loss = value.dataSync()[0];
  value.dispose();
  tf.dispose(grads);
  const tRead = performance.now();
  barrier();
  const tWait1 = performance.now();
  // reduce-scatter: the sum over workers of my range, and its squared norm
  const sq = simd.sumSlots(gsum, slotViews, lo, hi);
  norms[a.rank] = sq / (a.world * a.world);
  barrier();
  let norm2 = 0;
  for (let r = 0; r < a.world; r++) norm2 += norms[r];
  const norm = Math.sqrt(norm2);
  const clip = a.clipNorm > 0 && norm > a.clipNorm ? a.clipNorm / (norm + 1e-6) : 1;
  simd.adamwShard(layout, lo, hi, weights, gsum, m, v, step + 1, a.lr, clip / a.world, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const tOpt = performance.now();
  barrier();
  const tWait2 = performance.now();
  upload();
  const tEnd = performance.now();
  parentPort?.postMessage({
    kind: 'step',
    rank: a.rank,
    step,
    loss,
    ms: tEnd - t0,
    cpuMs: threadCpuMs() - c0,
    parts: { compute: tCompute - t0, readGrads: tRead - tCompute, wait: tWait1 - tRead + (tWait2 - tOpt), reduceAndAdamW: tOpt - tWait1, upload: tEnd - tWait2 },
  });
}
let checksum = 0;
for (const p of vars) checksum += tf.tidy(() => tf.sum(tf.abs(p)).dataSync()[0]);
parentPort?.postMessage({ kind: 'done', rank: a.rank, checksum });
model.dispose();
