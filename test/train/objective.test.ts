// Objectives: coefficients per process, min-SNR weights, token shift, frame masks, and that
// conditioning frames, padding and caption dropout act on the loss as specified.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Denoiser, GridInput } from '../../src/model/types.js';
import { batchMotionWeights, drawAt, drawBatch, drawLevel, lossFromDraw, motionWeights, sampleCondMask } from '../../src/train/objective.js';
import { ObjectiveSchema } from '../../src/train/objective-config.js';
import { alphaBars } from '../../src/train/schedule.js';
import { Rng } from '../../src/util/rng.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rf = ObjectiveSchema.parse({});

describe('noise-process coefficients', () => {
  it('rectified flow: x_t = (1 − t)x0 + tε, v = ε − x0; min-SNR weight t²·min(SNR, γ)', () => {
    expect(drawAt(0.25, rf)).toMatchObject({ t: 0.25, a: 0.75, b: 0.25, ca: -1, cb: 1, w: 1 });
    const w = drawAt(0.5, ObjectiveSchema.parse({ weighting: 'min-snr', minSnrGamma: 5 })).w;
    expect(w).toBeCloseTo(0.25, 12); // SNR = 1
    expect(drawAt(0.1, ObjectiveSchema.parse({ weighting: 'min-snr', minSnrGamma: 5 })).w).toBeCloseTo(0.01 * 5, 12); // SNR = 81 > γ
  });
  it('ddpm eps and v', () => {
    const eps = ObjectiveSchema.parse({ kind: 'ddpm', ddpm: { schedule: 'linear', prediction: 'eps' } });
    const ab = alphaBars(eps.ddpm);
    const d = drawAt(0.5, eps); // k = 499
    expect(d.t).toBe(0.5);
    expect(d.a).toBeCloseTo(Math.sqrt(ab[499]), 12);
    expect([d.ca, d.cb]).toEqual([0, 1]);
    const v = drawAt(0.5, ObjectiveSchema.parse({ kind: 'ddpm', ddpm: { schedule: 'linear', prediction: 'v' }, weighting: 'min-snr' }));
    expect(v.ca).toBeCloseTo(-Math.sqrt(1 - ab[499]), 12);
    expect(v.cb).toBeCloseTo(Math.sqrt(ab[499]), 12);
    const snr = ab[499] / (1 - ab[499]);
    expect(v.w).toBeCloseTo(Math.min(snr, 5) / (snr + 1), 12);
  });
  it('zero terminal SNR with eps-prediction is rejected', () => {
    expect(() => ObjectiveSchema.parse({ kind: 'ddpm', ddpm: { prediction: 'eps', zeroTerminalSnr: true } })).toThrow(/v-prediction/);
  });
  it('more tokens shift t towards noise (logit-normal median 0.5 at shift 1)', () => {
    const mean = (tokens: number) => {
      const rng = new Rng(3);
      let s = 0;
      for (let i = 0; i < 4000; i++) s += drawLevel(tokens, rng, rf).t;
      return s / 4000;
    };
    expect(mean(256)).toBeCloseTo(0.5, 1.5);
    expect(mean(4 * 256)).toBeGreaterThan(mean(256) + 0.1); // shift 2
  });
  it('uniformMix puts the mixed share of draws near t = 1, where the logit-normal has almost none', () => {
    const tail = (mix: number) => {
      const cfg = ObjectiveSchema.parse({ rf: { uniformMix: mix, shiftByTokens: false } });
      const rng = new Rng(9);
      let n = 0;
      for (let i = 0; i < 20000; i++) if (drawLevel(256, rng, cfg).t > 0.95) n++;
      return n / 20000;
    };
    // Closed form at shift 1: P(t > 0.95) = mix·0.05 + (1 − mix)·Φ(−logit 0.95) = mix·0.05 + (1 − mix)·0.00162.
    expect(tail(0)).toBeLessThan(0.0016 + 5 * Math.sqrt(0.0016 / 20000));
    expect(Math.abs(tail(0.3) - (0.3 * 0.05 + 0.7 * 0.00162))).toBeLessThan(5 * Math.sqrt(0.016 / 20000));
    expect(Math.abs(tail(1) - 0.05)).toBeLessThan(5 * Math.sqrt(0.05 / 20000));
    // 0 keeps the logit-normal stream bit for bit.
    const a = new Rng(4), b = new Rng(4);
    const plain = ObjectiveSchema.parse({});
    const zero = ObjectiveSchema.parse({ rf: { uniformMix: 0 } });
    for (let i = 0; i < 50; i++) expect(drawLevel(320, a, zero).t).toBe(drawLevel(320, b, plain).t);
    expect(() => ObjectiveSchema.parse({ rf: { uniformMix: 1.5 } })).toThrow();
  });
});

describe('frame masks', () => {
  const only = (k: string) => ObjectiveSchema.parse({ condModes: { none: 0, first: 0, last: 0, firstLast: 0, prefix: 0, suffix: 0, [k]: 1 } }).condModes;
  it('each mode gives its frames and never all of them', () => {
    const rng = new Rng(1);
    expect([...sampleCondMask(4, rng, only('first'), 0)]).toEqual([1, 0, 0, 0]);
    expect([...sampleCondMask(4, rng, only('last'), 0)]).toEqual([0, 0, 0, 1]);
    expect([...sampleCondMask(4, rng, only('firstLast'), 0)]).toEqual([1, 0, 0, 1]);
    expect([...sampleCondMask(4, rng, only('first'), 1)]).toEqual([0, 0, 0, 0]); // cond dropout
    for (let i = 0; i < 50; i++) {
      const p = [...sampleCondMask(5, rng, only('prefix'), 0)];
      const n = p.filter(Boolean).length;
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThan(5);
      expect(p.slice(0, n).every(Boolean)).toBe(true);
      const s = [...sampleCondMask(5, rng, only('suffix'), 0)];
      expect(s[4]).toBe(1);
      expect(s.filter(Boolean).length).toBeLessThan(5);
    }
    expect([...sampleCondMask(1, rng, only('first'), 0)]).toEqual([0]);
  });
});

describe('lossFromDraw', () => {
  const shape: [number, number, number, number, number] = [2, 3, 2, 2, 2];
  const size = shape.reduce((a, b) => a * b);
  const x0data = new Rng(9).normals(size);
  /** A model that returns the exact target plus `err` on chosen frames; records its inputs. */
  function oracle(target: Float32Array, errFrames: Set<number>, seen: GridInput[] = []): Denoiser {
    return {
      grid(inp) {
        seen.push(inp);
        const out = Float32Array.from(target);
        const per = size / (shape[0] * shape[1]);
        for (const f of errFrames) out.fill(10, f * per, (f + 1) * per);
        return tf.tensor(out, shape) as tf.Tensor5D;
      },
    };
  }
  const text = () => ({ emb: tf.ones([2, 1, 3]) as tf.Tensor3D, mask: tf.ones([2, 1]) as tf.Tensor2D });

  it('zero for the exact target; conditioning frames and padding are excluded; cond frames are clean in x_t', () => {
    const cfg = ObjectiveSchema.parse({ captionDropout: 0, condDropout: 0, condModes: { none: 0, first: 1, last: 0, firstLast: 0, prefix: 0, suffix: 0 } });
    const draw = drawBatch(shape, 12, new Rng(4), cfg);
    const target = new Float32Array(size);
    draw.draws.forEach((d, i) => {
      for (let j = 0; j < size / 2; j++) target[i * (size / 2) + j] = d.ca * x0data[i * (size / 2) + j] + d.cb * draw.noise[i * (size / 2) + j];
    });
    const x0 = tf.tensor(x0data, shape) as tf.Tensor5D;
    const seen: GridInput[] = [];
    // frames 0 and 3 are the first frame of each sample: conditioning, so their error is ignored
    const l0 = lossFromDraw(oracle(target, new Set([0, 3]), seen), { x0, text: text() }, draw);
    expect(l0.loss.dataSync()[0]).toBeCloseTo(0, 6);
    const xt = seen[0].xt.dataSync();
    expect([...xt.slice(0, 8)]).toEqual([...x0data.slice(0, 8)]); // first frame of sample 0 clean
    expect([...seen[0].condMask!.dataSync()]).toEqual([1, 0, 0, 1, 0, 0]);
    // an error on a non-conditioning frame counts: frame 1 of sample 0 → 1/2 of that sample's loss positions
    const l1 = lossFromDraw(oracle(target, new Set([1])), { x0, text: text() }, draw);
    const expected = (Array.from({ length: 8 }, (_, j) => (10 - target[8 + j]) ** 2).reduce((a, b) => a + b) / 8 / 2) / 2;
    expect(l1.loss.dataSync()[0]).toBeCloseTo(expected, 3);
    // the same error on padding (valid = 0) is ignored
    const valid = tf.tensor4d([1, 0, 1, 1, 1, 1].flatMap((v) => [v, v, v, v]), [2, 3, 2, 2]);
    const l2 = lossFromDraw(oracle(target, new Set([1])), { x0, text: text(), valid }, draw);
    expect(l2.loss.dataSync()[0]).toBeCloseTo(0, 6);
  });

  it('caption dropout swaps in the empty-caption embedding', () => {
    const cfg = ObjectiveSchema.parse({ captionDropout: 1 });
    const draw = drawBatch(shape, 12, new Rng(4), cfg);
    const seen: GridInput[] = [];
    const x0 = tf.tensor(x0data, shape) as tf.Tensor5D;
    const nullText = { emb: tf.fill([1, 1, 3], 7) as tf.Tensor3D, mask: tf.ones([1, 1]) as tf.Tensor2D };
    lossFromDraw(oracle(new Float32Array(size), new Set(), seen), { x0, text: text(), nullText }, draw);
    expect([...seen[0].text.emb.dataSync()]).toEqual(new Array(6).fill(7));
    expect(() => lossFromDraw(oracle(new Float32Array(size), new Set()), { x0, text: text() }, draw)).toThrow(/nullText/);
  });
});

describe('motion weighting', () => {
  // A 3-frame 2×2 clip with 2 channels: a static background (1, −1) and one "object" value that
  // moves from position 0 (frame 0) to position 1 (frame 1) to position 3 (frame 2).
  const T = 3;
  const P = 4;
  const C = 2;
  const clip = new Float64Array(T * P * C);
  for (let t = 0; t < T; t++) for (let p = 0; p < P; p++) clip.set([1, -1], (t * P + p) * C);
  const obj: [number, number][] = [[0, 0], [1, 1], [2, 3]];
  for (const [t, p] of obj) clip.set([4, 2], (t * P + p) * C);

  it('closed form: 1 + α·max(0, d − median_t(d))/s, float64 reference; ones when off, for one frame and for a constant clip', () => {
    const alpha = 3;
    // reference, written out: temporal mean per (p, c), d per (t, p), per-frame median, clip spread
    const mu = (p: number, c: number) => (clip[(0 * P + p) * C + c] + clip[(1 * P + p) * C + c] + clip[(2 * P + p) * C + c]) / 3;
    const cm = [0, 1].map((c) => Array.from({ length: T * P }, (_, q) => clip[q * C + c]).reduce((a, b) => a + b) / (T * P));
    const s = Math.sqrt(Array.from(clip, (v, i) => (v - cm[i % C]) ** 2).reduce((a, b) => a + b) / clip.length);
    const want: number[] = [];
    for (let t = 0; t < T; t++) {
      const d = Array.from({ length: P }, (_, p) => Math.sqrt(((clip[(t * P + p) * C] - mu(p, 0)) ** 2 + (clip[(t * P + p) * C + 1] - mu(p, 1)) ** 2) / 2));
      const med = [...d].sort((a, b) => a - b)[1]; // lower middle of 4
      for (let p = 0; p < P; p++) want.push(1 + (alpha * Math.max(0, d[p] - med)) / s);
    }
    const got = motionWeights(clip, [T, 2, 2, C], alpha);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 5));
    // the object's positions get the most weight; position 2, never visited, none in any frame
    for (const [t, p] of obj) expect(got[t * P + p]).toBeGreaterThan(2);
    for (let t = 0; t < T; t++) expect(got[t * P + 2]).toBe(1);
    expect([...motionWeights(clip, [T, 2, 2, C], 0)]).toEqual(new Array(T * P).fill(1));
    expect([...motionWeights(clip.subarray(0, P * C), [1, 2, 2, C], alpha)]).toEqual(new Array(P).fill(1));
    expect([...motionWeights(new Float64Array(T * P * C).fill(0.5), [T, 2, 2, C], alpha)]).toEqual(new Array(T * P).fill(1));
    // a batch is its clips one after another
    const two = new Float32Array(2 * clip.length);
    two.set(clip.map((v) => -v), clip.length);
    two.set(clip, 0);
    const b = batchMotionWeights(two, [2, T, 2, 2, C], alpha);
    expect([...b.subarray(0, T * P)]).toEqual([...motionWeights(Float32Array.from(clip), [T, 2, 2, C], alpha)]);
    expect([...b.subarray(T * P)]).toEqual([...motionWeights(Float32Array.from(clip, (v) => -v), [T, 2, 2, C], alpha)]);
  });

  it('lossFromDraw with posWeight: each sample is the weighted mean of its loss positions (conditioning frames excluded)', () => {
    const shape: [number, number, number, number, number] = [2, T, 2, 2, C];
    const cfg = ObjectiveSchema.parse({ captionDropout: 0, condDropout: 0, condModes: { none: 0, first: 1, last: 0, firstLast: 0, prefix: 0, suffix: 0 } });
    const draw = drawBatch(shape, 6, new Rng(2), cfg);
    const x0 = Float32Array.from([...clip, ...clip.map((v) => 0.5 * v)]);
    const pred = new Rng(5).normals(x0.length);
    const w = batchMotionWeights(x0, shape, 3);
    const model: Denoiser = { grid: () => tf.tensor(pred, shape) as tf.Tensor5D };
    const text = { emb: tf.ones([2, 1, 3]) as tf.Tensor3D, mask: tf.ones([2, 1]) as tf.Tensor2D };
    const out = lossFromDraw(model, { x0: tf.tensor(x0, shape) as tf.Tensor5D, text, posWeight: tf.tensor4d(w, [2, T, 2, 2]) }, draw);
    // float64 reference: target = ca·x0 + cb·ε; frame 0 of each sample is conditioning
    let ref = 0;
    let plain = 0;
    for (let b = 0; b < 2; b++) {
      const d = draw.draws[b];
      let num = 0;
      let den = 0;
      let sum = 0;
      for (let t = 1; t < T; t++)
        for (let p = 0; p < P; p++) {
          let se = 0;
          for (let c = 0; c < C; c++) {
            const i = ((b * T + t) * P + p) * C + c;
            se += (pred[i] - (d.ca * x0[i] + d.cb * draw.noise[i])) ** 2 / C;
          }
          num += w[(b * T + t) * P + p] * se;
          den += w[(b * T + t) * P + p];
          sum += se;
        }
      ref += (d.w * num) / den / 2;
      plain += sum / ((T - 1) * P) / 2;
    }
    expect(out.loss.dataSync()[0]).toBeCloseTo(ref, 4);
    expect(Math.abs(ref - plain)).toBeGreaterThan(0.05 * plain); // the weights matter here
    // perSample stays the unweighted mean (the loss-per-timestep curves)
    const per = out.perSample.dataSync();
    expect(per[0] / 2 + per[1] / 2).toBeCloseTo(plain, 4);
    expect(() => lossFromDraw(model, { x0: tf.tensor(x0, shape) as tf.Tensor5D, text, posWeight: tf.ones([2, T, 2, 1]) as tf.Tensor4D }, draw)).toThrow(/posWeight/);
  });

  it('objective.motionWeight defaults to 0 and refuses negatives', () => {
    expect(rf.motionWeight).toBe(0);
    expect(() => ObjectiveSchema.parse({ motionWeight: -1 })).toThrow();
  });
});
