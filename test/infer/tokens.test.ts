// Pure-JS patchify (used by the ONNX pipeline) against the tfjs implementation, exactly.
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/model/backend.js';
import { gridPositions, patchify, unpatchify } from '../../src/model/patchify.js';
import { gridPositionsData, patchifyData, unpatchifyData } from '../../src/infer/tokens.js';
import { Rng } from '../../src/util/rng.js';

beforeAll(async () => {
  await selectBackend('cpu', { quiet: true });
});

describe('pure-JS patchify', () => {
  for (const [shape, patch] of [
    [[2, 4, 6, 8, 3], [1, 2, 2]],
    [[1, 5, 7, 9, 2], [2, 2, 2]],
    [[1, 1, 4, 4, 4], [1, 2, 2]],
    [[3, 3, 5, 3, 1], [2, 3, 2]],
  ] as const) {
    it(`matches tfjs patchify for shape (${shape.join(',')}) patch (${patch.join(',')}) and inverts exactly`, () => {
      const x = new Rng(7).normals(shape.reduce((a, b) => a * b, 1));
      const ref = patchify(tf.tensor5d(x, [...shape]), patch);
      const got = patchifyData(x, shape, patch);
      expect(got.grid).toEqual(ref.grid);
      expect(Array.from(got.tokens)).toEqual(Array.from(ref.tokens.dataSync()));
      expect(Array.from(gridPositionsData(got.grid))).toEqual(Array.from(gridPositions(ref.grid)));
      const back = unpatchifyData(got.tokens, shape, patch);
      expect(Array.from(back)).toEqual(Array.from(x));
      const refBack = unpatchify(ref.tokens, ref.grid, patch, shape.slice(1) as unknown as [number, number, number, number]);
      expect(Array.from(refBack.dataSync())).toEqual(Array.from(back));
      tf.dispose([ref.tokens, ref.valid, refBack]);
    });
  }
});
