// Minimal Protocol Buffers wire format (https://protobuf.dev/programming-guides/encoding/):
// a message is a sequence of (tag = field << 3 | wire type) varints followed by a value:
//   wire 0 varint (int32/int64/uint*/bool/enum; negative ints as 10-byte two's complement)
//   wire 1 fixed 64-bit little-endian (double, fixed64)
//   wire 2 length-delimited (string, bytes, sub-message, packed repeated)
//   wire 5 fixed 32-bit little-endian (float, fixed32)
// zigzag (sint*) and groups (wire 3/4) are not supported. Used by the TensorBoard event writer.
import { SpacetimeError } from './errors.js';

export type WireType = 0 | 1 | 2 | 5;

/** Builds one message; fields are written in call order. */
export class ProtoWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawVarint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  private tag(field: number, wire: WireType): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new SpacetimeError(`protobuf: bad field number ${field}`);
    this.rawVarint(BigInt(field * 8 + wire));
  }

  private raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** int32/int64/uint32/uint64/bool/enum (negative values become 10-byte two's complement). */
  varint(field: number, v: number | bigint | boolean): this {
    const b = typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v);
    this.tag(field, 0);
    this.rawVarint(b);
    return this;
  }

  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.tag(field, 1);
    this.raw(b);
    return this;
  }

  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5);
    this.raw(b);
    return this;
  }

  fixed32(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.tag(field, 5);
    this.raw(b);
    return this;
  }

  fixed64(field: number, v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.tag(field, 1);
    this.raw(b);
    return this;
  }

  /** bytes, or an already-encoded sub-message. */
  bytes(field: number, v: Uint8Array): this {
    this.tag(field, 2);
    this.rawVarint(BigInt(v.length));
    this.raw(v);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, sub: ProtoWriter): this {
    return this.bytes(field, sub.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** One decoded field: a varint as bigint (wire 0), or the raw bytes of the value (wires 1, 2, 5). */
export type ProtoField = { field: number; wire: 0; value: bigint } | { field: number; wire: 1 | 2 | 5; value: Uint8Array };

/** A malformed protobuf message (callers wrap it with the file name). */
export class ProtoError extends SpacetimeError {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

function readVarint(b: Uint8Array, pos: number): [bigint, number] {
  let x = 0n;
  for (let shift = 0n, i = pos; i < b.length && shift < 70n; shift += 7n, i++) {
    x |= BigInt(b[i] & 0x7f) << shift;
    if ((b[i] & 0x80) === 0) return [BigInt.asUintN(64, x), i + 1];
  }
  throw new ProtoError(`truncated or overlong varint at byte ${pos}`);
}

/** Split a message into its fields, in order (repeated fields appear once per value). */
export function decodeFields(b: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  while (pos < b.length) {
    const at = pos;
    const [tag, p] = readVarint(b, pos);
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field < 1) throw new ProtoError(`bad field number 0 at byte ${at}`);
    pos = p;
    if (wire === 0) {
      const [v, q] = readVarint(b, pos);
      out.push({ field, wire, value: v });
      pos = q;
      continue;
    }
    let n: number;
    if (wire === 1) n = 8;
    else if (wire === 5) n = 4;
    else if (wire === 2) {
      const [len, q] = readVarint(b, pos);
      if (len > BigInt(b.length - q)) throw new ProtoError(`field ${field} at byte ${at}: length ${len} runs past the end (${b.length - q} bytes left)`);
      n = Number(len);
      pos = q;
    } else throw new ProtoError(`unsupported wire type ${wire} for field ${field} at byte ${at}`);
    if (pos + n > b.length) throw new ProtoError(`field ${field} at byte ${at}: truncated`);
    out.push({ field, wire, value: b.subarray(pos, pos + n) });
    pos += n;
  }
  return out;
}

function expectWire(f: ProtoField, wire: WireType, what: string): void {
  if (f.wire !== wire) throw new ProtoError(`field ${f.field}: expected ${what} (wire type ${wire}), got wire type ${f.wire}`);
}

const view = (u: Uint8Array) => new DataView(u.buffer, u.byteOffset, u.byteLength);

/** Field value readers; each checks the wire type. */
export const read = {
  /** int64/int32 (two's complement) as a number (exact up to 2^53). */
  int(f: ProtoField): number {
    expectWire(f, 0, 'a varint');
    return Number(BigInt.asIntN(64, f.value as bigint));
  },
  uint(f: ProtoField): bigint {
    expectWire(f, 0, 'a varint');
    return f.value as bigint;
  },
  bool(f: ProtoField): boolean {
    expectWire(f, 0, 'a varint');
    return f.value !== 0n;
  },
  double(f: ProtoField): number {
    expectWire(f, 1, 'a double');
    return view(f.value as Uint8Array).getFloat64(0, true);
  },
  float(f: ProtoField): number {
    expectWire(f, 5, 'a float');
    return view(f.value as Uint8Array).getFloat32(0, true);
  },
  fixed32(f: ProtoField): number {
    expectWire(f, 5, 'a fixed32');
    return view(f.value as Uint8Array).getUint32(0, true);
  },
  bytes(f: ProtoField): Uint8Array {
    expectWire(f, 2, 'bytes');
    return f.value as Uint8Array;
  },
  string(f: ProtoField): string {
    expectWire(f, 2, 'a string');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(f.value as Uint8Array);
    } catch {
      throw new ProtoError(`field ${f.field}: string is not valid UTF-8`);
    }
  },
};
