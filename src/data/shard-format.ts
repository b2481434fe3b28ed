// Latent shard rows as Arrow IPC files (Arrow columnar format, "IPC File Format", magic
// "ARROW1"); the dataset layout around them (manifest, N-worker split, versions) is in shards.ts.
// Columns, one row per clip (DESIGN.md "Latent shards"):
//   id utf8 · latent binary (float16|float32 LE, row-major (T, H, W, C)) · shape list<int32> [T,H,W,C]
//   fps float32 · caption utf8 · caption_source utf8 · width,height,frames int32 · bucket utf8
//   optional text_emb binary (same dtype as latent, (L, D)) · text_emb_shape list<int32> [L, D]
// With stats "mean_logvar" the channel axis holds [mean_0..mean_{C-1}, logvar_0..logvar_{C-1}].
// The schema metadata records `spacetime.latent_dtype`; unlabelled files (e.g. written by pyarrow)
// have the dtype inferred from byte counts.
import { Binary, DataType, Field, Float32, Int32, List, Precision, RecordBatchReader, Table, Utf8, tableToIPC, vectorFromArray, type RecordBatch, type Vector } from 'apache-arrow';
import { FileError, SpacetimeError } from '../util/errors.js';
import { fromFloat16, toFloat16 } from '../util/float16.js';

export interface LatentRow {
  id: string;
  latent: Float32Array; // (T, H, W, C) flattened
  shape: [number, number, number, number];
  fps: number;
  caption: string;
  caption_source: string;
  width: number;
  height: number;
  frames: number;
  bucket: string;
  textEmb?: Float32Array; // (L, D) flattened
  textEmbShape?: [number, number];
}

export type LatentDtype = 'float16' | 'float32';

const META_DTYPE = 'spacetime.latent_dtype';
const META_SCHEMA = 'spacetime.shard_schema';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const intList = () => new List(new Field('item', new Int32(), false));

function bytesOf(x: Float32Array, dtype: LatentDtype): Uint8Array {
  const a = dtype === 'float16' ? toFloat16(x) : x;
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function checkRow(r: LatentRow, i: number): void {
  const bad = (why: string) => {
    throw new SpacetimeError(`shard row ${i} (${JSON.stringify(r.id)}): ${why}`);
  };
  if (r.shape.length !== 4 || !r.shape.every((d) => Number.isInteger(d) && d > 0)) bad(`shape must be 4 positive integers (T, H, W, C), got [${r.shape.join(', ')}]`);
  if (r.latent.length !== numel(r.shape)) bad(`latent has ${r.latent.length} values, shape [${r.shape.join(', ')}] needs ${numel(r.shape)}`);
  if (r.textEmb && (!r.textEmbShape || r.textEmb.length !== numel(r.textEmbShape))) bad('textEmb does not match textEmbShape');
}

/** Arrow IPC file bytes for `rows` (deterministic for the same input). */
export function encodeShard(rows: LatentRow[], dtype: LatentDtype): Uint8Array {
  rows.forEach(checkRow);
  const col = <T,>(f: (r: LatentRow) => T) => rows.map(f);
  const columns: Record<string, Vector> = {
    id: vectorFromArray(col((r) => r.id), new Utf8()),
    latent: vectorFromArray(col((r) => bytesOf(r.latent, dtype)), new Binary()),
    shape: vectorFromArray(col((r) => [...r.shape]), intList()),
    fps: vectorFromArray(col((r) => r.fps), new Float32()),
    caption: vectorFromArray(col((r) => r.caption), new Utf8()),
    caption_source: vectorFromArray(col((r) => r.caption_source), new Utf8()),
    width: vectorFromArray(col((r) => r.width), new Int32()),
    height: vectorFromArray(col((r) => r.height), new Int32()),
    frames: vectorFromArray(col((r) => r.frames), new Int32()),
    bucket: vectorFromArray(col((r) => r.bucket), new Utf8()),
  };
  if (rows.some((r) => r.textEmb)) {
    columns.text_emb = vectorFromArray(col((r) => (r.textEmb ? bytesOf(r.textEmb, dtype) : null)), new Binary());
    columns.text_emb_shape = vectorFromArray(col((r) => (r.textEmbShape && r.textEmb ? [...r.textEmbShape] : null)), intList());
  }
  const table = new Table(columns);
  table.schema.metadata.set(META_SCHEMA, '1');
  table.schema.metadata.set(META_DTYPE, dtype);
  return tableToIPC(table, 'file');
}

/** Required columns: a type check and the type's name for the error. */
const REQUIRED: Record<string, [(t: DataType) => boolean, string]> = {
  id: [DataType.isUtf8, 'Utf8'],
  latent: [DataType.isBinary, 'Binary'],
  shape: [(t) => DataType.isList(t) && isInt32(t.children[0].type), 'List<Int32>'],
  fps: [(t) => DataType.isFloat(t) && t.precision === Precision.SINGLE, 'Float32'],
  caption: [DataType.isUtf8, 'Utf8'],
  caption_source: [DataType.isUtf8, 'Utf8'],
  width: [isInt32, 'Int32'],
  height: [isInt32, 'Int32'],
  frames: [isInt32, 'Int32'],
  bucket: [DataType.isUtf8, 'Utf8'],
};

function isInt32(t: DataType): boolean {
  return DataType.isInt(t) && t.bitWidth === 32 && t.isSigned;
}

/** Decode and validate Arrow IPC shard bytes; `file` names the source in errors. */
export function decodeShard(bytes: Uint8Array, file: string): LatentRow[] {
  const bad = (why: string): never => {
    throw new FileError(file, why);
  };
  const magic = (o: number) => String.fromCharCode(...bytes.subarray(o, o + 6));
  if (bytes.length < 24 || magic(0) !== 'ARROW1' || magic(bytes.length - 6) !== 'ARROW1') bad('not an Arrow IPC file (missing ARROW1 magic: truncated or corrupt)');
  // Framing checks before apache-arrow sees the bytes (it can loop on a garbled first message):
  // continuation marker and schema length at byte 8, footer length before the trailing magic.
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metaLen = dv.getInt32(12, true);
  const footLen = dv.getInt32(bytes.length - 10, true);
  if (dv.getUint32(8, true) !== 0xffffffff || metaLen <= 0 || 16 + metaLen > bytes.length || footLen <= 0 || footLen > bytes.length - 26) {
    bad('corrupt Arrow file (bad message framing)');
  }
  let table: Table;
  try {
    // Read the footer's record batches one by one: apache-arrow's own batch iterator can loop
    // forever on a garbled message, while readRecordBatch(i) reads exactly block i.
    const reader = RecordBatchReader.from(bytes);
    if (!reader.isSync() || !reader.isFile()) return bad('not an Arrow IPC file');
    reader.open();
    const n = reader.numRecordBatches;
    if (!Number.isSafeInteger(n) || n < 0 || n > bytes.length / 8) return bad('corrupt Arrow file (bad footer)');
    const batches: RecordBatch[] = [];
    for (let i = 0; i < n; i++) batches.push(reader.readRecordBatch(i) ?? bad(`corrupt Arrow file (record batch ${i} unreadable)`));
    table = new Table(reader.schema, batches);
  } catch (err) {
    if (err instanceof FileError) throw err;
    return bad(`corrupt Arrow file (${err instanceof Error ? err.message : String(err)})`);
  }
  for (const [name, [ok, want]] of Object.entries(REQUIRED)) {
    const field = table.schema.fields.find((f) => f.name === name);
    if (!field) return bad(`missing column "${name}"`);
    if (!ok(field.type)) bad(`column "${name}" has type ${field.type}, expected ${want}`);
    if (table.getChild(name)!.nullCount > 0) bad(`column "${name}" has null values`);
  }
  const metaDtype = table.schema.metadata.get(META_DTYPE);
  if (metaDtype !== undefined && metaDtype !== 'float16' && metaDtype !== 'float32') bad(`unknown latent dtype "${metaDtype}"`);
  const get = (name: string) => table.getChild(name);
  const c = Object.fromEntries(Object.keys(REQUIRED).map((n) => [n, get(n)!]));
  const emb = get('text_emb');
  const embShape = get('text_emb_shape');
  if ((emb === null) !== (embShape === null)) bad('text_emb and text_emb_shape must appear together');

  const decode = (raw: Uint8Array, n: number, what: string, i: number): Float32Array => {
    const size = metaDtype === 'float16' ? 2 : metaDtype === 'float32' ? 4 : raw.length / n; // infer if unlabelled
    if (raw.length !== n * size || (size !== 2 && size !== 4)) bad(`row ${i}: ${what} has ${raw.length} bytes, which does not fit ${n} values of ${metaDtype ?? 'float16/float32'}`);
    const copy = raw.slice(); // aligned copy: binary values sit at arbitrary offsets
    return size === 2 ? fromFloat16(new Uint16Array(copy.buffer, 0, n)) : new Float32Array(copy.buffer, 0, n);
  };

  const rows: LatentRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const shape = Array.from(c.shape.get(i).toArray() as Int32Array);
    if (shape.length !== 4 || !shape.every((d) => d > 0)) bad(`row ${i}: shape must be [T, H, W, C], got [${shape.join(', ')}]`);
    const row: LatentRow = {
      id: c.id.get(i),
      latent: decode(c.latent.get(i), numel(shape), 'latent', i),
      shape: shape as LatentRow['shape'],
      fps: c.fps.get(i),
      caption: c.caption.get(i),
      caption_source: c.caption_source.get(i),
      width: c.width.get(i),
      height: c.height.get(i),
      frames: c.frames.get(i),
      bucket: c.bucket.get(i),
    };
    if (emb && embShape && emb.get(i) !== null) {
      const s = Array.from(embShape.get(i)?.toArray() ?? []) as number[];
      if (s.length !== 2) bad(`row ${i}: text_emb_shape must be [L, D], got [${s.join(', ')}]`);
      row.textEmb = decode(emb.get(i), numel(s), 'text_emb', i);
      row.textEmbShape = s as [number, number];
    }
    rows.push(row);
  }
  return rows;
}

