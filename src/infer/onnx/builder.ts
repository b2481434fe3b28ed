// A small ONNX graph builder on top of our protobuf writer (proto.ts): inputs with symbolic
// dims, initializers from typed arrays, nodes returning their output names, constants, outputs,
// and serialisation to bytes or to a file (optionally with external data for > 2 GB weights).
// Semantics follow the ONNX IR spec (onnx/docs/IR.md) and operator set 17 (onnx/docs/Operators.md).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, produceAtomic } from '../../util/atomic.js';
import { SpacetimeError } from '../../util/errors.js';
import { toFloat16 } from '../../util/float16.js';
import {
  AttrType,
  DataType,
  encodeModel,
  encodeModelParts,
  littleEndianBytes,
  type AttributeProto,
  type DataTypeId,
  type Dim,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';

/** An explicitly typed attribute value (plain numbers are INT when integral, else FLOAT). */
export type AttrValue = number | string | readonly number[] | readonly string[] | { float: number } | { floats: readonly number[] } | { tensor: TensorProto } | { graph: GraphProto };

/** Attribute names that ONNX always types as float, so `alpha: 1` still encodes as FLOAT. */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'gamma', 'epsilon', 'lambd', 'bias', 'ratio', 'value_float', 'value_floats', 'cubic_coeff_a', 'extrapolation_value', 'spatial_scale', 'min', 'max', 'momentum']);

export const attr = {
  float: (x: number) => ({ float: x }),
  floats: (xs: readonly number[]) => ({ floats: xs }),
};

function toAttribute(name: string, v: AttrValue): AttributeProto {
  const asFloat = FLOAT_ATTRS.has(name);
  if (typeof v === 'number') return Number.isInteger(v) && !asFloat ? { name, type: AttrType.INT, i: v } : { name, type: AttrType.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { name, type: AttrType.STRINGS, strings: v as string[] };
    const xs = v as number[];
    return xs.every(Number.isInteger) && !asFloat ? { name, type: AttrType.INTS, ints: xs } : { name, type: AttrType.FLOATS, floats: xs };
  }
  const o = v as Exclude<AttrValue, number | string | readonly unknown[]>;
  if ('float' in o) return { name, type: AttrType.FLOAT, f: o.float };
  if ('floats' in o) return { name, type: AttrType.FLOATS, floats: o.floats };
  if ('tensor' in o) return { name, type: AttrType.TENSOR, t: o.tensor };
  return { name, type: AttrType.GRAPH, g: o.graph };
}

export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Float64Array;

/** A TensorProto from a typed array. Float32 with `float16: true` is converted; Uint16Array is taken as float16 bits. */
export function tensorProto(name: string, data: TensorData, dims: readonly number[], opts: { float16?: boolean; bool?: boolean } = {}): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new SpacetimeError(`tensor ${name}: ${data.length} values do not fill shape (${dims.join(', ')})`);
  if (data instanceof Float32Array) {
    if (opts.float16) return { name, dims, dataType: DataType.FLOAT16, rawData: littleEndianBytes(toFloat16(data)) };
    return { name, dims, dataType: DataType.FLOAT, rawData: littleEndianBytes(data) };
  }
  if (data instanceof Float64Array) return { name, dims, dataType: DataType.DOUBLE, rawData: littleEndianBytes(data) };
  if (data instanceof Int32Array) return { name, dims, dataType: DataType.INT32, rawData: littleEndianBytes(data) };
  if (data instanceof BigInt64Array) return { name, dims, dataType: DataType.INT64, rawData: littleEndianBytes(data) };
  if (data instanceof Uint16Array) return { name, dims, dataType: DataType.FLOAT16, rawData: littleEndianBytes(data) };
  return { name, dims, dataType: opts.bool ? DataType.BOOL : DataType.UINT8, rawData: data };
}

export interface NodeOptions {
  /** Number of outputs (default 1), or explicit output names. */
  outputs?: number | readonly string[];
  name?: string;
  domain?: string;
}

export interface SaveOptions {
  /** Store initializers of at least this many bytes in `<file>.data` (default: never; forced when the model would exceed 2 GB). */
  externalThreshold?: number;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inits: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly valueInfos: ValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(
    readonly name = 'graph',
    readonly opts: { opset?: number; producer?: string; metadata?: Record<string, string> } = {},
  ) {}

  /** A fresh value name with the given prefix. */
  fresh(prefix: string): string {
    let n = `${prefix}_${this.counter++}`;
    while (this.names.has(n)) n = `${prefix}_${this.counter++}`;
    this.names.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new SpacetimeError(`onnx graph ${this.name}: duplicate value name '${name}'`);
    this.names.add(name);
    return name;
  }

  /** A graph input; string dims are symbolic (dynamic axes). */
  input(name: string, shape: readonly Dim[], elemType: DataTypeId = DataType.FLOAT): string {
    this.inputs.push({ name: this.claim(name), elemType, shape });
    return name;
  }

  /** A weight stored in the model. */
  initializer(name: string, data: TensorData, dims: readonly number[], opts: { float16?: boolean; bool?: boolean } = {}): string {
    this.inits.push(tensorProto(this.claim(name), data, dims, opts));
    return name;
  }

  /** A constant: an initializer with a fresh name. Plain number arrays become float32, or int64 with `int64: true`. */
  constant(values: TensorData | readonly number[], dims: readonly number[], opts: { int64?: boolean; float16?: boolean } = {}): string {
    let data: TensorData;
    if (Array.isArray(values)) data = opts.int64 ? BigInt64Array.from(values as number[], (v) => BigInt(v)) : Float32Array.from(values as number[]);
    else data = values as TensorData;
    const name = this.fresh('const');
    this.inits.push(tensorProto(name, data, dims, opts));
    return name;
  }

  /** An int64 1-D constant (shapes, axes, pads for opset-17 ops that take them as inputs). */
  ints(values: readonly number[]): string {
    return this.constant(values, [values.length], { int64: true });
  }

  /** Append a node; returns its output names. Use '' for an omitted optional input. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, o: NodeOptions = {}): string[] {
    const outs = Array.isArray(o.outputs) ? (o.outputs as string[]).map((n) => this.claim(n)) : Array.from({ length: (o.outputs as number | undefined) ?? 1 }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      input: inputs,
      output: outs,
      name: o.name ?? this.fresh(`n_${opType}`),
      opType,
      domain: o.domain,
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
    return outs;
  }

  /** A single-output node; returns its output name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, o: Omit<NodeOptions, 'outputs'> & { output?: string } = {}): string {
    return this.node(opType, inputs, attrs, { ...o, outputs: o.output ? [o.output] : 1 })[0];
  }

  /** Declare `value` a graph output (renamed through Identity when `as` differs). */
  output(value: string, shape?: readonly Dim[], elemType: DataTypeId = DataType.FLOAT, as?: string): string {
    let name = value;
    if (as && as !== value) name = this.op('Identity', [value], {}, { output: as });
    this.outputs.push({ name, elemType, shape });
    return name;
  }

  /** Annotate an intermediate value's type (optional; helps debugging tools). */
  valueInfo(name: string, shape: readonly Dim[], elemType: DataTypeId = DataType.FLOAT): void {
    this.valueInfos.push({ name, elemType, shape });
  }

  /** Total bytes of initializer data. */
  get weightBytes(): number {
    return this.inits.reduce((s, t) => s + (t.rawData?.length ?? 0), 0);
  }

  toGraph(initializers: readonly TensorProto[] = this.inits): GraphProto {
    return { name: this.name, node: this.nodes, initializer: initializers, input: this.inputs, output: this.outputs, valueInfo: this.valueInfos };
  }

  toModel(initializers?: readonly TensorProto[]): ModelProto {
    return { graph: this.toGraph(initializers), opsetVersion: this.opts.opset ?? 17, producerName: this.opts.producer ?? 'spacetime', metadata: this.opts.metadata };
  }

  /** The serialised model (all weights inline; < 2 GB). */
  toBytes(): Uint8Array {
    return encodeModel(this.toModel());
  }

  /**
   * Write the model to `file` atomically. Initializers of at least `externalThreshold` bytes (all
   * of them, when inline weights would pass 2 GB) go to `<basename>.data` beside it, 64-byte aligned.
   */
  async save(file: string, opts: SaveOptions = {}): Promise<{ bytes: number; externalBytes: number }> {
    const inlineLimit = 2 ** 31 - (1 << 24);
    const threshold = opts.externalThreshold ?? (this.weightBytes > inlineLimit ? 1024 : Infinity);
    const location = `${path.basename(file)}.data`;
    const ext: Uint8Array[] = [];
    let offset = 0;
    const inits = this.inits.map((t) => {
      const raw = t.rawData;
      if (!raw || raw.length < threshold) return t;
      const pad = (64 - (offset % 64)) % 64;
      if (pad) ext.push(new Uint8Array(pad));
      offset += pad;
      ext.push(raw);
      const out: TensorProto = { name: t.name, dims: t.dims, dataType: t.dataType, external: { location, offset, length: raw.length } };
      offset += raw.length;
      return out;
    });
    if (offset > 0) {
      await produceAtomic(path.join(path.dirname(file), location), async (tmp) => {
        const fh = await fs.open(tmp, 'w');
        try {
          for (const p of ext) await fh.write(p);
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
    }
    const parts = encodeModelParts(this.toModel(inits));
    const bytes = parts.reduce((s, p) => s + p.length, 0);
    const joined = new Uint8Array(bytes);
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    await writeFileAtomic(file, joined);
    return { bytes, externalBytes: offset };
  }
}
