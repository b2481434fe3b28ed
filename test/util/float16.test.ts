// float16 / bfloat16 conversions checked on known IEEE 754 binary16 bit patterns.
import { describe, expect, it } from 'vitest';
import { float16Bits, fromBfloat16, fromFloat16, toBfloat16, toFloat16 } from '../../src/util/float16.js';

const h = (xs: number[]) => Array.from(toFloat16(new Float32Array(xs)));

describe('toFloat16', () => {
  it('encodes known values', () => {
    expect(h([1, -2, 0, -0, 0.5, 65504, 2 ** -24, 2 ** -14, 1023 * 2 ** -24, 0.333251953125])).toEqual([
      0x3c00, 0xc000, 0x0000, 0x8000, 0x3800, 0x7bff, 0x0001, 0x0400, 0x03ff, 0x3555,
    ]);
  });
  it('handles inf, nan and overflow', () => {
    expect(h([Infinity, -Infinity, 1e6, -70000])).toEqual([0x7c00, 0xfc00, 0x7c00, 0xfc00]);
    const [n] = h([NaN]);
    expect(n & 0x7c00).toBe(0x7c00);
    expect(n & 0x3ff).not.toBe(0);
  });
  it('rounds to nearest, ties to even', () => {
    expect(h([1 + 2 ** -11])).toEqual([0x3c00]); // tie, 0x3c00 even
    expect(h([1 + 3 * 2 ** -11])).toEqual([0x3c02]); // tie between 0x3c01 and 0x3c02
    expect(h([1 + 2 ** -11 + 2 ** -20])).toEqual([0x3c01]); // just above the tie
    expect(h([65519])).toEqual([0x7bff]);
    expect(h([65520])).toEqual([0x7c00]); // tie between 65504 (odd) and 65536 → inf
    expect(h([2 ** -25])).toEqual([0x0000]); // subnormal tie → 0
    expect(h([3 * 2 ** -25])).toEqual([0x0002]); // 1.5 ulp → 2
    expect(h([2 ** -25 + 2 ** -35])).toEqual([0x0001]);
    expect(h([-(2 ** -26)])).toEqual([0x8000]);
    expect(h([2047 * 2 ** -25])).toEqual([0x0400]); // rounds up out of the subnormals
  });
  it('every half value survives a round trip and every midpoint rounds to even', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = fromFloat16(all);
    const back = toFloat16(f);
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (!isNaN && back[i] !== i) throw new Error(`0x${i.toString(16)} came back as 0x${back[i].toString(16)}`);
    }
    // midpoints between consecutive positive finite halves
    for (let i = 0; i < 0x7bff; i++) {
      const mid = (f[i] + f[i + 1]) / 2; // exact in float64, and in float32 (needs ≤ 12 bits)
      const want = i % 2 === 0 ? i : i + 1;
      if (float16Bits(mid) !== want) throw new Error(`midpoint after 0x${i.toString(16)} gave 0x${float16Bits(mid).toString(16)}`);
    }
  });
});

describe('fromFloat16', () => {
  it('decodes known bit patterns', () => {
    const f = fromFloat16(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x3555]));
    expect(Array.from(f)).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity, -Infinity, 0.333251953125]);
    expect(Number.isNaN(fromFloat16(new Uint16Array([0x7e00]))[0])).toBe(true);
  });
});

describe('bfloat16', () => {
  it('encodes and decodes with round to nearest even', () => {
    const b = Array.from(toBfloat16(new Float32Array([1, -2, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.140625])));
    expect(b).toEqual([0x3f80, 0xc000, 0x3f80, 0x3f82, 0x4049]);
    expect(Array.from(fromBfloat16(new Uint16Array([0x3f80, 0xc000, 0x4049])))).toEqual([1, -2, 3.140625]);
    const [n] = toBfloat16(new Float32Array([NaN]));
    expect(Number.isNaN(fromBfloat16(new Uint16Array([n]))[0])).toBe(true);
  });
});
