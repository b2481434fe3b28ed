// The caption vocabulary the builtin prompt upsampler fills unstated attributes from: how often
// each colour, shape, size, motion and background word occurs in a dataset's captions (clips.jsonl,
// latent shards, or a text file of captions), or a built-in default matching the synthetic
// physics world's caption style (src/data/synth/palette.ts names, style.ts phrasing).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readClips } from '../clips.js';
import { iterateRows } from '../shards.js';
import { FileError } from '../../util/errors.js';
import { SHAPE_WORDS } from '../caption/style.js';

/** Object colours and background colours of the synthetic world (multi-word names first). */
export const OBJECT_COLORS = ['red', 'green', 'blue', 'yellow', 'orange', 'purple', 'white', 'cyan', 'pink', 'black', 'grey', 'gray', 'brown', 'magenta', 'violet', 'teal'] as const;
export const BACKGROUND_COLORS = ['dark grey', 'dark blue', 'dark green', 'dark purple', 'dark brown', 'light grey', 'black', 'grey', 'white', 'blue', 'green', 'purple', 'brown'] as const;

/** Motion keywords → canonical motion. */
export const MOTION_WORDS: Readonly<Record<string, string>> = {
  bounce: 'bounce', bounces: 'bounce', bouncing: 'bounce', bounced: 'bounce',
  fall: 'fall', falls: 'fall', falling: 'fall', fell: 'fall', drop: 'fall', drops: 'fall', dropping: 'fall', dropped: 'fall',
  slide: 'slide', slides: 'slide', sliding: 'slide', slid: 'slide', glide: 'slide', glides: 'slide',
  roll: 'roll', rolls: 'roll', rolling: 'roll', rolled: 'roll',
  collide: 'collide', collides: 'collide', colliding: 'collide', collision: 'collide', crash: 'collide', crashes: 'collide', hit: 'collide', hits: 'collide',
  swing: 'swing', swings: 'swing', swinging: 'swing', pendulum: 'swing',
  move: 'move', moves: 'move', moving: 'move', travel: 'move', travels: 'move', fly: 'move', flies: 'move',
  occlude: 'occlude', occluded: 'occlude', occludes: 'occlude', hide: 'occlude', hides: 'occlude', hidden: 'occlude', behind: 'occlude',
  rest: 'rest', rests: 'rest', still: 'rest', static: 'rest',
};

export const SIZE_CANON: Readonly<Record<string, string>> = { tiny: 'small', small: 'small', little: 'small', medium: 'medium-sized', 'medium-sized': 'medium-sized', large: 'large', big: 'large', huge: 'large' };

export interface Vocabulary {
  colors: Map<string, number>;
  shapes: Map<string, number>;
  sizes: Map<string, number>;
  motions: Map<string, number>;
  backgrounds: Map<string, number>;
  /** A few dataset captions (for few-shot prompting of model upsamplers). */
  examples: string[];
}

function bump(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

/** Count category words in `captions`. */
export function vocabularyFromCaptions(captions: readonly string[]): Vocabulary {
  const v: Vocabulary = { colors: new Map(), shapes: new Map(), sizes: new Map(), motions: new Map(), backgrounds: new Map(), examples: [] };
  for (const c of captions) {
    const text = c.toLowerCase();
    if (!text.trim()) continue;
    if (v.examples.length < 3 && !v.examples.includes(c)) v.examples.push(c);
    const bg = /([a-z]+(?: [a-z]+)?) background/.exec(text);
    if (bg) {
      const name = BACKGROUND_COLORS.find((b) => bg[1].endsWith(b));
      if (name) bump(v.backgrounds, name);
    }
    const words = text.match(/[a-z-]+/g) ?? [];
    words.forEach((w, i) => {
      const next = words[i + 1] ?? '';
      if ((OBJECT_COLORS as readonly string[]).includes(w) && words[i - 1] !== 'dark' && words[i - 1] !== 'light' && next !== 'background' && next !== 'floor' && next !== 'wall') bump(v.colors, w === 'gray' ? 'grey' : w);
      if (SHAPE_WORDS[w]) bump(v.shapes, SHAPE_WORDS[w]);
      else if (w.endsWith('s') && SHAPE_WORDS[w.slice(0, -1)]) bump(v.shapes, SHAPE_WORDS[w.slice(0, -1)]);
      if (SIZE_CANON[w]) bump(v.sizes, SIZE_CANON[w]);
      if (MOTION_WORDS[w] && !['still', 'static', 'behind', 'hit'].includes(w)) bump(v.motions, MOTION_WORDS[w]);
    });
  }
  return v;
}

/** The default vocabulary: the synthetic world's caption style. */
export function defaultVocabulary(): Vocabulary {
  const v: Vocabulary = { colors: new Map(), shapes: new Map(), sizes: new Map(), motions: new Map(), backgrounds: new Map(), examples: [] };
  OBJECT_COLORS.slice(0, 9).forEach((c, i) => v.colors.set(c, 9 - i));
  v.shapes.set('ball', 2).set('box', 1);
  v.sizes.set('small', 2).set('large', 1);
  ['bounce', 'fall', 'slide', 'collide', 'roll', 'swing', 'move'].forEach((m, i) => v.motions.set(m, 7 - i));
  ['dark grey', 'black', 'dark blue', 'dark green', 'dark purple', 'dark brown'].forEach((b, i) => v.backgrounds.set(b, 6 - i));
  return v;
}

/** Most frequent key (ties: alphabetical), or `fallback` when the map is empty. */
export function mostCommon(m: Map<string, number>, fallback: string, exclude: readonly string[] = []): string {
  let best = '';
  let bestN = -1;
  for (const [k, n] of m) {
    if (exclude.includes(k)) continue;
    if (n > bestN || (n === bestN && k < best)) {
      best = k;
      bestN = n;
    }
  }
  return best || fallback;
}

/** Fill empty categories of `v` from the default vocabulary. */
function withDefaults(v: Vocabulary): Vocabulary {
  const d = defaultVocabulary();
  return {
    colors: v.colors.size ? v.colors : d.colors,
    shapes: v.shapes.size ? v.shapes : d.shapes,
    sizes: v.sizes.size ? v.sizes : d.sizes,
    motions: v.motions.size ? v.motions : d.motions,
    backgrounds: v.backgrounds.size ? v.backgrounds : d.backgrounds,
    examples: v.examples,
  };
}

/**
 * Load the vocabulary of a dataset: a clip dataset directory (clips.jsonl), a latent shard
 * directory (manifest.json), a .jsonl file of clips, or a text file with one caption per line.
 */
export async function loadVocabulary(source: string): Promise<Vocabulary> {
  const st = await fs.stat(source).catch(() => null);
  if (!st) throw new FileError(source, 'no such file or directory (expected a clip dataset, a shard directory or a caption file)');
  const captions: string[] = [];
  if (st.isDirectory()) {
    const has = async (f: string) => (await fs.stat(path.join(source, f)).catch(() => null))?.isFile() ?? false;
    if (await has('clips.jsonl')) for (const c of await readClips(source)) captions.push(c.caption ?? '');
    else if (await has('manifest.json')) for await (const r of iterateRows(source)) captions.push(r.caption);
    else throw new FileError(source, 'neither a clip dataset (clips.jsonl) nor a latent shard directory (manifest.json)');
  } else {
    const text = await fs.readFile(source, 'utf8');
    if (source.endsWith('.jsonl')) {
      text.split('\n').forEach((line, i) => {
        if (!line.trim()) return;
        try {
          const o = JSON.parse(line) as { caption?: unknown };
          if (typeof o.caption === 'string') captions.push(o.caption);
        } catch {
          throw new FileError(source, `line ${i + 1}: not valid JSON`);
        }
      });
    } else captions.push(...text.split('\n'));
  }
  if (!captions.some((c) => c.trim())) throw new FileError(source, 'has no captions to learn a vocabulary from');
  return withDefaults(vocabularyFromCaptions(captions));
}
