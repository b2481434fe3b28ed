// Preprocessing resize: PyTorch-style half-pixel bilinear/bicubic without antialiasing, crop.
import { describe, expect, it } from 'vitest';
import { centerCrop, resizeImage, shorterSide } from '../../src/eval/resize.js';

describe('resize', () => {
  it('bilinear uses half-pixel centres (torch align_corners=False, antialias=False)', () => {
    const row = new Float32Array([0, 1, 2, 3]);
    expect([...resizeImage(row, 4, 1, 1, 2, 1, 'bilinear')]).toEqual([0.5, 2.5]);
    // upscale 2 → 4: sources −0.25, 0.25, 0.75, 1.25 clamped at the edges
    expect([...resizeImage(new Float32Array([0, 4]), 2, 1, 1, 4, 1, 'bilinear')]).toEqual([0, 1, 3, 4]);
  });
  it('bicubic (a = −0.75) keeps constants and linear ramps inside the image', () => {
    const c = resizeImage(new Float32Array(6 * 6 * 3).fill(7), 6, 6, 3, 4, 5, 'bicubic');
    for (const v of c) expect(v).toBeCloseTo(7, 5);
    const ramp = Float32Array.from({ length: 16 }, (_, i) => i);
    const r = resizeImage(ramp, 16, 1, 1, 8, 1, 'bicubic');
    for (let o = 2; o < 6; o++) expect(r[o]).toBeCloseTo((o + 0.5) * 2 - 0.5, 4);
  });
  it('shorter side and centre crop follow torchvision', () => {
    expect(shorterSide(320, 240, 224)).toEqual([298, 224]);
    expect(shorterSide(240, 320, 224)).toEqual([224, 298]);
    const img = Float32Array.from({ length: 4 * 3 }, (_, i) => i); // 4 wide, 3 high, 1 channel
    expect([...centerCrop(img, 4, 3, 1, 2, 1)]).toEqual([5, 6]);
  });
});
