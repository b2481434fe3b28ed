// Descriptive captions written from a clip's clean ground truth (the intended motion, never a
// planted failure). One fixed vocabulary, reused by the prompt upsampler:
//   objects  "a <small|large> <colour> <ball|box>"
//   places   "from the top left", "from left to right", "on a grey floor", "behind a grey wall"
//   events   "bounces once|twice|three times", "lands", "slides … and stops", "collide head-on",
//            "disappears behind … then reappears on the right", "swings like a pendulum"
//   scene    "against a plain|<colour> gradient|<colour> textured background"
import { BACKGROUND_COLOR_NAMES, FLOOR_COLOR, OBJECT_COLOR_NAMES, WALL_COLOR } from './palette.js';
import { sizeWord } from '../caption/style.js';
import type { SceneSetup } from './scenes.js';

/** An event of the clean motion as stored in the ground truth. */
export interface ClipEvent {
  type: string;
  frame: number;
  object: number;
  other?: number;
}

/** Clean per-object trajectories and events the caption is written from. */
export interface CaptionInput {
  setup: SceneSetup;
  /** Clean centres per object per frame. */
  path: { x: number; y: number }[][];
  /** Clean simulation events plus occlusion events ('occluded', 'reappear'). */
  events: readonly ClipEvent[];
}

/** The words captions draw from, for prompt upsamplers and parsers that want the same vocabulary. */
export const VOCABULARY = {
  sizes: ['small', 'large'],
  shapes: ['ball', 'box'],
  colors: OBJECT_COLOR_NAMES,
  backgroundColors: BACKGROUND_COLOR_NAMES,
  backgroundKinds: ['plain', 'gradient', 'textured'],
  floor: `${FLOOR_COLOR.name} floor`,
  wall: `${WALL_COLOR.name} wall`,
  directions: ['from left to right', 'from right to left'],
  places: ['from the top left', 'from the top', 'from the top right'],
  verbs: ['falls', 'bounces', 'lands', 'drops straight down', 'slides', 'slows down', 'stops', 'rolls', 'collide head-on', 'collide at an angle', 'disappears behind', 'reappears', 'swings', 'hangs on a string'],
  counts: ['once', 'twice', 'three times'],
} as const;

export function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : n === 3 ? 'three times' : `${n} times`;
}

export function backgroundPhrase(setup: SceneSetup): string {
  const { kind, color } = setup.background;
  return kind === 'flat' ? `against a plain ${color} background` : `against a ${color} ${kind} background`;
}

function horiz(x: number, W: number): 'left' | 'centre' | 'right' {
  return x < W / 3 ? 'left' : x > (2 * W) / 3 ? 'right' : 'centre';
}

function direction(dx: number): string {
  return dx > 0 ? 'from left to right' : 'from right to left';
}

/** "a small red ball" */
export function objectPhrase(setup: SceneSetup, k: number): string {
  const b = setup.bodies[k];
  return `a ${sizeWord(Math.max(b.w, b.h), Math.min(setup.width, setup.height))} ${b.color} ${b.shape}`;
}

export function writeCaption({ setup, path, events }: CaptionInput): string {
  const W = setup.width;
  const T = setup.frames;
  const floor = `a ${FLOOR_COLOR.name} floor`;
  const count = (k: number, type: string) => events.filter((e) => e.type === type && (e.object === k || e.other === k)).length;
  const has = (k: number, type: string) => count(k, type) > 0;
  const dx = (k: number) => path[k][T - 1].x - path[k][0].x;
  const n = setup.bodies.length;
  const clauses: string[] = [];
  const obj = (k: number) => objectPhrase(setup, k);
  switch (setup.scene) {
    case 'bounce':
      for (let k = 0; k < n; k++) {
        const where = k === 0 ? `on ${floor}` : 'on the floor';
        const b = count(k, 'bounce');
        const move = Math.abs(dx(k)) > 2 ? `, moving ${direction(dx(k))}` : '';
        const start = `falls from the top ${horiz(path[k][0].x, W)}`.replace('top centre', 'top');
        let c = b === 0 ? `${obj(k)} ${start} and lands ${where}` : `${obj(k)} ${start} and bounces ${times(b)} ${where}${b > 1 ? ', each bounce lower than the last' : ''}`;
        if (b > 0 && has(k, 'land')) c += ' before coming to rest';
        clauses.push(c + move);
      }
      break;
    case 'fall':
      for (let k = 0; k < n; k++) {
        const where = k === 0 ? `on ${floor}` : 'on the floor';
        const b = count(k, 'bounce');
        const start = `drops straight down from the top ${horiz(path[k][0].x, W)}`.replace('top centre', 'top');
        const land = has(k, 'land') ? `lands ${where}${b ? ` after bouncing ${times(b)}` : ''} and stays still` : `falls toward ${where.replace('on ', '')}`;
        clauses.push(`${obj(k)} ${start} and ${land}`);
      }
      break;
    case 'slide':
      for (let k = n - 1; k >= 0; k--) {
        const where = k === n - 1 ? `across ${floor}` : 'behind it';
        clauses.push(`${obj(k)} slides ${direction(dx(k))} ${where}, slows down${has(k, 'stop') ? ' and stops' : ''}`);
      }
      break;
    case 'collide': {
      const [a, b] = [0, 1];
      const v0 = (k: number) => path[k][1].x - path[k][0].x;
      const v1 = (k: number) => path[k][T - 1].x - path[k][T - 2].x;
      const hit = has(a, 'collision');
      const elastic = setup.collisionRestitution >= 0.999;
      const kind = elastic ? 'elastic' : 'inelastic';
      const after = (k: number) => {
        const before = v0(k);
        const now = v1(k);
        if (Math.abs(now) < 0.05) return 'stops';
        if (Math.abs(before) < 0.05) return `is knocked ${now > 0 ? 'to the right' : 'to the left'}`;
        return Math.sign(now) === Math.sign(before) ? `keeps moving ${now > 0 ? 'to the right' : 'to the left'}` : `bounces back ${now > 0 ? 'to the right' : 'to the left'}`;
      };
      const short = (k: number) => `the ${setup.bodies[k].color} ball`;
      if (setup.collideMode === '1d') {
        const still = Math.abs(v0(b)) < 0.05;
        const first = still ? `${obj(a)} rolls ${direction(v0(a))} along ${floor} and hits ${obj(b)} standing still` : `${obj(a)} rolling ${direction(v0(a))} and ${obj(b)} rolling ${direction(v0(b))} collide head-on on ${floor}`;
        clauses.push(hit ? `${first} in an ${kind} collision; ${short(a)} ${after(a)} and ${short(b)} ${after(b)}` : first);
      } else {
        clauses.push(`${obj(a)} and ${obj(b)} drift toward each other with no gravity and ${hit ? `collide at an angle in an ${kind} collision, then move apart` : 'pass close to each other'}`);
      }
      break;
    }
    case 'occlude':
      for (let k = 0; k < n; k++) {
        const moving = `${obj(k)} ${setup.bodies[k].shape === 'ball' ? 'rolls' : 'slides'} ${direction(dx(k))} along ${k === 0 ? floor : 'the floor'}`;
        const side = dx(k) > 0 ? 'right' : 'left';
        const wall = `${k === 0 ? 'a' : 'the'} ${setup.occluders[0]?.color ?? 'grey'} wall`;
        if (has(k, 'occluded') && has(k, 'reappear')) clauses.push(`${moving}, disappears behind ${wall} then reappears on the ${side}`);
        else if (has(k, 'occluded')) clauses.push(`${moving} and disappears behind ${wall}`);
        else clauses.push(`${moving} and passes behind ${wall}`);
      }
      break;
    case 'roll':
      for (let k = 0; k < n; k++) clauses.push(`${obj(k)} rolls ${direction(dx(k))} at a steady speed along ${k === 0 ? floor : 'the floor'}`);
      break;
    case 'pendulum':
      for (let k = 0; k < n; k++) {
        const th = setup.bodies[k].pendulum?.theta ?? 0;
        const from = th < 0 ? 'left' : 'right';
        const to = th < 0 ? 'right' : 'left';
        const turns = count(k, 'turn');
        const swing = turns === 0 ? `swings from the ${from} to the ${to}` : turns === 1 ? `swings from the ${from} to the ${to} and back` : 'swings back and forth';
        clauses.push(`${obj(k)} hangs on a string and ${swing} like a pendulum`);
      }
      break;
  }
  const body = clauses.length === 1 ? clauses[0] : `${clauses.slice(0, -1).join(', ')}, while ${clauses[clauses.length - 1]}`;
  return `${body[0].toUpperCase()}${body.slice(1)}, ${backgroundPhrase(setup)}.`;
}
