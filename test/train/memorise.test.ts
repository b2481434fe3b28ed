// The overfitting check on the wasm backend: the full system (DiT + caption encoder,
// AdamW) memorises 4 synthetic clips — the rendered `synth` scenes pooled to 8×8 "latents" with
// their ground-truth captions — on a fixed noise draw: the rectified-flow loss must fall by 10×.
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { ensureGradients } from '../../src/model/tf-gradients.js';
import { BpeTokenizer } from '../../src/model/tokenizer.js';
import { renderClip } from '../../src/data/synth/index.js';
import { buildSystem } from '../../src/train/build.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { drawBatch, lossFromDraw } from '../../src/train/objective.js';
import { AdamW } from '../../src/train/optimizer.js';
import { Rng } from '../../src/util/rng.js';

/** Frames 0 and 8 of a 64×64 clip, 8×8 average-pooled: (2, 8, 8, 4) with RGB in [−1, 1] + luma. */
function pooledLatent(frames: { width: number; height: number; data: Uint8Array }[]): Float32Array {
  const out = new Float32Array(2 * 8 * 8 * 4);
  [0, 8].forEach((f, ti) => {
    const fr = frames[f];
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) {
        const acc = [0, 0, 0];
        for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) for (let c = 0; c < 3; c++) acc[c] += fr.data[((y * 8 + j) * fr.width + x * 8 + i) * 3 + c];
        const rgb = acc.map((a) => a / 64 / 127.5 - 1);
        out.set([...rgb, (rgb[0] + rgb[1] + rgb[2]) / 3], ((ti * 8 + y) * 8 + x) * 4);
      }
  });
  return out;
}

describe('memorising 4 synthetic clips on wasm', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { quiet: true });
    await ensureGradients();
  });

  it('the loss falls by 10x', () => {
    const rng = new Rng(5);
    const clips = (['bounce', 'roll', 'slide', 'fall'] as const).map((scene) => renderClip({ scene, width: 64, height: 64, frames: 9, fps: 8 }, rng));
    const captions = clips.map((c) => c.caption);
    const tok = BpeTokenizer.train(captions, 300);
    const cfg = parseTrainConfig({
      model: { preset: 'DiT-T/2', hidden: 32, heads: 2, depth: 2, textWidth: 32, freqDim: 16 },
      text: { vocabSize: 300, maxTokens: 24, depth: 1, heads: 2 },
      objective: { captionDropout: 0, condDropout: 0, condModes: { none: 1, first: 0, last: 0, firstLast: 0, prefix: 0, suffix: 0 } },
      optimizer: { weightDecay: 0 },
      seed: 1,
    });
    const sys = buildSystem(cfg, tok);
    const x0 = tf.tensor5d(Float32Array.from(clips.flatMap((c) => [...pooledLatent(c.frames)])), [4, 2, 8, 8, 4]);
    const draw = drawBatch(x0.shape, 32, new Rng(9), cfg.objective);
    const opt = new AdamW(sys.params, cfg.optimizer);
    const vars = [...sys.params.values()];
    const names = [...sys.params.keys()];
    const lossNow = () => tf.tidy(() => lossFromDraw(sys.dit, { x0, text: sys.encodeText(captions) }, draw).loss.dataSync()[0]);
    const l0 = lossNow();
    for (let i = 0; i < 120; i++) {
      const { grads } = tf.variableGrads(() => lossFromDraw(sys.dit, { x0, text: sys.encodeText(captions) }, draw).loss, vars);
      const byName: Record<string, tf.Tensor> = {};
      vars.forEach((v, k) => (byName[names[k]] = grads[v.name]));
      opt.apply(byName, 3e-3);
      tf.dispose(Object.values(grads));
    }
    const l1 = lossNow();
    process.stderr.write(`memorise: loss ${l0.toFixed(4)} -> ${l1.toFixed(4)} (${(l0 / l1).toFixed(1)}x)\n`);
    expect(l1).toBeLessThan(l0 / 10);
    x0.dispose();
    sys.dispose();
  });
});
