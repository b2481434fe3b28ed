// Packing (NaViT) versus bucketing: the same clips with the same draws give the same loss through
// the DiT's packed path (block-diagonal attention) and its grid path, to float tolerance.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDiT } from '../../src/model/dit.js';
import { resolveDiTConfig } from '../../src/model/presets.js';
import type { TextCond } from '../../src/model/types.js';
import { ObjectiveSchema } from '../../src/train/objective-config.js';
import { batchMotionWeights, lossFromDraw } from '../../src/train/objective.js';
import { buildPacked, drawClip, packedLoss, planPacking, type PackClip } from '../../src/train/pack.js';
import { Rng } from '../../src/util/rng.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('planPacking', () => {
  it('first-fit decreasing, deterministic, rejects clips over capacity', () => {
    expect(planPacking([6, 3, 5, 2, 4], 10)).toEqual([[0, 4], [2, 1, 3]]);
    expect(() => planPacking([11], 10)).toThrow(/does not fit/);
  });
});

describe('pack vs bucket', () => {
  it('same loss on the same clips (mixed shapes, conditioning frames, patch padding)', () => {
    const cfg = resolveDiTConfig({ preset: 'DiT-T/2', hidden: 16, depth: 1, heads: 2, textWidth: 8, latentChannels: 2, freqDim: 16 });
    const model = createDiT(cfg, 3);
    // give the zero-initialised output layers some weight so the prediction depends on everything
    const r = new Rng(11);
    for (const [name, v] of model.params) if (/final|adaLN/.test(name)) v.assign(tf.tensor(r.normals(v.size).map((x) => 0.2 * x), v.shape));
    const obj = ObjectiveSchema.parse({ captionDropout: 0.3, condModes: { none: 1, first: 1, last: 0, firstLast: 0, prefix: 1, suffix: 0 } });
    const shapes: [number, number, number, number][] = [[3, 4, 4, 2], [2, 4, 6, 2], [3, 4, 4, 2], [1, 3, 5, 2]];
    const clips: PackClip[] = shapes.map((s, i) => ({ shape: s, x0: new Rng(50 + i).normals(s.reduce((a, b) => a * b)), caption: `clip ${i}` }));
    const rng = new Rng(7);
    const draws = clips.map((c) => drawClip(c, cfg.patch, rng, obj));
    const embOf = (caps: string[]): TextCond => {
      const L = 3;
      const data = new Float32Array(caps.length * L * 8);
      caps.forEach((c, i) => {
        const g = new Rng(c.length * 31 + (c.charCodeAt(c.length - 1) || 0));
        data.set(g.normals(L * 8), i * L * 8);
      });
      return { emb: tf.tensor3d(data, [caps.length, L, 8]), mask: tf.tensor2d(caps.map((c) => [1, 1, c ? 1 : 0]).flat(), [caps.length, L]) };
    };
    // bucket path: each clip alone (B = 1), per-clip losses averaged
    let gridSum = 0;
    clips.forEach((c, i) => {
      const d = draws[i];
      const x0 = tf.tensor5d(c.x0, [1, ...c.shape]);
      const l = lossFromDraw(model, { x0, text: embOf([c.caption]), nullText: embOf(['']) }, { draws: [d.draw], noise: d.noise, condMask: d.condMask, dropText: Float32Array.of(d.dropText) });
      gridSum += l.loss.dataSync()[0];
    });
    const gridLoss = gridSum / clips.length;
    const rows = planPacking(clips.map((c) => Math.ceil(c.shape[0]) * Math.ceil(c.shape[1] / 2) * Math.ceil(c.shape[2] / 2)), 40);
    expect(rows.length).toBe(2);
    const pb = buildPacked(clips, draws, rows, cfg.patch);
    const packed = packedLoss(model, pb, embOf(pb.captions)).dataSync()[0];
    expect(draws.some((d) => d.dropText) && draws.some((d) => d.condMask.some(Boolean))).toBe(true);
    expect(gridLoss).toBeGreaterThan(0.1);
    expect(Math.abs(packed - gridLoss)).toBeLessThan(1e-4 * gridLoss);
    // and packing is not trivially equal: a shuffled draw changes it
    const other = buildPacked(clips, [draws[1], draws[0], draws[2], draws[3]].map((d, i) => ({ ...d, noise: draws[i].noise })), rows, cfg.patch);
    expect(Math.abs(packedLoss(model, other, embOf(other.captions)).dataSync()[0] - gridLoss)).toBeGreaterThan(1e-3);
    // motion weighting (objective.motionWeight): the same weighted loss both ways, and not the unweighted one
    const alpha = 4;
    let gridW = 0;
    clips.forEach((c, i) => {
      const d = draws[i];
      const x0 = tf.tensor5d(c.x0, [1, ...c.shape]);
      const posWeight = tf.tensor4d(batchMotionWeights(c.x0, [1, ...c.shape], alpha), [1, c.shape[0], c.shape[1], c.shape[2]]);
      gridW += lossFromDraw(model, { x0, text: embOf([c.caption]), nullText: embOf(['']), posWeight }, { draws: [d.draw], noise: d.noise, condMask: d.condMask, dropText: Float32Array.of(d.dropText) }).loss.dataSync()[0] / clips.length;
    });
    const pbW = buildPacked(clips, draws, rows, cfg.patch, alpha);
    expect(Math.abs(packedLoss(model, pbW, embOf(pbW.captions)).dataSync()[0] - gridW)).toBeLessThan(1e-4 * gridW);
    expect(Math.abs(gridW - gridLoss)).toBeGreaterThan(1e-3 * gridLoss);
    model.dispose();
  });
});
