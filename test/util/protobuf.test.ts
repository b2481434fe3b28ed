// Protobuf wire format against the byte examples of protobuf.dev "Encoding" and malformed input.
import { describe, expect, it } from 'vitest';
import { ProtoError, ProtoWriter, decodeFields, read } from '../../src/util/protobuf.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('ProtoWriter', () => {
  it('encodes the documented examples', () => {
    expect(hex(new ProtoWriter().varint(1, 150).finish())).toBe('089601');
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('120774657374696e67');
    expect(hex(new ProtoWriter().message(3, new ProtoWriter().varint(1, 150)).finish())).toBe('1a03089601');
    expect(hex(new ProtoWriter().varint(1, -1).finish())).toBe('08ffffffffffffffffff01');
    expect(hex(new ProtoWriter().varint(1, true).varint(1, 0).finish())).toBe('08010800');
    expect(hex(new ProtoWriter().double(1, 1.5).finish())).toBe('09000000000000f83f');
    expect(hex(new ProtoWriter().float(2, 0.25).finish())).toBe('150000803e');
    expect(hex(new ProtoWriter().fixed32(2, 0xdeadbeef).fixed64(16, 1n).finish())).toBe('15efbeadde' + '8101' + '0100000000000000');
    expect(() => new ProtoWriter().varint(0, 1)).toThrow('protobuf: bad field number 0');
  });
  it('grows past its initial buffer', () => {
    const big = new Uint8Array(1000).fill(7);
    const out = new ProtoWriter().bytes(1, big).varint(2, 2n ** 63n).finish();
    expect(out.length).toBe(1 + 2 + 1000 + 1 + 10);
    const f = decodeFields(out);
    expect(read.bytes(f[0])).toEqual(big);
    expect(read.uint(f[1])).toBe(2n ** 63n);
  });
});

describe('decodeFields', () => {
  it('reads back every wire type', () => {
    const b = new ProtoWriter().varint(1, -5).double(2, Math.PI).float(3, 0.5).string(4, 'héllo').varint(5, 1).fixed32(6, 7).finish();
    const f = decodeFields(b);
    expect(f.map((x) => [x.field, x.wire])).toEqual([[1, 0], [2, 1], [3, 5], [4, 2], [5, 0], [6, 5]]);
    expect(read.int(f[0])).toBe(-5);
    expect(read.double(f[1])).toBe(Math.PI);
    expect(read.float(f[2])).toBe(0.5);
    expect(read.string(f[3])).toBe('héllo');
    expect(read.bool(f[4])).toBe(true);
    expect(read.fixed32(f[5])).toBe(7);
  });
  it('rejects malformed messages with a position', () => {
    const err = (s: string) => () => decodeFields(unhex(s));
    expect(err('0896')).toThrow(new ProtoError('truncated or overlong varint at byte 1'));
    expect(err('12077465')).toThrow('field 2 at byte 0: length 7 runs past the end (2 bytes left)');
    expect(err('0b')).toThrow('unsupported wire type 3 for field 1 at byte 0');
    expect(err('0001')).toThrow('bad field number 0 at byte 0');
    expect(err('09000000')).toThrow('field 1 at byte 0: truncated');
    expect(err('08ffffffffffffffffffff01')).toThrow(/overlong varint/);
    expect(() => read.double(decodeFields(unhex('0801'))[0])).toThrow('field 1: expected a double (wire type 1), got wire type 0');
    expect(() => read.string(decodeFields(unhex('0a01ff'))[0])).toThrow('field 1: string is not valid UTF-8');
  });
});
