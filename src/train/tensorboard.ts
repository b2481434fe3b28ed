// TensorBoard event files (`events.out.tfevents.<unix seconds>.<hostname>`): a TFRecord stream
// (tensorflow/core/lib/io/record_writer.cc: u64 LE length, masked CRC-32C of the length bytes,
// data, masked CRC-32C of the data) of `Event` protos (tensorflow/core/util/event.proto:
// wall_time double = 1, step int64 = 2, file_version string = 3, summary Summary = 5), where
// Summary (tensorflow/core/framework/summary.proto) = { repeated Value value = 1 } and
// Value = { tag = 1, simple_value float = 2, image Image = 4 }, Image = { height = 1, width = 2,
// colorspace = 3, encoded_image_string = 4 }. The first record is file_version "brain.Event:2".
// Events are buffered and appended to the file on flush(), every `flushSeconds`, and at exit.
import { closeSync, mkdirSync, openSync, writeSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileError, SpacetimeError } from '../util/errors.js';
import { maskedCrc32c } from '../util/crc32c.js';
import { ProtoWriter, decodeFields, read, type ProtoField } from '../util/protobuf.js';

export interface SummaryImage { height: number; width: number; colorspace: number; encoded_image_string: Uint8Array }
export interface SummaryValue { tag: string; simple_value?: number; image?: SummaryImage }
export interface Event { wall_time: number; step: number; file_version?: string; summary?: { value: SummaryValue[] } }

/** TFRecord framing of one record. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Event proto bytes. */
export function encodeEvent(e: Event): Uint8Array {
  const w = new ProtoWriter().double(1, e.wall_time);
  if (e.step !== 0) w.varint(2, e.step);
  if (e.file_version !== undefined) w.string(3, e.file_version);
  if (e.summary) {
    const s = new ProtoWriter();
    for (const v of e.summary.value) {
      const pv = new ProtoWriter().string(1, v.tag);
      if (v.simple_value !== undefined) pv.float(2, v.simple_value);
      if (v.image) {
        const im = v.image;
        pv.message(4, new ProtoWriter().varint(1, im.height).varint(2, im.width).varint(3, im.colorspace).bytes(4, im.encoded_image_string));
      }
      s.message(1, pv);
    }
    w.message(5, s);
  }
  return w.finish();
}

const open = new Set<EventWriter>();
let exitHookInstalled = false;

/** Appends TensorBoard events to one new event file in `dir`. */
export class EventWriter {
  readonly file: string;
  private fd: number | null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout;
  private error: unknown = null;

  constructor(dir: string, opts: { flushSeconds?: number } = {}) {
    mkdirSync(dir, { recursive: true });
    const base = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}`;
    let fd: number | null = null;
    let file = path.join(dir, base);
    for (let n = 1; fd === null; n++) {
      try {
        fd = openSync(file, 'wx'); // never append to another writer's file
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 1000) throw new FileError(file, `cannot create event file (${(err as Error).message})`);
        file = path.join(dir, `${base}.${process.pid}.${n}`);
      }
    }
    this.fd = fd;
    this.file = file;
    this.push({ wall_time: Date.now() / 1000, step: 0, file_version: 'brain.Event:2' });
    this.flushSync();
    this.timer = setInterval(() => {
      try {
        this.flushSync();
      } catch (err) {
        this.error = err; // reported by the next call instead of crashing the process from a timer
      }
    }, (opts.flushSeconds ?? 10) * 1000);
    this.timer.unref();
    open.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const w of open) w.closeSync();
      });
    }
  }

  private push(e: Event): void {
    if (this.fd === null) throw new SpacetimeError(`${this.file}: event writer is closed`);
    const rec = frameRecord(encodeEvent(e));
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    if (this.pendingBytes > 1 << 20) this.flushSync();
  }

  private checkStep(tag: string, step: number): void {
    if (typeof tag !== 'string' || tag.length === 0) throw new SpacetimeError('tensorboard: tag must be a non-empty string');
    if (!Number.isSafeInteger(step)) throw new SpacetimeError(`tensorboard: ${tag}: step must be an integer, got ${step}`);
  }

  /** Log a scalar (stored as float32; NaN and ±inf are kept, as TensorBoard shows them). */
  scalar(tag: string, value: number, step: number): void {
    this.checkStep(tag, step);
    this.push({ wall_time: Date.now() / 1000, step, summary: { value: [{ tag, simple_value: value }] } });
  }

  /** Log an encoded image (PNG). `channels` sets the colorspace: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  image(tag: string, png: Uint8Array, height: number, width: number, step: number, channels = 3): void {
    this.checkStep(tag, step);
    if (![height, width].every((d) => Number.isInteger(d) && d > 0)) throw new SpacetimeError(`tensorboard: ${tag}: image size must be positive integers, got ${width}x${height}`);
    if (![1, 2, 3, 4].includes(channels)) throw new SpacetimeError(`tensorboard: ${tag}: channels must be 1..4, got ${channels}`);
    const image = { height, width, colorspace: channels, encoded_image_string: png };
    this.push({ wall_time: Date.now() / 1000, step, summary: { value: [{ tag, image }] } });
  }

  private flushSync(): void {
    if (this.error) throw this.error;
    if (this.fd === null || this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off, data.length - off);
    } catch (err) {
      throw new FileError(this.file, `cannot write events (${(err as Error).message})`);
    }
  }

  /** Append buffered events to the file. */
  async flush(): Promise<void> {
    this.flushSync();
  }

  private closeSync(): void {
    if (this.fd === null) return;
    clearInterval(this.timer);
    open.delete(this);
    try {
      this.flushSync();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  /** Flush and close; later calls to scalar/image throw. */
  async close(): Promise<void> {
    this.closeSync();
  }
}

function decodeImage(b: Uint8Array): SummaryImage {
  const im: SummaryImage = { height: 0, width: 0, colorspace: 0, encoded_image_string: new Uint8Array(0) };
  for (const f of decodeFields(b)) {
    if (f.field === 1) im.height = read.int(f);
    else if (f.field === 2) im.width = read.int(f);
    else if (f.field === 3) im.colorspace = read.int(f);
    else if (f.field === 4) im.encoded_image_string = read.bytes(f).slice();
  }
  return im;
}

function decodeValue(b: Uint8Array): SummaryValue {
  const v: SummaryValue = { tag: '' };
  for (const f of decodeFields(b)) {
    if (f.field === 1) v.tag = read.string(f);
    else if (f.field === 2) v.simple_value = read.float(f);
    else if (f.field === 4) v.image = decodeImage(read.bytes(f));
  }
  return v;
}

/** Decode one Event proto (fields this module does not write are skipped). */
export function decodeEvent(b: Uint8Array): Event {
  const e: Event = { wall_time: 0, step: 0 };
  for (const f of decodeFields(b) as ProtoField[]) {
    if (f.field === 1) e.wall_time = read.double(f);
    else if (f.field === 2) e.step = read.int(f);
    else if (f.field === 3) e.file_version = read.string(f);
    else if (f.field === 5) {
      const value = decodeFields(read.bytes(f)).filter((x) => x.field === 1).map((x) => decodeValue(read.bytes(x)));
      e.summary = { value: [...(e.summary?.value ?? []), ...value] };
    }
  }
  return e;
}

/** Read every event of a TensorBoard event file, verifying both CRCs of every record. */
export async function readEvents(file: string): Promise<Event[]> {
  let b: Uint8Array;
  try {
    b = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`);
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const events: Event[] = [];
  for (let pos = 0, i = 0; pos < b.length; i++) {
    const where = `record ${i} at byte ${pos}`;
    if (pos + 12 > b.length) throw new FileError(file, `${where}: truncated header`);
    if (dv.getUint32(pos + 8, true) !== maskedCrc32c(b.subarray(pos, pos + 8))) throw new FileError(file, `${where}: length CRC mismatch (corrupt)`);
    const n = dv.getBigUint64(pos, true);
    if (n > BigInt(b.length - pos - 16)) throw new FileError(file, `${where}: truncated (length ${n}, ${b.length - pos - 16} bytes left)`);
    const data = b.subarray(pos + 12, pos + 12 + Number(n));
    if (dv.getUint32(pos + 12 + Number(n), true) !== maskedCrc32c(data)) throw new FileError(file, `${where}: data CRC mismatch (corrupt)`);
    try {
      events.push(decodeEvent(data));
    } catch (err) {
      throw new FileError(file, `${where}: bad Event proto (${(err as Error).message})`);
    }
    pos += 16 + Number(n);
  }
  return events;
}
