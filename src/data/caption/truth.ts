// Descriptive captions from the ground truth of synthetic clips (`physics` in clips.jsonl, see
// src/data/clips.ts): every object's size, colour, shape, start region, motion and events, the
// occluders, the background, the camera and the duration, in the shared caption style (style.ts).
// Planted violations are not described: captions say what the scene is, the detectors find faults.
import type { PhysicsTruth } from '../clips.js';
import { article, backgroundPhrase, directionPhrase, durationSentence, regionWord, sentence, sizeWord, speedWord, timesWord } from './style.js';

type TruthObject = PhysicsTruth['objects'][number];

function visibleStates(o: TruthObject) {
  return o.frames.filter((f) => f.visible);
}

/** Noun phrase for an object: "small red ball". */
export function objectNoun(o: TruthObject, width: number, height: number): string {
  const vis = visibleStates(o);
  const ref = vis[0] ?? o.frames[0];
  const extent = ref ? Math.max(ref.w, ref.h) : 0;
  return `${sizeWord(extent, Math.min(width, height))} ${o.color} ${o.shape}`;
}

function eventCount(truth: PhysicsTruth, id: number, type: RegExp): number {
  return truth.events.filter((e) => e.object === id && type.test(e.type)).length;
}

/** ", starting at the top left" unless the direction already says where it starts. */
export function startSuffix(dir: string, start: string): string {
  if ((dir === 'from left to right' && start === 'left') || (dir === 'from right to left' && start === 'right')) return '';
  return `, starting at the ${start}`;
}

/**
 * The states to describe: visible ones, cut before a planted violation of this object so that the
 * caption tells the intended motion (the detectors, not the caption, should find the fault).
 */
function describedStates(truth: PhysicsTruth, o: TruthObject) {
  const v = truth.violations.filter((x) => x.object === o.id).map((x) => x.frame);
  const cut = v.length ? Math.min(...v) : Infinity;
  const before = o.frames.filter((f, i) => f.visible && i < cut);
  return before.length >= 2 ? before : visibleStates(o);
}

/** The motion clause of one object, e.g. "falls from the top left and bounces twice on the grey floor". */
function motionClause(truth: PhysicsTruth, o: TruthObject, width: number, height: number, fps: number): string {
  const vis = describedStates(truth, o);
  if (vis.length === 0) return 'stays hidden for the whole clip';
  const first = vis[0];
  const last = vis[vis.length - 1];
  const start = regionWord(first.x, first.y, width, height);
  const top = `top${first.x < width / 3 ? ' left' : first.x > (2 * width) / 3 ? ' right' : ''}`;
  const dx = last.x - first.x;
  const dy = last.y - first.y;
  let maxDist = 0; // largest excursion: a ball that falls and bounces back up still moves
  for (const s of vis) maxDist = Math.max(maxDist, Math.hypot(s.x - first.x, s.y - first.y));
  const mine = truth.events.filter((e) => e.object === o.id);
  const count = (re: RegExp) => mine.filter((e) => re.test(e.type)).length;
  const seconds = Math.max(1, vis.length - 1) / Math.max(fps, 1e-6);
  const speed = speedWord(Math.hypot(dx, dy) / seconds, width);
  const horiz = directionPhrase(dx, 0);
  const floor = (truth.gravity ?? 0) > 0 ? 'the grey floor' : 'the floor';
  const bounces = count(/bounce/i);
  const parts: string[] = [];
  const scene = truth.scene.toLowerCase();
  if (maxDist < 0.04 * Math.min(width, height)) {
    parts.push(`rests in the ${start}`);
  } else if (scene === 'pendulum') {
    const turns = count(/turn/i);
    parts.push(`hangs on a string and ${turns >= 2 ? 'swings back and forth' : turns === 1 ? 'swings to one side and back' : `swings ${horiz || 'sideways'}`} like a pendulum`);
  } else if (bounces > 0 || scene === 'bounce') {
    parts.push(bounces > 0 ? `falls from the ${top} and bounces ${timesWord(bounces)} on ${floor}` : `falls from the ${top} and lands on ${floor}`);
    if (bounces > 1) parts.push('each bounce lower than the last');
    if (count(/land|stop/i) > 0 && bounces > 0) parts.push('then comes to rest');
    if (Math.abs(dx) > 0.15 * width) parts.push(`drifting ${horiz}`);
  } else if (scene === 'fall' || ((truth.gravity ?? 0) > 0 && dy > 0.15 * height && Math.abs(dy) > Math.abs(dx))) {
    parts.push(count(/land/i) > 0 ? `drops straight down from the ${top} and lands on ${floor}` : `falls ${speed} from the ${top} toward ${floor}`);
  } else if (scene === 'slide' && Math.abs(dx) >= Math.abs(dy)) {
    parts.push(`slides ${horiz} across ${floor}, slowing down${count(/stop/i) > 0 ? ' until it stops' : ''}`);
  } else if (scene === 'roll' && Math.abs(dx) >= Math.abs(dy)) {
    parts.push(`rolls ${horiz} at a steady speed along ${floor}`);
  } else {
    const dir = directionPhrase(dx, dy);
    const verb = scene === 'occlude' ? (o.shape === 'ball' ? 'rolls' : 'slides') : 'moves';
    parts.push(dir ? `${verb} ${speed} ${dir}${startSuffix(dir, start)}` : `${verb} around the ${start} and returns`);
  }
  for (const c of mine.filter((e) => /collid|collision|hit/i.test(e.type)).slice(0, 2)) {
    const others = truth.objects.filter((p) => p.id !== o.id);
    const other = others.length === 1 ? others[0] : others.find((p) => truth.events.some((e) => e.frame === c.frame && e.object === p.id && /collid|collision|hit/i.test(e.type)));
    parts.push(other ? `collides with the ${other.color} ${other.shape}` : 'collides with another object');
  }
  const firstSeen = o.frames.findIndex((g) => g.visible);
  const hidden = count(/occluded/i) > 0 || o.frames.some((f, i) => !f.visible && i > firstSeen && firstSeen >= 0 && o.frames.slice(i).some((g) => g.visible));
  if (hidden && truth.occluders.length > 0) {
    const back = count(/reappear/i) > 0 || o.frames.slice(o.frames.findIndex((f, i) => i > firstSeen && !f.visible)).some((g) => g.visible);
    parts.push(`disappears behind the ${truth.occluders[0].color} wall${back ? ` then reappears${dx ? ` on the ${dx > 0 ? 'right' : 'left'}` : ''}` : ''}`);
  }
  return parts.join(', ');
}

/** One descriptive caption for a synthetic clip, deterministic in its ground truth. */
export function captionFromTruth(truth: PhysicsTruth, clip: { width: number; height: number; fps: number; frames?: number }): string {
  const { width, height, fps } = clip;
  const objs = [...truth.objects].sort((a, b) => a.id - b.id);
  const sentences: string[] = [];
  const bg = backgroundPhrase(truth.background);
  if (objs.length === 0) {
    sentences.push(sentence(`An empty scene ${bg}`));
  } else {
    objs.forEach((o, i) => {
      const noun = objectNoun(o, width, height);
      const clause = `${i === 0 ? article(noun) : 'a'} ${noun} ${motionClause(truth, o, width, height, fps)}`;
      sentences.push(sentence(i === 0 ? `${clause}, ${bg}` : clause));
    });
    if (objs.length > 1) sentences[1] = sentences[1].replace(/^A /, 'Meanwhile, a ');
  }
  for (const occ of truth.occluders.slice(0, 2)) {
    // Occluder x, y are the wall's centre (as the synth renderer draws them).
    sentences.push(sentence(`${article(occ.color)} ${occ.color} wall stands in the ${regionWord(occ.x, occ.y, width, height)} of the frame`));
  }
  sentences.push('The camera is static.');
  const n = clip.frames ?? Math.max(0, ...truth.objects.map((o) => o.frames.length));
  const dur = durationSentence(n, fps);
  if (dur) sentences.push(dur);
  return sentences.join(' ');
}
