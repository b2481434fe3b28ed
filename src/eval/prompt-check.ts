// Prompt adherence for physics clips (the "semantic adherence" axis of VideoPhy, Bansal et al.
// 2024): parse the objects a prompt names ("a small red ball"), the count, and the direction
// stated for each ("from left to right", "to the left", "falls", "rises"), and compare them with
// the tracked objects. Every mismatch is a `direction_mismatch` event (colour, count or direction).
import type { PhysicsEvent, SceneContext } from './events.js';
import { parseColorWord } from './palette.js';

export type Direction = 'left' | 'right' | 'up' | 'down';

export interface PromptObject {
  color: string;
  shape: string;
  directions: Direction[];
}

export interface PromptSpec {
  objects: PromptObject[];
  /** Stated count ("two balls"), else the number of objects named. */
  count: number | null;
}

const SHAPES = 'ball|balls|box|boxes|cube|cubes|block|blocks|sphere|spheres|object|objects|square|squares';
const NUMBERS: Record<string, number> = { one: 1, single: 1, two: 2, three: 3, four: 4, five: 5 };

/** Directions stated in a clause; none when it describes a return trip or a swing. */
function directionsIn(text: string): Direction[] {
  const t = text.toLowerCase();
  if (/\bback\b|swing|pendulum|bounces? off/.test(t)) return [];
  const hits: [number, Direction][] = [];
  const add = (re: RegExp, d: Direction) => {
    const m = re.exec(t);
    if (m) hits.push([m.index, d]);
  };
  add(/from left to right|to the right|rightwards?|toward the right|moving right|rolls? right|slides? right/, 'right');
  add(/from right to left|to the left|leftwards?|toward the left|moving left|rolls? left|slides? left/, 'left');
  add(/\b(falls?|falling|drops?|dropping|sinks?|downwards?|straight down)\b/, 'down');
  add(/\b(rises?|rising|upwards?|floats? up|flies up|goes up)\b/, 'up');
  const ds = [...new Set(hits.map((h) => h[1]))];
  // contradictory statements (left and right) say nothing
  return ds.filter((d) => !ds.includes({ left: 'right', right: 'left', up: 'down', down: 'up' }[d] as Direction));
}

/** Extract the named objects, their stated directions and the count from a prompt. */
export function parsePrompt(prompt: string): PromptSpec {
  const re = new RegExp(`\\b(?:(one|two|three|four|five|single|a|an|the)\\s+)?(?:(?:small|large|big|tiny|little)\\s+)?([a-z]+)\\s+(?:(?:small|large|big|tiny|little)\\s+)?(${SHAPES})\\b`, 'gi');
  const found: { index: number; end: number; color: string; shape: string; n: number }[] = [];
  for (const m of prompt.matchAll(re)) {
    const color = parseColorWord(m[2]);
    if (!color) continue;
    const n = m[1] ? (NUMBERS[m[1].toLowerCase()] ?? 1) : 1;
    found.push({ index: m.index ?? 0, end: (m.index ?? 0) + m[0].length, color, shape: m[3].toLowerCase().replace(/e?s$/, ''), n });
  }
  const seen = new Set<string>();
  const objects: PromptObject[] = [];
  found.forEach((f, i) => {
    const key = `${f.color} ${f.shape}`;
    if (seen.has(key)) return;
    seen.add(key);
    // the clause that follows the mention, up to the next object mention
    const stop = found[i + 1]?.index ?? prompt.length;
    objects.push({ color: f.color, shape: f.shape, directions: directionsIn(prompt.slice(f.end, stop)) });
  });
  const stated = /\b(one|two|three|four|five|single)\s+(?:[a-z]+\s+){0,2}(?:balls?|box(?:es)?|objects?|cubes?|blocks?|spheres?)\b/i.exec(prompt);
  const count = stated ? NUMBERS[stated[1].toLowerCase()] : objects.length || null;
  return { objects, count };
}

interface ObservedObject {
  id: number;
  color: string;
  first: number;
  last: number;
  track: [number, number, number, number][];
}

/** Compare a prompt with the tracked objects. */
export function promptEvents(prompt: string, objects: readonly ObservedObject[], ctx: SceneContext): PhysicsEvent[] {
  const spec = parsePrompt(prompt);
  const out: PhysicsEvent[] = [];
  const lasting = objects.filter((o) => o.track.length >= Math.max(3, 0.5 * ctx.frames));
  if (spec.count !== null && spec.count !== lasting.length) {
    out.push({ type: 'direction_mismatch', frame: 0, object: -1, detail: `count: prompt names ${spec.count} object(s), ${lasting.length} seen`, confidence: 0.6 });
  }
  for (const want of spec.objects) {
    const match = lasting.filter((o) => o.color === want.color).sort((a, b) => b.track.length - a.track.length)[0];
    if (!match) {
      const seen = lasting.map((o) => o.color).join(', ') || 'nothing';
      out.push({ type: 'direction_mismatch', frame: 0, object: -1, detail: `colour: no ${want.color} ${want.shape} (seen: ${seen})`, confidence: 0.85 });
      continue;
    }
    const a = match.track[0];
    const b = match.track[match.track.length - 1];
    const dx = b[1] - a[1];
    const dy = b[2] - a[2];
    const minMove = Math.max(2, 0.05 * Math.max(ctx.width, ctx.height));
    // prompts describe the initial motion; collisions may turn it later
    const k = match.track[Math.min(match.track.length - 1, Math.max(2, Math.floor(match.track.length / 3)))];
    const ix = k[1] - a[1];
    const iy = k[2] - a[2];
    for (const dir of want.directions) {
      const moved = { right: dx, left: -dx, down: dy, up: -dy }[dir];
      const early = { right: ix, left: -ix, down: iy, up: -iy }[dir];
      if (moved >= minMove || early >= minMove / 2) continue;
      const saw = Math.abs(dx) + Math.abs(dy) < minMove ? 'hardly at all' : Math.abs(dx) >= Math.abs(dy) ? (dx > 0 ? 'right' : 'left') : dy > 0 ? 'down' : 'up';
      const detail = `direction: the ${want.color} ${want.shape} should move ${dir}, moved ${saw} (dx ${dx.toFixed(1)}, dy ${dy.toFixed(1)} px)`;
      // clearly the other way, from the start: sure; merely not enough the stated way: a weak signal
      out.push({ type: 'direction_mismatch', frame: a[0], object: match.id, detail, confidence: moved <= -minMove && early <= 0 ? 0.9 : 0.45 });
    }
  }
  return out;
}
