// Byte-level BPE tokenizer for captions and prompts, trained by our own code on dataset captions.
// Follows Sennrich et al. 2016 ("Neural Machine Translation of Rare Words with Subword Units":
// merge the most frequent adjacent symbol pair until the vocabulary is full) on UTF-8 bytes as in
// GPT-2 (Radford et al. 2019): the base vocabulary is the 256 byte values, so any Unicode text
// round-trips and no unk token is needed; text is first split into words (an optional leading
// space plus letters, digits or punctuation) and merges never cross a word boundary.
//
// Ids: 0..255 are bytes, 256..256+M-1 are merges in training order (merge i creates id 256+i),
// then the special tokens pad, bos, eos. Ties between equally frequent pairs are broken by the
// smaller (left id, right id), so training is deterministic.
//
// tokenizer.json:
//   { "type": "spacetime-bpe", "version": 1, "pretokenizer": "bytelevel-words-v1",
//     "merges": [[left, right], ...], "special": { "pad": P, "bos": P+1, "eos": P+2 } }
// where merge i's ids are < 256 + i and P = 256 + merges.length.
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { FileError, SpacetimeError } from '../util/errors.js';

const BASE = 256;
const N_SPECIAL = 3;
const FORMAT_TYPE = 'spacetime-bpe';
const PRETOKENIZER = 'bytelevel-words-v1';

// Words: contractions, optional space + letters (with combining marks), optional space + digits,
// optional space + other non-space symbols, or whitespace runs.
const WORD_RE = /'(?:s|t|re|ve|m|ll|d)| ?[\p{L}\p{M}]+| ?\p{N}+| ?[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+/gu;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** Split text into pre-tokens (merges never cross these boundaries). */
export function preTokenize(text: string): string[] {
  return text.match(WORD_RE) ?? [];
}

function pairKey(a: number, b: number): number {
  return a * 0x200000 + b; // ids < 2^21, key < 2^42: exact in a double
}

export interface EncodeOptions {
  /** Truncate to at most this many ids (special tokens included; eos is kept at the end). */
  maxLen?: number;
  /** Wrap in bos … eos (default true). */
  addSpecial?: boolean;
}

export class BpeTokenizer {
  private readonly ranks = new Map<number, number>(); // pairKey → merge index
  private readonly pieces: Uint8Array[] = []; // id → bytes (specials: empty)
  private readonly cache = new Map<string, number[]>();

  private constructor(readonly merges: ReadonlyArray<readonly [number, number]>) {
    for (let b = 0; b < BASE; b++) this.pieces.push(Uint8Array.of(b));
    merges.forEach(([a, b], i) => {
      this.ranks.set(pairKey(a, b), i);
      const pa = this.pieces[a];
      const pb = this.pieces[b];
      const m = new Uint8Array(pa.length + pb.length);
      m.set(pa);
      m.set(pb, pa.length);
      this.pieces.push(m);
    });
    for (let i = 0; i < N_SPECIAL; i++) this.pieces.push(new Uint8Array(0));
  }

  get vocabSize(): number {
    return BASE + this.merges.length + N_SPECIAL;
  }
  get padId(): number {
    return BASE + this.merges.length;
  }
  get bosId(): number {
    return BASE + this.merges.length + 1;
  }
  get eosId(): number {
    return BASE + this.merges.length + 2;
  }

  /**
   * Learn merges from `texts` until the vocabulary (bytes + merges + 3 specials) has `vocabSize`
   * entries, or no pair occurs at least twice.
   */
  static train(texts: readonly string[], vocabSize: number): BpeTokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < BASE + N_SPECIAL) {
      throw new SpacetimeError(`tokenizer vocab size must be an integer >= ${BASE + N_SPECIAL} (256 bytes + pad, bos, eos), got ${vocabSize}`);
    }
    if (vocabSize >= 0x200000) throw new SpacetimeError(`tokenizer vocab size ${vocabSize} is too large`);
    const wordFreq = new Map<string, number>();
    for (const t of texts) for (const w of preTokenize(t)) wordFreq.set(w, (wordFreq.get(w) ?? 0) + 1);
    // Sort words so that nothing depends on insertion order.
    const entries = [...wordFreq.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const words: number[][] = entries.map(([w]) => Array.from(utf8.encode(w)));
    const freq: number[] = entries.map(([, f]) => f);

    const counts = new Map<number, number>(); // pairKey → weighted count
    const where = new Map<number, Set<number>>(); // pairKey → word indices containing it
    const add = (wi: number, sign: 1 | -1) => {
      const w = words[wi];
      for (let i = 0; i + 1 < w.length; i++) {
        const k = pairKey(w[i], w[i + 1]);
        const c = (counts.get(k) ?? 0) + sign * freq[wi];
        if (c > 0) counts.set(k, c);
        else counts.delete(k);
        if (sign > 0) {
          let s = where.get(k);
          if (!s) where.set(k, (s = new Set()));
          s.add(wi);
        }
      }
    };
    for (let wi = 0; wi < words.length; wi++) add(wi, 1);

    const merges: [number, number][] = [];
    const target = vocabSize - BASE - N_SPECIAL;
    while (merges.length < target) {
      let best = -1;
      let bestCount = 1; // a merge must occur at least twice
      for (const [k, c] of counts) {
        if (c > bestCount || (c === bestCount && c > 1 && k < best)) {
          best = k;
          bestCount = c;
        }
      }
      if (best < 0) break;
      const a = Math.floor(best / 0x200000);
      const b = best % 0x200000;
      const id = BASE + merges.length;
      merges.push([a, b]);
      for (const wi of where.get(best) ?? []) {
        const w = words[wi];
        add(wi, -1);
        const out: number[] = [];
        for (let i = 0; i < w.length; i++) {
          if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
            out.push(id);
            i++;
          } else out.push(w[i]);
        }
        words[wi] = out;
        add(wi, 1);
      }
      counts.delete(best);
      where.delete(best);
    }
    return new BpeTokenizer(merges);
  }

  /** Ids of one pre-token: apply merges in rank order (lowest rank first). */
  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let ids = Array.from(utf8.encode(word));
    while (ids.length > 1) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(pairKey(ids[i], ids[i + 1]));
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Infinity) break;
      const [a, b] = this.merges[bestRank];
      const out: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          out.push(BASE + bestRank);
          i++;
        } else out.push(ids[i]);
      }
      ids = out;
    }
    if (this.cache.size < 50_000) this.cache.set(word, ids);
    return ids;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const special = opts.addSpecial ?? true;
    const ids: number[] = [];
    for (const w of preTokenize(text)) for (const id of this.encodeWord(w)) ids.push(id);
    if (!special) return opts.maxLen !== undefined ? ids.slice(0, Math.max(0, opts.maxLen)) : ids;
    const out = [this.bosId, ...ids, this.eosId];
    if (opts.maxLen !== undefined && out.length > opts.maxLen) {
      if (opts.maxLen < 2) return out.slice(0, Math.max(0, opts.maxLen));
      return [...out.slice(0, opts.maxLen - 1), this.eosId];
    }
    return out;
  }

  /**
   * Encode a batch padded (or truncated) to `maxLen`: ids (B·L) with padId after the text,
   * mask (B·L) 1 for real tokens and 0 for padding.
   */
  encodeBatch(texts: readonly string[], maxLen: number): { ids: Int32Array; mask: Float32Array } {
    if (!Number.isInteger(maxLen) || maxLen < 1) throw new SpacetimeError(`encodeBatch: maxLen must be a positive integer, got ${maxLen}`);
    const ids = new Int32Array(texts.length * maxLen).fill(this.padId); // (B, L)
    const mask = new Float32Array(texts.length * maxLen); // (B, L)
    texts.forEach((t, b) => {
      const row = this.encode(t, { maxLen });
      ids.set(row, b * maxLen);
      mask.fill(1, b * maxLen, b * maxLen + row.length);
    });
    return { ids, mask };
  }

  /** Text of `ids`; special tokens are dropped, invalid UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    let n = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new SpacetimeError(`decode: token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
      n += this.pieces[id].length;
    }
    const bytes = new Uint8Array(n);
    let o = 0;
    for (const id of ids) {
      bytes.set(this.pieces[id], o);
      o += this.pieces[id].length;
    }
    return utf8Decoder.decode(bytes);
  }

  toJSON(): { type: string; version: number; pretokenizer: string; merges: [number, number][]; special: { pad: number; bos: number; eos: number } } {
    return {
      type: FORMAT_TYPE,
      version: 1,
      pretokenizer: PRETOKENIZER,
      merges: this.merges.map(([a, b]) => [a, b]),
      special: { pad: this.padId, bos: this.bosId, eos: this.eosId },
    };
  }

  /** Rebuild from `toJSON()` output; `file` names the source in errors. */
  static fromJSON(obj: unknown, file = 'tokenizer.json'): BpeTokenizer {
    const fail = (why: string): never => {
      throw new FileError(file, `malformed tokenizer: ${why}`);
    };
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail('not a JSON object');
    const o = obj as Record<string, unknown>;
    if (o.type !== FORMAT_TYPE) fail(`"type" must be "${FORMAT_TYPE}", got ${JSON.stringify(o.type)}`);
    if (o.version !== 1) fail(`unsupported version ${JSON.stringify(o.version)}`);
    if (o.pretokenizer !== PRETOKENIZER) fail(`unknown pretokenizer ${JSON.stringify(o.pretokenizer)}`);
    if (!Array.isArray(o.merges)) fail('"merges" must be an array');
    const merges = o.merges as unknown[];
    const seen = new Set<number>();
    const parsed = merges.map((m, i): [number, number] => {
      const ok = Array.isArray(m) && m.length === 2 && m.every((x) => Number.isInteger(x) && x >= 0 && x < BASE + i);
      if (!ok) fail(`merge ${i} must be a pair of ids below ${BASE + i}, got ${JSON.stringify(m)}`);
      const [a, b] = m as [number, number];
      if (seen.has(pairKey(a, b))) fail(`merge ${i} repeats the pair ${JSON.stringify(m)}`);
      seen.add(pairKey(a, b));
      return [a, b];
    });
    const tok = new BpeTokenizer(parsed);
    const sp = o.special as Record<string, unknown> | undefined;
    if (!sp || sp.pad !== tok.padId || sp.bos !== tok.bosId || sp.eos !== tok.eosId) {
      fail(`"special" must be {"pad":${tok.padId},"bos":${tok.bosId},"eos":${tok.eosId}} for ${parsed.length} merges`);
    }
    return tok;
  }

  /** Write tokenizer.json atomically. */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, JSON.stringify(this.toJSON()) + '\n');
  }

  static async load(file: string): Promise<BpeTokenizer> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      throw new FileError(file, 'no such file');
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      throw new FileError(file, 'malformed tokenizer: not valid JSON');
    }
    return BpeTokenizer.fromJSON(obj, file);
  }
}
