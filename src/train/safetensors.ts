// safetensors reader/writer (format spec: https://github.com/huggingface/safetensors, README
// "Format"): an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}` (may be padded
// with trailing spaces), then the byte buffer. Offsets are relative to the buffer start; tensors are
// little-endian, row-major, and must tile the buffer exactly (no gaps, no overlap).
// We write tensors in sorted key order and pad the header with spaces so the buffer starts 8-byte
// aligned. Readers copy each tensor into its own aligned typed array.
import { promises as fs } from 'node:fs';
import { FileError, SpacetimeError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { fromBfloat16, fromFloat16 } from '../util/float16.js';

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface TensorData {
  dtype: Dtype;
  shape: number[];
  data: Float32Array | Float64Array | Uint16Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;
}

export interface Safetensors {
  tensors: Record<string, TensorData>;
  metadata: Record<string, string>;
}

/** The safetensors reference implementation refuses headers above 100 MB; so do we by default. */
export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

type ArrayCtor = { new (buf: ArrayBuffer, byteOffset?: number, length?: number): TensorData['data']; name: string };

const DTYPES: Record<Dtype, { size: number; ctor: ArrayCtor }> = {
  F64: { size: 8, ctor: Float64Array as unknown as ArrayCtor },
  F32: { size: 4, ctor: Float32Array as unknown as ArrayCtor },
  F16: { size: 2, ctor: Uint16Array as unknown as ArrayCtor },
  BF16: { size: 2, ctor: Uint16Array as unknown as ArrayCtor },
  I64: { size: 8, ctor: BigInt64Array as unknown as ArrayCtor },
  I32: { size: 4, ctor: Int32Array as unknown as ArrayCtor },
  I16: { size: 2, ctor: Int16Array as unknown as ArrayCtor },
  I8: { size: 1, ctor: Int8Array as unknown as ArrayCtor },
  U8: { size: 1, ctor: Uint8Array as unknown as ArrayCtor },
  BOOL: { size: 1, ctor: Uint8Array as unknown as ArrayCtor },
};

function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, s);
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Serialise tensors (sorted by name) and optional string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, TensorData>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SpacetimeError(`safetensors: metadata ${JSON.stringify(k)} must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new SpacetimeError('safetensors: "__metadata__" is reserved and cannot name a tensor');
    const t = tensors[name];
    if (!isDtype(t.dtype)) throw new SpacetimeError(`safetensors: tensor ${JSON.stringify(name)}: unknown dtype ${JSON.stringify(t.dtype)}`);
    const { size, ctor } = DTYPES[t.dtype];
    if (!(t.data instanceof (ctor as unknown as typeof Uint8Array))) {
      throw new SpacetimeError(`safetensors: tensor ${JSON.stringify(name)}: dtype ${t.dtype} needs a ${ctor.name}, got ${t.data.constructor.name}`);
    }
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SpacetimeError(`safetensors: tensor ${JSON.stringify(name)}: bad shape ${fmtShape(t.shape)}`);
    }
    if (numel(t.shape) !== t.data.length) {
      throw new SpacetimeError(`safetensors: tensor ${JSON.stringify(name)}: shape ${fmtShape(t.shape)} holds ${numel(t.shape)} values, data has ${t.data.length}`);
    }
    const bytes = t.data.length * size;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.length / 8) * 8; // 8 + n is a multiple of 8: the buffer starts aligned
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let pos = 8 + n;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** Parse safetensors bytes; `file` names the source in errors. Every tensor is copied into its own aligned array. */
export function decodeSafetensors(bytes: Uint8Array, file: string, opts: { maxHeaderBytes?: number } = {}): Safetensors {
  const maxHeader = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const bad = (reason: string): never => {
    throw new FileError(file, `not a valid safetensors file: ${reason}`);
  };
  if (bytes.length < 8) bad(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(maxHeader)) bad(`header too large (${n64} bytes, limit ${maxHeader})`);
  const n = Number(n64);
  if (8 + n > bytes.length) bad(`truncated: header says ${n} bytes but only ${bytes.length - 8} follow`);
  if (n < 2) bad(`header of ${n} bytes is too short for a JSON object`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return bad('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    return bad(`header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return bad('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('"__metadata__" is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') bad(`metadata ${JSON.stringify(k)} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const where = `tensor ${JSON.stringify(name)}`;
    if (typeof raw !== 'object' || raw === null) return bad(`${where} is not an object`);
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    if (!isDtype(dtype)) return bad(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return bad(`${where}: bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      return bad(`${where}: bad data_offsets ${JSON.stringify(offs)}`);
    }
    const span = offs[1] - offs[0];
    const want = numel(shape) * DTYPES[dtype].size;
    if (want !== span) bad(`${where}: shape ${fmtShape(shape)} of ${dtype} needs ${want} bytes, data_offsets span ${span}`);
    entries.push({ name, dtype, shape: shape as number[], begin: offs[0], end: offs[1] });
  }

  const bufLen = bytes.length - 8 - n;
  // Tensors must tile [0, bufLen) exactly: sort by begin and check each starts where the last ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.end > bufLen) bad(`truncated: tensor ${JSON.stringify(e.name)} ends at byte ${e.end} of a ${bufLen}-byte buffer`);
    if (e.begin < cursor) bad(`tensor ${JSON.stringify(e.name)} overlaps the previous tensor (data_offsets [${e.begin}, ${e.end}])`);
    if (e.begin > cursor) bad(`gap in the data buffer before tensor ${JSON.stringify(e.name)} (bytes ${cursor}..${e.begin} unused)`);
    cursor = e.end;
  }
  if (cursor !== bufLen) bad(`data buffer is ${bufLen} bytes but tensors cover ${cursor}`);

  const tensors: Record<string, TensorData> = {};
  const base = 8 + n;
  for (const e of entries) {
    const { size, ctor } = DTYPES[e.dtype];
    const copy = new ArrayBuffer(e.end - e.begin);
    new Uint8Array(copy).set(bytes.subarray(base + e.begin, base + e.end));
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: new ctor(copy, 0, (e.end - e.begin) / size) };
  }
  return { tensors, metadata };
}

/** Write a safetensors file atomically (temp file + rename). */
export async function writeSafetensors(file: string, tensors: Record<string, TensorData>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/** Read and validate a safetensors file. */
export async function readSafetensors(file: string, opts: { maxHeaderBytes?: number } = {}): Promise<Safetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (err as Error).message})`);
  }
  return decodeSafetensors(bytes, file, opts);
}

/** Any floating or integer tensor as float32 values (F16/BF16 decoded, I64 via Number). */
export function tensorToFloat32(t: TensorData): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return t.data as Float32Array;
    case 'F16':
      return fromFloat16(t.data as Uint16Array);
    case 'BF16':
      return fromBfloat16(t.data as Uint16Array);
    case 'I64':
      return Float32Array.from(t.data as BigInt64Array, (x) => Number(x));
    default:
      return Float32Array.from(t.data as ArrayLike<number>);
  }
}
