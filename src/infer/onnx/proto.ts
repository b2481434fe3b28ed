// ONNX model files written with our own protobuf wire encoding (no protobuf library).
// Follows onnx/onnx `onnx.proto` (IR version 8, proto2 field numbers) and the protobuf
// encoding spec (varints, zig-zag-free int64 as 10-byte two's complement, length-delimited
// sub-messages, packed repeated scalars). Large payloads (raw_data) are referenced, not copied,
// until the final concatenation, so multi-hundred-MB weights cost one copy; tensors above 2 GB
// must use external data (location/offset/length), as the protobuf format caps a message at 2 GB.

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface ExternalData {
  /** Path of the data file, relative to the .onnx file. */
  location: string;
  offset: number;
  length: number;
}

export interface TensorProto {
  name: string;
  dims: readonly number[];
  dataType: DataTypeId;
  /** Little-endian element bytes (absent when `external` is set). */
  rawData?: Uint8Array;
  external?: ExternalData;
}

export interface AttributeProto {
  name: string;
  type: (typeof AttrType)[keyof typeof AttrType];
  f?: number;
  i?: number;
  s?: string;
  t?: TensorProto;
  g?: GraphProto;
  floats?: readonly number[];
  ints?: readonly number[];
  strings?: readonly string[];
}

export interface NodeProto {
  input: readonly string[];
  output: readonly string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute?: readonly AttributeProto[];
}

/** A dimension: a fixed size or a symbolic name (dynamic axis). */
export type Dim = number | string;

export interface ValueInfoProto {
  name: string;
  elemType: DataTypeId;
  /** Omit for unknown rank. */
  shape?: readonly Dim[];
}

export interface GraphProto {
  name: string;
  node: readonly NodeProto[];
  initializer: readonly TensorProto[];
  input: readonly ValueInfoProto[];
  output: readonly ValueInfoProto[];
  valueInfo?: readonly ValueInfoProto[];
}

export interface ModelProto {
  irVersion?: number;
  opsetVersion?: number;
  /** Extra opset imports (e.g. {domain: 'com.microsoft', version: 1}). */
  extraOpsets?: readonly { domain: string; version: number }[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
  graph: GraphProto;
}

// ---------------------------------------------------------------------------------------------
// Wire encoding. A message is built as a list of byte parts plus its total length.

const utf8 = new TextEncoder();

export class Writer {
  readonly parts: Uint8Array[] = [];
  length = 0;
  private scratch = new Uint8Array(64);
  private used = 0;

  private flush(): void {
    if (this.used > 0) {
      this.parts.push(this.scratch.slice(0, this.used));
      this.used = 0;
    }
  }

  private byte(b: number): void {
    if (this.used === this.scratch.length) this.flush();
    this.scratch[this.used++] = b;
    this.length++;
  }

  /** Unsigned varint of a non-negative safe integer; negative values as 10-byte two's complement. */
  varint(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`varint: ${v} is not a safe integer`);
    if (v < 0) {
      let b = BigInt.asUintN(64, BigInt(v));
      for (let k = 0; k < 10; k++) {
        const low = Number(b & 0x7fn);
        b >>= 7n;
        this.byte(b === 0n ? low : low | 0x80);
        if (b === 0n) return;
      }
      return;
    }
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint(field * 8 + wire);
  }

  /** Append raw bytes without copying them. */
  raw(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.flush();
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.byte(x);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.raw(b);
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  message(field: number, m: Writer): void {
    m.flush();
    this.tag(field, 2);
    this.varint(m.length);
    for (const p of m.parts) this.raw(p);
  }

  packedInts(field: number, vs: readonly number[]): void {
    const w = new Writer();
    for (const v of vs) w.varint(v);
    this.message(field, w);
  }

  packedFloats(field: number, vs: readonly number[]): void {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, k) => dv.setFloat32(k * 4, v, true));
    this.bytes(field, b);
  }

  /** All parts, the scratch buffer flushed. */
  finish(): Uint8Array[] {
    this.flush();
    return this.parts;
  }
}

function encodeTensor(t: TensorProto): Writer {
  const w = new Writer();
  if (t.dims.length) w.packedInts(1, t.dims); // dims
  w.int(2, t.dataType); // data_type
  w.string(8, t.name); // name
  if (t.external) {
    const entries: [string, string][] = [
      ['location', t.external.location],
      ['offset', String(t.external.offset)],
      ['length', String(t.external.length)],
    ];
    for (const [k, v] of entries) {
      const e = new Writer();
      e.string(1, k);
      e.string(2, v);
      w.message(13, e); // external_data
    }
    w.int(14, 1); // data_location = EXTERNAL
  } else {
    w.bytes(9, t.rawData ?? new Uint8Array(0)); // raw_data
  }
  return w;
}

function encodeAttribute(a: AttributeProto): Writer {
  const w = new Writer();
  w.string(1, a.name);
  w.int(20, a.type);
  switch (a.type) {
    case AttrType.FLOAT:
      w.float(2, a.f ?? 0);
      break;
    case AttrType.INT:
      w.int(3, a.i ?? 0);
      break;
    case AttrType.STRING:
      w.string(4, a.s ?? '');
      break;
    case AttrType.TENSOR:
      if (!a.t) throw new Error(`attribute ${a.name}: tensor missing`);
      w.message(5, encodeTensor(a.t));
      break;
    case AttrType.GRAPH:
      if (!a.g) throw new Error(`attribute ${a.name}: graph missing`);
      w.message(6, encodeGraph(a.g));
      break;
    case AttrType.FLOATS:
      w.packedFloats(7, a.floats ?? []);
      break;
    case AttrType.INTS:
      w.packedInts(8, a.ints ?? []);
      break;
    case AttrType.STRINGS:
      for (const s of a.strings ?? []) w.string(9, s);
      break;
  }
  return w;
}

function encodeNode(n: NodeProto): Writer {
  const w = new Writer();
  for (const i of n.input) w.string(1, i);
  for (const o of n.output) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attribute ?? []) w.message(5, encodeAttribute(a));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function encodeValueInfo(v: ValueInfoProto): Writer {
  const tensor = new Writer();
  tensor.int(1, v.elemType); // TypeProto.Tensor.elem_type
  if (v.shape) {
    const shape = new Writer();
    for (const d of v.shape) {
      const dim = new Writer();
      if (typeof d === 'number') dim.int(1, d); // dim_value
      else dim.string(2, d); // dim_param
      shape.message(1, dim);
    }
    tensor.message(2, shape); // TensorShapeProto
  }
  const type = new Writer();
  type.message(1, tensor); // TypeProto.tensor_type
  const w = new Writer();
  w.string(1, v.name);
  w.message(2, type);
  return w;
}

function encodeGraph(g: GraphProto): Writer {
  const w = new Writer();
  for (const n of g.node) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializer) w.message(5, encodeTensor(t));
  for (const v of g.input) w.message(11, encodeValueInfo(v));
  for (const v of g.output) w.message(12, encodeValueInfo(v));
  for (const v of g.valueInfo ?? []) w.message(13, encodeValueInfo(v));
  return w;
}

/** Encode a ModelProto as byte parts (write them in order, e.g. to a file stream). */
export function encodeModelParts(m: ModelProto): Uint8Array[] {
  const w = new Writer();
  w.int(1, m.irVersion ?? 8); // ir_version
  w.string(2, m.producerName ?? 'spacetime'); // producer_name
  if (m.producerVersion) w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, encodeGraph(m.graph)); // graph
  const opsets = [{ domain: '', version: m.opsetVersion ?? 17 }, ...(m.extraOpsets ?? [])];
  for (const o of opsets) {
    const op = new Writer();
    if (o.domain) op.string(1, o.domain);
    op.int(2, o.version);
    w.message(8, op); // opset_import
  }
  for (const [k, v] of Object.entries(m.metadata ?? {})) {
    const e = new Writer();
    e.string(1, k);
    e.string(2, v);
    w.message(14, e); // metadata_props
  }
  const parts = w.finish();
  const total = parts.reduce((s, p) => s + p.length, 0);
  if (total >= 2 ** 31) throw new RangeError(`ONNX model is ${total} bytes; protobuf caps a message at 2 GB: store large initializers as external data`);
  return parts;
}

/** Encode a ModelProto to one byte array. */
export function encodeModel(m: ModelProto): Uint8Array {
  const parts = encodeModelParts(m);
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Element bytes (little-endian regardless of host order).

const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian bytes of a typed array (a view when the host is little-endian). */
export function littleEndianBytes(a: Float32Array | Float64Array | Int32Array | Uint16Array | BigInt64Array | Uint8Array | Int8Array): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE || a.BYTES_PER_ELEMENT === 1) return view;
  const out = new Uint8Array(view.length);
  const k = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i += k) for (let j = 0; j < k; j++) out[i + j] = view[i + k - 1 - j];
  return out;
}
