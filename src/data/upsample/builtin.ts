// The builtin prompt upsampler: deterministic expansion of a short prompt into the descriptive
// caption style the model was trained on (Sora technical report, "Language understanding": short
// prompts are turned into longer detailed captions like the training captions). The expansion uses
// the phrasing of the ground-truth captioner (src/data/caption/truth.ts) clause for clause, so a
// model trained on those captions sees its own caption style, and a truth caption comes back
// unchanged. Every attribute the prompt states (per object: colour, shape, size, motion,
// direction, start, speed, bounce count, coming to rest; the background) is kept; unstated ones
// are filled with the vocabulary's most common values; words it does not recognise are kept
// verbatim in a closing sentence so nothing the user asked for is lost.
import { FlagError } from '../../util/errors.js';
import { article, backgroundPhrase, directionPhrase, durationSentence, sentence, SHAPE_WORDS, timesWord } from '../caption/style.js';
import { BACKGROUND_COLORS, defaultVocabulary, MOTION_WORDS, mostCommon, OBJECT_COLORS, SIZE_CANON, type Vocabulary } from './vocabulary.js';
import type { PromptUpsampler, UpsampleContext } from './upsampler.js';

const STOPWORDS = new Set(
  'a an the on in of with and is are to from at into onto over against background it its that then very some one object objects thing scene video clip shot while as by for this there which who or each other way floor ground plain meanwhile'.split(' '),
);
/** Words of the synthetic world's captions that carry no attribute of their own here (not "unrecognised"). */
const KNOWN = new Set(
  ('left right up down top bottom centre center middle side straight toward towards across along around back forth like string wall walls grey gray lower last higher than ' +
    'time times once twice thrice steady speed slow slows slowing slowed until stop stops stopping stopped comes come coming rest lands land landing stays stay ' +
    'drifting drift drifts starting start starts camera seconds second lasts frame nearby same direction head-on knocked keeps apart after before ' +
    'textured gradient dark light hangs hang hanging disappears disappear reappears reappear stands standing elastic inelastic angle gravity ' +
    'diagonally sitting lying head collide collision five six seven eight nine upward upwards downward downwards leftward leftwards rightward rightwards').split(' '),
);
const COUNT_WORDS: Readonly<Record<string, number>> = { one: 1, single: 1, two: 2, both: 2, pair: 2, three: 3, four: 4, '1': 1, '2': 2, '3': 3, '4': 4 };
const SPEED_WORDS: Readonly<Record<string, string>> = { slowly: 'slowly', slow: 'slowly', steadily: 'steadily', quickly: 'quickly', fast: 'quickly', rapidly: 'quickly' };
const BOUNCE_COUNT: Readonly<Record<string, number>> = { once: 1, twice: 2, thrice: 3, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6 };
/** Words that make a following "left"/"right"/"up"/"down" a place, not a direction. */
const PLACE_BEFORE = new Set(['top', 'bottom', 'the', 'at', 'on', 'in', 'from', 'of', 'upper', 'lower']);
const NON_OBJECT = new Set(['floor', 'wall', 'walls', 'string', 'ground']);

/** One object as the prompt states it; unset fields are filled from the first object, then the vocabulary. */
export interface ObjectSpec {
  color?: string;
  shape?: string;
  size?: string;
  motion?: string;
  /** Where the object goes: left, right, up or down. */
  direction?: string;
  /** "top left" / "top right" / "top" when the prompt says where a falling object starts. */
  top?: string;
  /** Where a moving object starts ("starting at the bottom right"). */
  start?: string;
  speed?: string;
  /** Number of bounces ("bounces twice", "3 times"). */
  bounces?: number;
  /** The object ends at rest ("comes to rest", "stops"); false when it only slows down; unset when not said. */
  stops?: boolean;
}

export interface ParsedPrompt {
  /** The objects in the order the prompt names them (at least one). */
  objects: ObjectSpec[];
  /** Every object colour named, in order. */
  colors: string[];
  /** Number of objects stated ("two balls", "3 cubes"); 1 when unstated. */
  count: number;
  background?: string;
  /** Content words not recognised (kept verbatim). */
  leftover: string[];
}

const GOAL: Readonly<Record<string, string>> = { left: 'left', right: 'right', top: 'up', bottom: 'down' };
const OPPOSITE: Readonly<Record<string, string>> = { left: 'right', right: 'left', up: 'down', down: 'up' };

/**
 * The direction of motion a text states, read from phrases rather than the first direction word:
 * "from left to right" → right (the goal of a from…to span), "to the left" / "towards the right" /
 * "leftward" → that way, "in from the left" → right (where it starts), "slides left" / "goes down"
 * → that way. Region words ("falls from the top left", "starting at the bottom right",
 * "reappears on the right") are not directions.
 */
export function statedDirection(text: string): string | undefined {
  const t = text.toLowerCase();
  const diag = /\bdiagonally\s+(?:toward|towards|to)\s+the\s+(top|bottom)\s+(left|right)\b/.exec(t);
  if (diag) return `${diag[1]} ${diag[2]}`;
  const span = /\b(left|right|top|bottom)(?:\s+side)?\s+to\s+(?:the\s+)?(left|right|top|bottom)\b/.exec(t);
  if (span && span[1] !== span[2]) return GOAL[span[2]];
  const toward = /\b(?:to|towards?|heading|goes|going)\s+(?:the\s+)?(left|right)\b/.exec(t);
  if (toward) return toward[1];
  const ward = /\b(left|right|up|down)wards?\b/.exec(t);
  if (ward) return ward[1];
  const from = /\bfrom\s+the\s+(left|right)\b/.exec(t);
  if (from) return OPPOSITE[from[1]];
  const words = t.match(/[a-z-]+/g) ?? [];
  for (let i = 0; i < words.length; i++) {
    if (['left', 'right', 'up', 'down'].includes(words[i]) && !PLACE_BEFORE.has(words[i - 1] ?? '')) return words[i];
  }
  return undefined;
}

/** The attributes one clause states about its object(s); `leftover` collects unrecognised words. */
function parseClause(text: string, leftover: string[], refs: { color: string; shape?: string }[]): { spec: ObjectSpec; colors: string[]; sizes: Map<string, string>; count: number } {
  const spec: ObjectSpec = {};
  const colors: string[] = [];
  const sizes = new Map<string, string>(); // colour → the size word right before it
  let count = 1;
  spec.direction = statedDirection(text);
  const top = /\bfrom the (top(?:\s+(?:left|right))?)\b/.exec(text) ?? /\b(top\s+(?:left|right))\b/.exec(text);
  if (top) spec.top = top[1];
  const start = /\bstarting (?:at|on|in) the ((?:top|bottom)(?:\s+(?:left|right))?|left|right|centre|center)\b/.exec(text);
  if (start) spec.start = start[1].replace('center', 'centre');
  const times = /\b(once|twice|thrice|(\d+|one|two|three|four|five|six)\s+times)\b/.exec(text);
  if (times) spec.bounces = BOUNCE_COUNT[times[1]] ?? BOUNCE_COUNT[times[2]] ?? Number(times[2]);
  if (/\b(?:comes?|coming) to (?:a )?(?:rest|stop)\b|\bstops\b|\bstopping\b|\bstays still\b|\bto a stop\b/.test(text)) spec.stops = true;
  else if (/\bslow(?:s|ing)? down\b|\bslowing\b/.test(text)) spec.stops = false;
  const words = text.match(/[a-z-]+|\d+(?:\.\d+)?/g) ?? [];
  words.forEach((w, i) => {
    const sing = w.endsWith('s') && SHAPE_WORDS[w.slice(0, -1)] ? w.slice(0, -1) : w;
    const next = words[i + 1] ?? '';
    const nextSing = next.endsWith('s') && SHAPE_WORDS[next.slice(0, -1)] ? next.slice(0, -1) : next;
    // "two balls", "3 red cubes": a count only before an object word (not "2.1 seconds", "two times")
    const countsObjects = SHAPE_WORDS[nextSing] !== undefined || (OBJECT_COLORS as readonly string[]).includes(next) || SIZE_CANON[next] !== undefined;
    if (COUNT_WORDS[w] !== undefined && countsObjects) count = Math.max(count, COUNT_WORDS[w]);
    else if ((OBJECT_COLORS as readonly string[]).includes(w)) {
      // the floor, the wall and the string are not objects: "a grey floor" names no grey object;
      // "collides with the blue ball" refers to an object named elsewhere (added later if it is not)
      const ref = words[i - 1] === 'the' || (words[i - 2] === 'the' && SIZE_CANON[words[i - 1]] !== undefined);
      if (NON_OBJECT.has(next)) return;
      if (ref) refs.push({ color: w, shape: SHAPE_WORDS[nextSing] });
      else if (!colors.includes(w)) {
        colors.push(w);
        if (SIZE_CANON[words[i - 1]]) sizes.set(w, SIZE_CANON[words[i - 1]]);
      }
    } else if (SHAPE_WORDS[sing] && !spec.shape) spec.shape = SHAPE_WORDS[sing];
    else if (SIZE_CANON[w] && !spec.size) spec.size = SIZE_CANON[w];
    else if (MOTION_WORDS[w] && (!spec.motion || spec.motion === 'move')) spec.motion = MOTION_WORDS[w];
    else if (SPEED_WORDS[w] && !spec.speed) spec.speed = SPEED_WORDS[w];
    else if (SHAPE_WORDS[sing] || SIZE_CANON[w] || MOTION_WORDS[w] || SPEED_WORDS[w] || COUNT_WORDS[w] !== undefined || KNOWN.has(w) || /^\d/.test(w)) return;
    else if (!STOPWORDS.has(w)) leftover.push(w);
  });
  // "falls … and bounces twice" is a bounce (truth.ts describes every bouncing fall that way);
  // "rolls …, disappears behind the wall" is an occlusion
  if (spec.motion === 'fall' && words.some((w) => MOTION_WORDS[w] === 'bounce')) spec.motion = 'bounce';
  if (spec.motion && spec.motion !== 'occlude' && /\b(?:disappears|passes|goes|hidden|hides) behind\b/.test(text)) spec.motion = 'occlude';
  // "rolling … collide head-on", "rolls … and hits": the collision is the scene
  if (words.some((w) => MOTION_WORDS[w] === 'collide')) spec.motion = 'collide';
  if (colors.length) spec.color = colors[0];
  return { spec, colors, sizes, count };
}

/** Recognise the attributes a prompt states, object by object ("…, while a …", "Meanwhile, a …", sentences). */
export function parsePrompt(prompt: string): ParsedPrompt {
  let text = prompt.toLowerCase().replace(/gray/g, 'grey');
  const out: ParsedPrompt = { objects: [], colors: [], count: 1, leftover: [] };
  const refs: { color: string; shape?: string }[] = [];
  // "on a dark blue background", "a plain black background", "a dark purple textured background", "background: black"
  const colours = BACKGROUND_COLORS.join('|');
  const bgRe = new RegExp(`(?:\\b(${colours})(\\s+(?:textured|gradient))?\\s+background\\b|\\bbackground\\s*(?:is|:)?\\s*(${colours})\\b)`);
  const bg = bgRe.exec(text);
  if (bg) {
    out.background = bg[1] ? `${bg[1]}${bg[2] ?? ''}` : bg[3];
    text = text.replace(bg[0], ' ');
  }
  // the camera and duration sentences describe no object
  text = text.replace(/\bthe camera is static\.?/g, ' ').replace(/\bthe clip lasts [\d.]+ seconds?\.?/g, ' ');
  // one clause per object: sentences, "…, while a …", "Meanwhile, a …", "… and a small blue ball …"
  const clauses = text.split(/(?:\.\s+|\.$|,?\s+while\s+|\bmeanwhile,?\s+|;\s*|,?\s+and\s+(?=(?:an?|the)\s+(?:[a-z-]+\s+){0,2}(?:ball|box|cube|sphere|block)))/).filter((c) => c.trim());
  for (const c of clauses.length ? clauses : [text]) {
    const { spec, colors, sizes, count } = parseClause(c, out.leftover, refs);
    out.count = Math.max(out.count, count);
    // a clause naming no object of its own ("… collide head-on") adds to the previous one
    if (!colors.length && !spec.shape && out.objects.length) {
      const prev = out.objects[out.objects.length - 1];
      for (const [k, v] of Object.entries(spec) as [keyof ObjectSpec, never][]) if (v !== undefined && prev[k] === undefined) prev[k] = v;
      continue;
    }
    const stillSecond = /\b(?:standing|sitting|lying) still\b|\bat rest\b/.test(c);
    colors.forEach((col, i) => {
      const other: ObjectSpec = { ...spec, color: col, size: sizes.get(col) ?? spec.size, direction: spec.motion === 'collide' ? undefined : spec.direction, ...(stillSecond ? { motion: 'rest', direction: undefined } : {}) };
      out.objects.push(i === 0 ? spec : other);
      if (!out.colors.includes(col)) out.colors.push(col);
    });
    if (!colors.length) out.objects.push(spec);
  }
  // a collision involves the objects it names: "A rolling … and B rolling … collide head-on" is a collide scene
  if (out.objects.some((o) => o.motion === 'collide')) {
    out.objects[0].motion = 'collide';
    if (out.objects[1] && out.objects[1].motion !== 'rest' && !/\bmoves?\b/.test(text)) out.objects[1].motion = 'collide';
  }
  // objects only referred to ("hits the blue ball") are objects too
  for (const r of refs) {
    if (out.colors.includes(r.color)) continue;
    out.colors.push(r.color);
    out.objects.push({ color: r.color, shape: r.shape, motion: out.objects.length && out.objects[0].motion === 'collide' ? 'collide' : undefined });
  }
  if (!out.objects.length) out.objects.push({});
  return out;
}

/** Unit steps of the directions a prompt can state, for style.ts's directionPhrase (the truth captioner's wording). */
const STEP: Readonly<Record<string, [number, number]>> = {
  left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1],
  'top left': [-1, -1], 'top right': [1, -1], 'bottom left': [-1, 1], 'bottom right': [1, 1],
};

function dirPhrase(direction: string | undefined, fallback: string): string {
  const step = direction ? STEP[direction] : undefined;
  return step ? directionPhrase(step[0], step[1]) : fallback;
}

/** Where an object moving in `direction` starts, as truth.ts's regionWord names it for an object on the floor. */
function startRegion(direction: string | undefined): string {
  return direction === 'left' ? 'bottom right' : direction === 'up' ? 'bottom' : direction === 'down' ? 'top' : 'bottom left';
}

/** One object's motion clause in truth.ts's words; `other` is the object it collides with. */
function motionClause(o: Required<Pick<ObjectSpec, 'color' | 'shape' | 'motion'>> & ObjectSpec, other?: { color: string; shape: string }): string {
  const horizontal = o.direction === 'left' || o.direction === 'right';
  const dir = dirPhrase(o.direction, 'from left to right');
  const speed = o.speed ?? 'steadily';
  const top = o.top ?? (o.direction === 'left' ? 'top right' : o.direction === 'right' ? 'top left' : 'top');
  // truth.ts leaves the start out when the direction says it ("from left to right" starting at the left)
  const start = o.start ?? (horizontal || !o.direction ? undefined : startRegion(o.direction));
  const startSuffix = start ? `, starting at the ${start}` : '';
  switch (o.motion) {
    case 'bounce': {
      const n = o.bounces ?? 2;
      return `falls from the ${top} and bounces ${timesWord(n)} on the grey floor${n > 1 ? ', each bounce lower than the last' : ''}${o.stops ? ', then comes to rest' : ''}${horizontal ? `, drifting ${dir}` : ''}`;
    }
    case 'fall': {
      if (o.direction === 'up') return `moves ${speed} upward, starting at the bottom`;
      const n = o.bounces ?? 1;
      return `falls from the ${top} and bounces ${timesWord(n)} on the grey floor${n > 1 ? ', each bounce lower than the last' : ''}, then comes to rest${horizontal ? `, drifting ${dir}` : ''}`;
    }
    case 'slide':
      return `slides ${dir} across the grey floor, slowing down${o.stops === false ? '' : ' until it stops'}`;
    case 'roll':
      return `rolls ${dir} at a steady speed along the grey floor`;
    case 'collide':
      return `moves ${speed} ${dir}${startSuffix}, collides with the ${other?.color ?? 'blue'} ${other?.shape ?? 'ball'}`;
    case 'swing':
      return 'hangs on a string and swings back and forth like a pendulum';
    case 'occlude': {
      const d = o.direction === 'left' ? 'left' : 'right';
      return `${o.shape === 'box' ? 'slides' : 'rolls'} ${speed} ${dirPhrase(d, dir)}, starting at the ${o.start ?? startRegion(d)}, disappears behind the grey wall then reappears on the ${d}`;
    }
    case 'rest':
      return 'rests in the bottom';
    default:
      return `moves ${speed} ${dir}${startSuffix}`;
  }
}

/** The expansion of a parsed prompt with `vocab` filling what is unstated; `context` adds the clip's duration. */
export function expandPrompt(p: ParsedPrompt, vocab: Vocabulary, context: UpsampleContext = {}): string {
  const first = p.objects[0];
  const main = {
    ...first,
    color: first.color ?? mostCommon(vocab.colors, 'red'),
    shape: first.shape ?? mostCommon(vocab.shapes, 'ball'),
    size: first.size ?? mostCommon(vocab.sizes, 'small'),
    motion: first.motion ?? mostCommon(vocab.motions, 'bounce'),
  };
  const bg = backgroundPhrase(p.background ?? mostCommon(vocab.backgrounds, 'dark grey'));
  // further objects: those the prompt names, then (for "two …", "three …", a collision) the next most common colours
  // a later object takes the first one's kind and way of moving where it does not state its own,
  // not its start, bounces or coming to rest (those belong to one object)
  const inherit = { shape: main.shape, size: main.size, motion: main.motion, speed: main.speed, direction: main.motion === 'collide' ? undefined : main.direction };
  const objects = [main, ...p.objects.slice(1).map((o) => ({ ...inherit, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) }) as typeof main)];
  const used = objects.map((o) => o.color);
  while (objects.length < p.count || (main.motion === 'collide' && objects.length < 2)) {
    const color = mostCommon(vocab.colors, 'blue', used);
    used.push(color);
    objects.push({ ...inherit, color });
  }
  if (main.motion === 'collide') {
    main.direction ??= 'right';
    for (const o of objects.slice(1)) if (o.motion === 'collide') o.direction ??= OPPOSITE[main.direction];
  }
  const sentences = objects.map((o, i) => {
    const noun = `${o.size} ${o.color} ${o.shape}`;
    const partner = o.motion === 'collide' ? (i === 0 ? objects[1] : main) : undefined;
    const clause = `${i === 0 ? article(noun) : 'a'} ${noun} ${motionClause(o, partner)}`;
    return sentence(i === 0 ? `${clause}, ${bg}` : i === 1 ? `Meanwhile, ${clause}` : clause);
  });
  if (objects.some((o) => o.motion === 'occlude')) sentences.push('A grey wall stands in the centre of the frame.');
  sentences.push('The camera is static.');
  const dur = context.frames && context.fps ? durationSentence(context.frames, context.fps) : '';
  if (dur) sentences.push(dur);
  return sentences.join(' ');
}

export class BuiltinUpsampler implements PromptUpsampler {
  readonly name = 'builtin';
  constructor(private readonly vocab: Vocabulary = defaultVocabulary()) {}

  async upsample(prompt: string, context: UpsampleContext = {}): Promise<string> {
    const p = prompt.trim();
    if (!p) throw new FlagError('prompt', 'empty prompt');
    const parsed = parsePrompt(p);
    const expanded = expandPrompt(parsed, this.vocab, context);
    return parsed.leftover.length ? `${expanded} ${sentence(p)}` : expanded;
  }
}
