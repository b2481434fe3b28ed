// IEEE 754-2008 binary16 ("half") and bfloat16 conversions to and from float32.
// binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; subnormals below 2^-14; max 65504.
// float32 → half rounds to nearest, ties to even (IEEE 754 §4.3.1); NaN stays NaN (quiet), ±inf
// stays ±inf, values past 65504 (after rounding) become ±inf, tiny values become subnormals or ±0.
// bfloat16 is the top 16 bits of a float32 (same exponent range), rounded to nearest even.

/** Convert float32 values to binary16 bit patterns (round to nearest, ties to even). */
export function toFloat16(f32: Float32Array): Uint16Array {
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfFromBits(bits[i]);
  return out;
}

/** Convert one number to its binary16 bit pattern. */
export function float16Bits(x: number): number {
  scratchF32[0] = x;
  return halfFromBits(scratchU32[0]);
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function halfFromBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const e = (x >>> 23) & 0xff; // float32 biased exponent
  const m = x & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m !== 0 ? 0x200 | (m >>> 13) : 0); // inf / quiet NaN
  if (e > 142) return sign | 0x7c00; // |x| ≥ 2^16: overflow
  if (e >= 113) {
    // Normal half: exponent e − 127 + 15, keep the top 10 mantissa bits, round the other 13.
    let h = ((e - 112) << 10) | (m >>> 13);
    const rest = m & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may reach inf: correct
    return sign | h;
  }
  // Subnormal half: value = M · 2^(e−150) = h · 2^−24, so h = M >> (126 − e).
  const shift = 126 - e;
  if (shift > 24) return sign; // below half of the smallest subnormal: ±0
  const M = m | 0x800000;
  let h = M >>> shift;
  const rest = M & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++; // may become 0x400, the smallest normal
  return sign | h;
}

let table: Float32Array | null = null;

/** All 65536 half values as float32 (built once, 256 KiB). */
function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) table[h] = s * m * 2 ** -24;
    else if (e === 31) table[h] = m === 0 ? s * Infinity : NaN;
    else table[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
}

/** Convert binary16 bit patterns to float32 values (exact). */
export function fromFloat16(u16: Uint16Array): Float32Array {
  const t = halfTable();
  const out = new Float32Array(u16.length);
  for (let i = 0; i < u16.length; i++) out[i] = t[u16[i]];
  return out;
}

/** Convert float32 values to bfloat16 bit patterns (round to nearest, ties to even; NaN kept). */
export function toBfloat16(f32: Float32Array): Uint16Array {
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
      out[i] = (x >>> 16) | 0x40; // quiet NaN, never rounded into inf
      continue;
    }
    const rounded = x + 0x7fff + ((x >>> 16) & 1);
    out[i] = (rounded >>> 16) & 0xffff;
  }
  return out;
}

/** Convert bfloat16 bit patterns to float32 values (exact). */
export function fromBfloat16(u16: Uint16Array): Float32Array {
  const out = new Float32Array(u16.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) bits[i] = u16[i] << 16;
  return out;
}
