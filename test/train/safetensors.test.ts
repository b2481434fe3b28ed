// safetensors: a byte vector built by hand from the format spec, round trips, and every malformed case.
import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeSafetensors, encodeSafetensors, readSafetensors, tensorToFloat32, writeSafetensors, type TensorData } from '../../src/train/safetensors.js';
import { FileError } from '../../src/util/errors.js';
import { tmpDir } from '../helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

// {"__metadata__":{"format":"pt"},"a":F32[2]=[1,-2],"b":I16[1,1]=[[-3]]}
const HEADER = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I16","shape":[1,1],"data_offsets":[8,10]}}';
// 141 bytes of JSON + 3 spaces = 144 = 0x90, so the buffer starts at byte 152 (8-aligned).
const HAND = new Uint8Array([
  0x90, 0, 0, 0, 0, 0, 0, 0,
  ...enc(HEADER), 0x20, 0x20, 0x20,
  0x00, 0x00, 0x80, 0x3f, // 1.0f
  0x00, 0x00, 0x00, 0xc0, // -2.0f
  0xfd, 0xff, // -3 as i16
]);

/** Build a file from a header object/string and a buffer of `bufLen` zero bytes. */
function build(header: unknown, bufLen: number, lenOverride?: bigint): Uint8Array {
  const json = enc(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + bufLen);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors encode/decode', () => {
  it('decodes a hand-built file', () => {
    expect(HEADER.length).toBe(141);
    const { tensors, metadata } = decodeSafetensors(HAND, 'hand.safetensors');
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.a.dtype).toBe('F32');
    expect(tensors.a.shape).toEqual([2]);
    expect(tensors.a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(tensors.a.data as Float32Array)).toEqual([1, -2]);
    expect(tensors.b.data).toBeInstanceOf(Int16Array);
    expect(Array.from(tensors.b.data as Int16Array)).toEqual([-3]);
  });

  it('encodes to exactly the hand-built bytes', () => {
    const bytes = encodeSafetensors(
      { b: { dtype: 'I16', shape: [1, 1], data: new Int16Array([-3]) }, a: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) } },
      { format: 'pt' },
    );
    expect(Buffer.from(bytes).equals(Buffer.from(HAND))).toBe(true);
  });

  it('round-trips every dtype, scalars and empty tensors, from an unaligned source', () => {
    const t: Record<string, TensorData> = {
      f64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -1e300, 0]) },
      f32: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) },
      f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
      bf16: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 7n]) },
      i32: { dtype: 'I32', shape: [1], data: new Int32Array([-123456789]) },
      i16: { dtype: 'I16', shape: [1], data: new Int16Array([-3]) },
      i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
      u8: { dtype: 'U8', shape: [1], data: new Uint8Array([255]) },
      bool: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    };
    const bytes = encodeSafetensors(t, { step: '10' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    // copy to an odd offset so that typed-array views over the source would be misaligned
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    const back = decodeSafetensors(shifted, 'x');
    expect(back.metadata).toEqual({ step: '10' });
    for (const [k, v] of Object.entries(t)) {
      expect(back.tensors[k].dtype).toBe(v.dtype);
      expect(back.tensors[k].shape).toEqual(v.shape);
      expect(back.tensors[k].data.constructor).toBe(v.data.constructor);
      expect(Array.from(back.tensors[k].data as ArrayLike<unknown>)).toEqual(Array.from(v.data as ArrayLike<unknown>));
    }
    expect(Array.from(tensorToFloat32(back.tensors.f16))).toEqual([1, -2]);
    expect(Array.from(tensorToFloat32(back.tensors.bf16))).toEqual([1]);
    expect(Array.from(tensorToFloat32(back.tensors.i64))).toEqual([-(2 ** 62), 7]);
  });

  it('rejects bad tensors on encode', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/shape \[3\] holds 3 values, data has 2/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float64Array(2) } })).toThrow(/dtype F32 needs a Float32Array, got Float64Array/);
    expect(() => encodeSafetensors({ a: { dtype: 'X' as never, shape: [2], data: new Float32Array(2) } })).toThrow(/unknown dtype "X"/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [-1], data: new Float32Array(0) } })).toThrow(/bad shape/);
    expect(() => encodeSafetensors({}, { k: 3 as unknown as string })).toThrow(/metadata "k" must be a string/);
  });
});

describe('safetensors malformed input', () => {
  const f = 'm.safetensors';
  const err = (bytes: Uint8Array, opts?: { maxHeaderBytes?: number }): string => {
    try {
      decodeSafetensors(bytes, f, opts);
    } catch (e) {
      expect(e).toBeInstanceOf(FileError);
      expect((e as FileError).path).toBe(f);
      expect((e as Error).message).not.toContain('\n');
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };
  const one = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

  it('too short', () => expect(err(new Uint8Array(5))).toBe('m.safetensors: not a valid safetensors file: file is 5 bytes, shorter than the 8-byte header length'));
  it('header longer than the file', () => expect(err(build(one, 8, 1000n))).toMatch(/truncated: header says 1000 bytes/));
  it('header over the limit', () => {
    expect(err(build(one, 8, 2n ** 60n))).toMatch(/header too large \(1152921504606846976 bytes, limit 100000000\)/);
    expect(err(build(one, 8), { maxHeaderBytes: 16 })).toMatch(/header too large/);
  });
  it('non-UTF-8 header', () => {
    const b = build('{"a":1}', 0);
    b[10] = 0xff;
    expect(err(b)).toMatch(/header is not valid UTF-8/);
  });
  it('invalid JSON', () => expect(err(build('{"a":', 0))).toMatch(/header is not valid JSON/));
  it('JSON that is not an object', () => expect(err(build('[1,2]', 0))).toMatch(/header is not a JSON object/));
  it('unknown dtype', () => expect(err(build({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, 1))).toMatch(/tensor "a": unknown dtype "F8"/));
  it('bad shape / offsets', () => {
    expect(err(build({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4))).toMatch(/bad shape/);
    expect(err(build({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4))).toMatch(/bad data_offsets/);
  });
  it('shape × dtype size ≠ span', () => expect(err(build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).toMatch(/shape \[3\] of F32 needs 12 bytes, data_offsets span 8/));
  it('offsets out of range (truncated data)', () => expect(err(build(one, 6))).toMatch(/truncated: tensor "a" ends at byte 8 of a 6-byte buffer/));
  it('overlapping tensors', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    expect(err(build(h, 8))).toMatch(/overlaps/);
  });
  it('gap in the buffer', () => {
    const h = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    expect(err(build(h, 12))).toMatch(/gap in the data buffer before tensor "b"/);
  });
  it('trailing bytes not covered', () => expect(err(build(one, 12))).toMatch(/data buffer is 12 bytes but tensors cover 8/));
  it('bad metadata', () => expect(err(build({ __metadata__: { a: 1 } }, 0))).toMatch(/metadata "a" is not a string/));
});

describe('safetensors files', () => {
  const dir = tmpDir();
  it('writes atomically and reads back', async () => {
    const file = path.join(dir, 'sub', 'model.safetensors');
    await writeSafetensors(file, { w: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, { step: '3' });
    expect((await fs.readdir(path.dirname(file))).filter((n) => n.includes('.tmp'))).toEqual([]);
    const r = await readSafetensors(file);
    expect(Array.from(r.tensors.w.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(r.metadata).toEqual({ step: '3' });
  });
  it('names a missing or truncated file', async () => {
    await expect(readSafetensors(path.join(dir, 'nope.safetensors'))).rejects.toThrow(`${path.join(dir, 'nope.safetensors')}: no such file`);
    const file = path.join(dir, 'cut.safetensors');
    await fs.writeFile(file, HAND.subarray(0, HAND.length - 1));
    await expect(readSafetensors(file)).rejects.toThrow(`${file}: not a valid safetensors file: truncated: tensor "b" ends at byte 10 of a 9-byte buffer`);
  });
});
