// The builtin prompt upsampler: deterministic expansion of a short prompt into the descriptive
// caption style the model was trained on (Sora technical report, "Language understanding": short
// prompts are turned into longer detailed captions like the training captions). Every attribute
// the prompt states (colour, shape, size, motion, direction, background) is kept; unstated ones are
// filled with the vocabulary's most common values; words it does not recognise are kept verbatim
// in a closing sentence so nothing the user asked for is lost.
import { FlagError } from '../../util/errors.js';
import { article, backgroundPhrase, sentence, SHAPE_WORDS } from '../caption/style.js';
import { BACKGROUND_COLORS, defaultVocabulary, MOTION_WORDS, mostCommon, OBJECT_COLORS, SIZE_CANON, type Vocabulary } from './vocabulary.js';
import type { PromptUpsampler } from './upsampler.js';

const STOPWORDS = new Set(
  'a an the on in of with and is are to from at into onto over against background it its that then very some one object objects thing scene video clip shot of while as by for its this there which who then and or each other way floor ground plain'.split(' '),
);
const COUNT_WORDS: Readonly<Record<string, number>> = { one: 1, single: 1, two: 2, both: 2, pair: 2, three: 3, four: 4, '1': 1, '2': 2, '3': 3, '4': 4 };
const DIRECTION_WORDS: Readonly<Record<string, string>> = { left: 'left', leftward: 'left', leftwards: 'left', right: 'right', rightward: 'right', rightwards: 'right', up: 'up', upward: 'up', upwards: 'up', down: 'down', downward: 'down', downwards: 'down' };

export interface ParsedPrompt {
  colors: string[];
  /** Number of objects stated ("two balls", "3 cubes"); 1 when unstated. */
  count: number;
  shape?: string;
  size?: string;
  motion?: string;
  direction?: string;
  background?: string;
  /** Content words not recognised (kept verbatim). */
  leftover: string[];
}

/** Recognise the attributes a prompt states. */
export function parsePrompt(prompt: string): ParsedPrompt {
  let text = prompt.toLowerCase().replace(/gray/g, 'grey');
  const out: ParsedPrompt = { colors: [], count: 1, leftover: [] };
  // "on a dark blue background", "dark blue background", "background: black"
  const bgRe = new RegExp(`(?:\\b(${BACKGROUND_COLORS.join('|')})\\s+background\\b|\\bbackground\\s*(?:is|:)?\\s*(${BACKGROUND_COLORS.join('|')})\\b)`);
  const bg = bgRe.exec(text);
  if (bg) {
    out.background = bg[1] ?? bg[2];
    text = text.replace(bg[0], ' ');
  }
  const words = text.match(/[a-z-]+|\d+/g) ?? [];
  for (const w of words) {
    const sing = w.endsWith('s') && SHAPE_WORDS[w.slice(0, -1)] ? w.slice(0, -1) : w;
    if (COUNT_WORDS[w] !== undefined) out.count = Math.max(out.count, COUNT_WORDS[w]);
    else if ((OBJECT_COLORS as readonly string[]).includes(w)) {
      if (!out.colors.includes(w)) out.colors.push(w);
    } else if (SHAPE_WORDS[sing] && !out.shape) out.shape = SHAPE_WORDS[sing];
    else if (SIZE_CANON[w] && !out.size) out.size = SIZE_CANON[w];
    else if (MOTION_WORDS[w] && (!out.motion || out.motion === 'move')) out.motion = MOTION_WORDS[w];
    else if (DIRECTION_WORDS[w] && !out.direction) out.direction = DIRECTION_WORDS[w];
    else if (SHAPE_WORDS[sing] || SIZE_CANON[w] || MOTION_WORDS[w] || DIRECTION_WORDS[w]) continue;
    else if (!STOPWORDS.has(w)) out.leftover.push(w);
  }
  return out;
}

function dirPhrase(direction: string | undefined, fallback: string): string {
  switch (direction) {
    case 'left':
      return 'from right to left';
    case 'right':
      return 'from left to right';
    case 'up':
      return 'upward';
    case 'down':
      return 'downward';
    default:
      return fallback;
  }
}

/** The expansion of a parsed prompt with `vocab` filling what is unstated. */
export function expandPrompt(p: ParsedPrompt, vocab: Vocabulary): string {
  const color = p.colors[0] ?? mostCommon(vocab.colors, 'red');
  const shape = p.shape ?? mostCommon(vocab.shapes, 'ball');
  const size = p.size ?? mostCommon(vocab.sizes, 'small');
  const motion = p.motion ?? mostCommon(vocab.motions, 'bounce');
  const bg = backgroundPhrase(p.background ?? mostCommon(vocab.backgrounds, 'dark grey'));
  const noun = `${size} ${color} ${shape}`;
  const subj = `${article(noun)} ${noun}`;
  const start = p.direction === 'left' ? 'top right' : 'top left';
  let body: string;
  switch (motion) {
    case 'bounce':
      body = `${subj} falls from the ${start} and bounces on the grey floor three times, each bounce lower than the last${p.direction === 'left' || p.direction === 'right' ? `, drifting ${dirPhrase(p.direction, '')}` : ''}, ${bg}`;
      break;
    case 'fall':
      body = `${subj} falls ${p.direction === 'up' ? 'upward against gravity' : 'from the top of the frame'} and lands on the grey floor, ${bg}`;
      break;
    case 'slide':
      body = `${subj} slides steadily ${dirPhrase(p.direction, 'from left to right')} along the grey floor, slowing as it goes, ${bg}`;
      break;
    case 'roll':
      body = `${subj} rolls steadily ${dirPhrase(p.direction, 'from left to right')} along the grey floor, ${bg}`;
      break;
    case 'collide': {
      const other = p.colors[1] ?? mostCommon(vocab.colors, 'blue', [color, ...p.colors]);
      const otherShape = p.shape && p.count >= 2 ? p.shape : mostCommon(vocab.shapes, 'ball');
      const otherNoun = `${size} ${other} ${otherShape}`;
      body = `${subj} moves ${dirPhrase(p.direction, 'from left to right')} and collides with ${article(otherNoun)} ${otherNoun} coming the other way, and both bounce apart, ${bg}`;
      break;
    }
    case 'swing':
      body = `${subj} hangs from a thin string and swings back and forth like a pendulum, ${bg}`;
      break;
    case 'occlude':
      body = `${subj} moves ${dirPhrase(p.direction, 'from left to right')}, passes behind a grey wall in the middle of the frame and reappears on the other side, ${bg}`;
      break;
    case 'rest':
      body = `${subj} rests on the grey floor in the centre of the frame, ${bg}`;
      break;
    default:
      body = `${subj} moves steadily ${dirPhrase(p.direction, 'from left to right')} across the frame, ${bg}`;
  }
  // Further objects: the other stated colours, then (for "two …", "three …") the next most common ones.
  const used = motion === 'collide' ? 2 : 1;
  const colours = [...p.colors];
  while (colours.length < p.count) colours.push(mostCommon(vocab.colors, 'blue', [color, ...colours]));
  if (motion === 'collide' && colours.length < 2) colours.push(mostCommon(vocab.colors, 'blue', [color]));
  const extra = colours.slice(used).map((c) => `${article(`${size} ${c} ${shape}`)} ${size} ${c} ${shape}`);
  const parts = [sentence(body)];
  if (extra.length) parts.push(sentence(`${extra.join(' and ')} ${extra.length > 1 ? 'move' : 'moves'} the same way nearby`));
  parts.push('The camera is static.');
  return parts.join(' ');
}

export class BuiltinUpsampler implements PromptUpsampler {
  readonly name = 'builtin';
  constructor(private readonly vocab: Vocabulary = defaultVocabulary()) {}

  async upsample(prompt: string): Promise<string> {
    const p = prompt.trim();
    if (!p) throw new FlagError('prompt', 'empty prompt');
    const parsed = parsePrompt(p);
    const expanded = expandPrompt(parsed, this.vocab);
    return parsed.leftover.length ? `${expanded} ${sentence(p)}` : expanded;
  }
}
