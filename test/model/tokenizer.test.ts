// Byte-level BPE: round trips, compression on training text, determinism, padding, file errors.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpeTokenizer, preTokenize } from '../../src/model/tokenizer.js';
import { FileError } from '../../src/util/errors.js';
import { tmpDir } from '../helpers.js';

const CORPUS = [
  'A small red ball falls from the top left and bounces on the floor twice, against a plain dark grey background.',
  'A large blue box slides steadily from left to right, slowing as it goes, against a plain black background.',
  'A small green ball falls from the top right and bounces on the floor three times, each bounce lower than the last.',
  'Meanwhile, a small yellow ball moves quickly from right to left. The camera is static.',
  'A large purple box rests in the centre, against a plain dark blue background. The clip lasts 2.0 seconds.',
];

describe('BpeTokenizer', () => {
  const tok = BpeTokenizer.train(CORPUS, 400);

  it('round-trips arbitrary unicode, including bytes never seen in training', () => {
    const texts = ['héllo wörld — naïve café', 'emoji 🎈🚀👩‍👩‍👧 and 漢字, Ελληνικά, עברית', '  spaces\tand\nnewlines  ', '', 'A small red ball falls.'];
    for (const t of texts) {
      expect(tok.decode(tok.encode(t))).toBe(t);
      expect(tok.decode(tok.encode(t, { addSpecial: false }))).toBe(t);
    }
  });

  it('merges shorten the training text well below its byte length', () => {
    for (const t of CORPUS) {
      const ids = tok.encode(t, { addSpecial: false });
      expect(ids.length).toBeLessThan(Buffer.byteLength(t) * 0.6);
      expect(ids.some((id) => id >= 256)).toBe(true);
    }
  });

  it('has the requested vocabulary size with specials after the merges', () => {
    const t330 = BpeTokenizer.train(CORPUS, 330);
    expect(t330.vocabSize).toBe(330);
    expect([t330.padId, t330.bosId, t330.eosId]).toEqual([327, 328, 329]);
    // This corpus runs out of repeated pairs before 400 entries: training stops there.
    expect(tok.vocabSize).toBeLessThan(400);
    expect(tok.vocabSize).toBeGreaterThan(330);
    const ids = tok.encode('red ball');
    expect(ids[0]).toBe(tok.bosId);
    expect(ids[ids.length - 1]).toBe(tok.eosId);
  });

  it('stops early when no pair repeats', () => {
    const small = BpeTokenizer.train(['ab'], 1000);
    expect(small.vocabSize).toBe(259);
  });

  it('trains deterministically, independent of the order of the texts', () => {
    const a = BpeTokenizer.train(CORPUS, 350).toJSON();
    const b = BpeTokenizer.train([...CORPUS].reverse(), 350).toJSON();
    expect(b).toEqual(a);
    // The first merge is the most frequent pair: ' ' + 'a' or similar, and ties go to the smaller ids.
    const tie = BpeTokenizer.train(['ab cd'], 260).toJSON(); // every pair occurs once → no merges
    expect(tie.merges).toEqual([]);
    const tie2 = BpeTokenizer.train(['ab cd ab cd'], 260).toJSON(); // 'ab', ' c', 'cd' tie at 2 (and ' a' once)
    expect(tie2.merges).toEqual([[32, 99]]);
  });

  it('truncates keeping eos and pads batches with a mask', () => {
    const ids = tok.encode(CORPUS[0], { maxLen: 5 });
    expect(ids.length).toBe(5);
    expect(ids[0]).toBe(tok.bosId);
    expect(ids[4]).toBe(tok.eosId);
    const { ids: b, mask } = tok.encodeBatch(['red', CORPUS[1]], 8);
    expect(b.length).toBe(16);
    const n0 = tok.encode('red').length;
    expect(Array.from(mask.slice(0, 8))).toEqual(Array.from({ length: 8 }, (_, i) => (i < n0 ? 1 : 0)));
    expect(b[n0]).toBe(tok.padId);
    expect(Array.from(mask.slice(8))).toEqual(new Array(8).fill(1));
    expect(b[15]).toBe(tok.eosId);
  });

  it('pre-tokenizes into words with their leading space', () => {
    expect(preTokenize("it's a red-ball, 42x!")).toEqual(['it', "'s", ' a', ' red', '-', 'ball', ',', ' 42', 'x', '!']);
  });

  it('saves and loads tokenizer.json', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'tokenizer.json');
    await tok.save(file);
    const back = await BpeTokenizer.load(file);
    expect(back.toJSON()).toEqual(tok.toJSON());
    expect(back.encode(CORPUS[2])).toEqual(tok.encode(CORPUS[2]));
  });

  it('rejects malformed files with a one-line FileError naming the file', async () => {
    const dir = tmpDir();
    const cases: Array<[string, RegExp]> = [
      ['{not json', /not valid JSON/],
      ['[]', /not a JSON object/],
      [JSON.stringify({ type: 'other', version: 1 }), /"type" must be/],
      [JSON.stringify({ ...tok.toJSON(), merges: [[1, 300]] }), /merge 0 must be a pair of ids below 256/],
      [JSON.stringify({ ...tok.toJSON(), merges: [[1, 2], [1, 2]], special: { pad: 258, bos: 259, eos: 260 } }), /repeats the pair/],
      [JSON.stringify({ ...tok.toJSON(), special: { pad: 0, bos: 1, eos: 2 } }), /"special" must be/],
    ];
    for (const [i, [text, re]] of cases.entries()) {
      const file = path.join(dir, `bad-${i}.json`);
      writeFileSync(file, text);
      const err = await BpeTokenizer.load(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileError);
      expect((err as FileError).message).toMatch(re);
      expect((err as FileError).message.startsWith(file)).toBe(true);
    }
    await expect(BpeTokenizer.load(path.join(dir, 'missing.json'))).rejects.toThrow(/no such file/);
    expect(() => BpeTokenizer.train(CORPUS, 100)).toThrow(/>= 259/);
    expect(() => tok.decode([tok.vocabSize])).toThrow(/outside the vocabulary/);
  });
});
