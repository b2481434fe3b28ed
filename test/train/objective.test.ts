// Objectives: coefficients per process, min-SNR weights, token shift, frame masks, and that
// conditioning frames, padding and caption dropout act on the loss as specified.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Denoiser, GridInput } from '../../src/model/types.js';
import { drawAt, drawBatch, drawLevel, lossFromDraw, sampleCondMask } from '../../src/train/objective.js';
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
