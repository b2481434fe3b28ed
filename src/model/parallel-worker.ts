// One data-parallel worker of the DiT benchmark (parallel.ts): its own tfjs + wasm instance, its
// own shard of the batch, and a synchronous gradient all-reduce through a SharedArrayBuffer
// (data parallelism as in Goyal et al. 2017, "Accurate, Large Minibatch SGD"): every worker writes
// its gradients into its slot, waits at a barrier, averages all slots in the same order (so every
// replica applies bit-identical updates), and waits again before the slots are reused.
import * as tf from '@tensorflow/tfjs-core';
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from './backend.js';
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
  grads: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
}

const a = workerData as WorkerArgs;
const ctrl = new Int32Array(a.ctrl);

/** Block until every worker has arrived `round` times. */
function barrier(round: number): void {
  const target = round * a.world;
  if (Atomics.add(ctrl, 0, 1) + 1 >= target) {
    Atomics.notify(ctrl, 0);
    return;
  }
  for (let cur = Atomics.load(ctrl, 0); cur < target; cur = Atomics.load(ctrl, 0)) Atomics.wait(ctrl, 0, cur);
}

await selectBackend('wasm', { quiet: true });
await ensureGradients();
const cfg = resolveDiTConfig(a.preset);
const model = createDiT(cfg, a.seed);
for (const v of model.params.values()) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.02, 'float32', a.seed + 7))));
const vars = [...model.params.values()];
const offsets: number[] = [];
let total = 0;
for (const v of vars) {
  offsets.push(total);
  total += v.size;
}
const slots = new Float32Array(a.grads);
const mine = slots.subarray(a.rank * total, (a.rank + 1) * total);
const s = a.seed + 1000 * (a.rank + 1);
const x0 = tf.randomNormal([a.shard, a.frames, a.size, a.size, cfg.latentChannels], 0, 1, 'float32', s) as tf.Tensor5D;
const eps = tf.randomNormal(x0.shape, 0, 1, 'float32', s + 1) as tf.Tensor5D;
const t = tf.randomUniform([a.shard], 0, 1, 'float32', s + 2) as tf.Tensor1D;
const text = { emb: tf.randomNormal([a.shard, a.textLen, cfg.textWidth], 0, 1, 'float32', s + 3) as tf.Tensor3D, mask: tf.ones([a.shard, a.textLen]) as tf.Tensor2D };
const avg = new Float32Array(total);

for (let step = 0; step < a.steps; step++) {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const tb = tf.reshape(t, [-1, 1, 1, 1, 1]); // (b, 1, 1, 1, 1)
        const xt = tf.add(tf.mul(tf.sub(1, tb), x0), tf.mul(tb, eps)) as tf.Tensor5D; // (b, T, H, W, C)
        return tf.mean(tf.square(tf.sub(model.grid({ xt, t, text }), tf.sub(eps, x0)))) as tf.Scalar;
      }),
    vars,
  );
  vars.forEach((v, i) => mine.set(grads[v.name].dataSync() as Float32Array, offsets[i]));
  const loss = value.dataSync()[0];
  value.dispose();
  tf.dispose(grads);
  const tCompute = performance.now();
  barrier(2 * step + 1);
  avg.set(slots.subarray(0, total));
  for (let r = 1; r < a.world; r++) {
    const o = slots.subarray(r * total, (r + 1) * total);
    for (let j = 0; j < total; j++) avg[j] += o[j];
  }
  tf.tidy(() => {
    vars.forEach((v, i) => v.assign(tf.sub(v, tf.mul(tf.tensor(avg.subarray(offsets[i], offsets[i] + v.size), v.shape), a.lr / a.world))));
  });
  barrier(2 * step + 2);
  parentPort?.postMessage({ kind: 'step', rank: a.rank, step, loss, computeMs: tCompute - t0, ms: performance.now() - t0 });
}
let checksum = 0;
for (const v of vars) checksum += tf.tidy(() => tf.sum(tf.abs(v)).dataSync()[0]);
parentPort?.postMessage({ kind: 'done', rank: a.rank, checksum });
model.dispose();
