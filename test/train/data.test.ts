// Mirror augmentation (data.hflip): the caption mirror, the latent flip against an index-formula
// reference, and the sample draw (which rows flip, that the stored latents are untouched, and that
// hflip = 0 keeps the random stream of runs without the augmentation).
import { describe, expect, it } from 'vitest';
import { sampleLatent, type LatentRow } from '../../src/data/shards.js';
import { drawSample, flipLatentW, gatherBatch, mirrorCaption, type LatentDataset } from '../../src/train/data.js';
import { Rng } from '../../src/util/rng.js';

describe('mirrorCaption', () => {
  it('swaps the whole words left and right, keeping capitals', () => {
    expect(mirrorCaption('A red ball falls from the top left and rolls from left to right.')).toBe('A red ball falls from the top right and rolls from right to left.');
    expect(mirrorCaption('Left of the wall; RIGHT of the box; right.')).toBe('Right of the wall; LEFT of the box; left.');
    expect(mirrorCaption('The camera pans left.')).toBe('The camera pans right.');
    // other words containing the letters stay: bright, upright, leftover, rightmost
    expect(mirrorCaption('a bright upright leftover rightmost ball')).toBe('a bright upright leftover rightmost ball');
    expect(mirrorCaption(mirrorCaption('from left to right, top right'))).toBe('from left to right, top right');
    expect(mirrorCaption('')).toBe('');
  });
});

/** out[t, h, w, c] = in[t, h, W − 1 − w, c], written from the index formula. */
function flipRef(x: Float32Array, [T, H, W, C]: [number, number, number, number]): Float32Array {
  const y = new Float32Array(x.length);
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) y[((t * H + h) * W + w) * C + c] = x[((t * H + h) * W + (W - 1 - w)) * C + c];
  return y;
}

describe('flipLatentW', () => {
  it('matches the index formula for odd and even widths and is its own inverse', () => {
    for (const shape of [[2, 3, 4, 2], [1, 2, 5, 3], [3, 1, 1, 4]] as [number, number, number, number][]) {
      const x = new Rng(7).normals(shape.reduce((a, b) => a * b));
      const ref = flipRef(x, shape);
      const y = flipLatentW(x.slice(), shape);
      expect(Array.from(y)).toEqual(Array.from(ref));
      expect(Array.from(flipLatentW(y, shape))).toEqual(Array.from(x));
    }
    expect(() => flipLatentW(new Float32Array(5), [1, 1, 2, 2])).toThrow(/5 values for shape 1x1x2x2/);
  });
});

function dataset(stats: 'mean' | 'mean_logvar', n: number): LatentDataset {
  const shape: [number, number, number, number] = [2, 2, 3, 2];
  const C2 = stats === 'mean' ? 2 : 4;
  const rng = new Rng(11);
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `c${i}`,
    latent: rng.normals(2 * 2 * 3 * C2),
    shape: [2, 2, 3, C2] as [number, number, number, number],
    fps: 8,
    caption: i % 2 ? 'a ball rolls from left to right' : 'a box slides from right to left',
    caption_source: 'test',
    width: 24,
    height: 16,
    frames: 5,
    bucket: '2x2x3',
  })) as LatentRow[];
  return { dir: 'mem', rows, stats, shapes: rows.map(() => shape), vaeId: 'test' };
}

describe('drawSample / gatherBatch with hflip', () => {
  it('hflip = 0 draws exactly the latents of a plain sampler (same random stream)', () => {
    const ds = dataset('mean_logvar', 4);
    const b = gatherBatch(ds, [0, 1, 2, 3], new Rng(5), 1.5, 0);
    const ref = new Rng(5);
    const want = ds.rows.flatMap((r) => Array.from(sampleLatent(r, ds.stats, ref)).map((v) => Math.fround(v * 1.5)));
    expect(Array.from(b.x0)).toEqual(want);
    expect(b.captions).toEqual(ds.rows.map((r) => r.caption));
  });

  it('hflip = 1 mirrors every sample: flipped latent, mirrored caption; the flip draw follows the latent draw', () => {
    const ds = dataset('mean_logvar', 3);
    const b = gatherBatch(ds, [0, 1, 2], new Rng(5), 2, 1);
    const ref = new Rng(5);
    const per = 2 * 2 * 3 * 2;
    ds.rows.forEach((r, i) => {
      const z = sampleLatent(r, ds.stats, ref).map((v) => v * 2);
      ref.uniform();
      expect(Array.from(b.x0.subarray(i * per, (i + 1) * per))).toEqual(Array.from(flipRef(z, ds.shapes[i])));
      expect(b.captions[i]).toBe(mirrorCaption(r.caption));
      expect(b.captions[i]).not.toBe(r.caption);
    });
  });

  it('hflip = 0.5 mirrors about half the draws, latent and caption together, and never changes the stored rows', () => {
    const ds = dataset('mean', 1);
    const stored = ds.rows[0].latent.slice();
    const rng = new Rng(9);
    const scaled = stored.map((v) => v * 3);
    const flipped = flipRef(scaled, ds.shapes[0]);
    let nFlip = 0;
    for (let k = 0; k < 400; k++) {
      const d = drawSample(ds, 0, rng, 3, 0.5);
      const isFlip = d.caption !== ds.rows[0].caption;
      expect(Array.from(d.z)).toEqual(Array.from(isFlip ? flipped : scaled));
      if (isFlip) expect(d.caption).toBe('a box slides from left to right');
      nFlip += isFlip ? 1 : 0;
    }
    // Binomial(400, 0.5): mean 200, sd 10; ±50 is 5 sd
    expect(nFlip).toBeGreaterThan(150);
    expect(nFlip).toBeLessThan(250);
    expect(Array.from(ds.rows[0].latent)).toEqual(Array.from(stored));
  });
});
