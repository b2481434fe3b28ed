// TensorBoard event files: hand-built TFRecord/Event bytes, round trips through the CRC-checking
// reader, corruption, periodic and at-exit flushing.
import { describe, expect, it } from 'vitest';
import { promises as fs, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { EventWriter, encodeEvent, frameRecord, readEvents } from '../../src/train/tensorboard.js';
import { maskedCrc32c } from '../../src/util/crc32c.js';
import { FileError } from '../../src/util/errors.js';
import { tmpDir } from '../helpers.js';

const f64 = (x: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [...b];
};
const u32 = (x: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(x);
  return [...b];
};
const ascii = (s: string) => [...Buffer.from(s, 'ascii')];
// A tiny valid 1×1 PNG is not needed: the event stores the bytes opaquely.
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

describe('event encoding', () => {
  it('encodes a scalar event as the protos specify', () => {
    const value = [0x0a, 0x04, ...ascii('loss'), 0x15, ...u32(0x3f000000)]; // tag=1 "loss", simple_value=2 0.5f
    const summary = [0x0a, value.length, ...value]; // value=1
    const want = [0x09, ...f64(1.5), 0x10, 0x07, 0x2a, summary.length, ...summary]; // wall_time=1, step=2, summary=5
    const got = encodeEvent({ wall_time: 1.5, step: 7, summary: { value: [{ tag: 'loss', simple_value: 0.5 }] } });
    expect([...got]).toEqual(want);
  });
  it('frames records as TFRecord', () => {
    const data = new Uint8Array([1, 2, 3]);
    const r = frameRecord(data);
    expect([...r]).toEqual([3, 0, 0, 0, 0, 0, 0, 0, ...u32(maskedCrc32c(new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0]))), 1, 2, 3, ...u32(maskedCrc32c(data))]);
  });
});

describe('EventWriter', () => {
  const dir = tmpDir();

  it('writes file_version first, then scalars and images that read back', async () => {
    const d = path.join(dir, 'run1');
    const w = new EventWriter(d);
    expect(path.basename(w.file)).toMatch(new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    w.scalar('loss', 0.25, 1);
    w.scalar('loss', -3, 2);
    w.scalar('lr', NaN, 2);
    w.image('samples/0', PNG, 16, 24, 2);
    await w.flush();
    w.scalar('grad_norm', 1e6, 3);
    await w.close();
    expect(() => w.scalar('loss', 1, 4)).toThrow(/event writer is closed/);

    const bytes = await fs.readFile(w.file);
    const ev = await readEvents(w.file);
    // first record, byte for byte: Event{wall_time, file_version=3 "brain.Event:2"}
    const first = [0x09, ...f64(ev[0].wall_time), 0x1a, 13, ...ascii('brain.Event:2')];
    expect([...bytes.subarray(0, 16 + first.length)]).toEqual([...frameRecord(new Uint8Array(first))]);
    expect(Math.abs(ev[0].wall_time - Date.now() / 1000)).toBeLessThan(60);

    expect(ev.map((e) => [e.step, e.summary?.value[0].tag, e.summary?.value[0].simple_value])).toEqual([
      [0, undefined, undefined], [1, 'loss', 0.25], [2, 'loss', -3], [2, 'lr', NaN], [2, 'samples/0', undefined], [3, 'grad_norm', 1e6],
    ]);
    const im = ev[4].summary!.value[0].image!;
    expect({ ...im, encoded_image_string: [...im.encoded_image_string] }).toEqual({ height: 16, width: 24, colorspace: 3, encoded_image_string: [...PNG] });
  });

  it('never shares a file with another writer', async () => {
    const d = path.join(dir, 'run2');
    const a = new EventWriter(d);
    const b = new EventWriter(d);
    expect(a.file).not.toBe(b.file);
    await Promise.all([a.close(), b.close()]);
    expect(readdirSync(d)).toHaveLength(2);
  });

  it('rejects bad arguments', async () => {
    const w = new EventWriter(path.join(dir, 'run3'));
    expect(() => w.scalar('', 1, 0)).toThrow('tensorboard: tag must be a non-empty string');
    expect(() => w.scalar('loss', 1, 1.5)).toThrow('tensorboard: loss: step must be an integer, got 1.5');
    expect(() => w.image('im', PNG, 0, 4, 0)).toThrow('tensorboard: im: image size must be positive integers, got 4x0');
    expect(() => w.image('im', PNG, 4, 4, 0, 5)).toThrow('tensorboard: im: channels must be 1..4, got 5');
    await w.close();
  });

  it('flushes periodically without being asked', async () => {
    const w = new EventWriter(path.join(dir, 'run4'), { flushSeconds: 0.05 });
    w.scalar('loss', 1, 1);
    expect(await readEvents(w.file)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await readEvents(w.file)).map((e) => e.step)).toEqual([0, 1]);
    await w.close();
  });

  it('flushes at process exit', async () => {
    const d = path.join(dir, 'run5');
    const mod = path.resolve(import.meta.dirname, '../../dist/train/tensorboard.js'); // built by `npx tsc -p .`, as runCli needs
    const code = `import(${JSON.stringify(mod)}).then((m) => { const w = new m.EventWriter(${JSON.stringify(d)}); w.scalar('loss', 2, 9); process.exit(0); });`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [f] = readdirSync(d);
    const ev = await readEvents(path.join(d, f));
    expect(ev.map((e) => [e.step, e.summary?.value[0].simple_value])).toEqual([[0, undefined], [9, 2]]);
  });
});

describe('readEvents on bad files', () => {
  const dir = tmpDir();
  const make = async (name: string, mutate: (b: Buffer) => Buffer) => {
    const w = new EventWriter(path.join(dir, name));
    w.scalar('loss', 1, 1);
    await w.close();
    await fs.writeFile(w.file, mutate(await fs.readFile(w.file)));
    return w.file;
  };
  const err = async (file: string) => {
    try {
      await readEvents(file);
    } catch (e) {
      expect(e).toBeInstanceOf(FileError);
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };

  it('reports CRC mismatches, truncation and missing files with the record position', async () => {
    const first = 16 + 24; // the file_version record
    let f = await make('a', (b) => ((b[first + 14] ^= 0xff), b));
    expect(await err(f)).toBe(`${f}: record 1 at byte ${first}: data CRC mismatch (corrupt)`);
    f = await make('b', (b) => ((b[first] ^= 1), b));
    expect(await err(f)).toBe(`${f}: record 1 at byte ${first}: length CRC mismatch (corrupt)`);
    f = await make('c', (b) => b.subarray(0, b.length - 3));
    expect(await err(f)).toMatch(new RegExp(`record 1 at byte ${first}: truncated \\(length \\d+, \\d+ bytes left\\)$`));
    f = await make('d', (b) => b.subarray(0, first + 5));
    expect(await err(f)).toBe(`${f}: record 1 at byte ${first}: truncated header`);
    f = await make('e', (b) => {
      const junk = new Uint8Array([0x0b]); // wire type 3: not a valid Event
      return Buffer.concat([b, frameRecord(junk)]);
    });
    expect(await err(f)).toMatch(/record 2 at byte \d+: bad Event proto \(unsupported wire type 3 for field 1 at byte 0\)/);
    expect(await err(path.join(dir, 'none'))).toBe(`${path.join(dir, 'none')}: no such file`);
  });
});
