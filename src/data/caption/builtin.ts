// The builtin captioner: deterministic and offline. Synthetic clips with ground truth are
// described from it (truth.ts); any other video is described from what measure.ts can measure —
// moving regions with their colour, shape, size, direction and speed, the background colours and
// their layout, camera motion, brightness and duration — in the shared caption style (style.ts).
import type { CaptionInput, CaptionResult, Captioner } from './captioner.js';
import { evenIndices, sampleFrames } from './captioner.js';
import { measureFrames, type Measurement, type Track } from './measure.js';
import { article, directionPhrase, durationSentence, regionWord, sentence, sizeWord, speedWord, timesWord } from './style.js';
import { captionFromTruth, startSuffix } from './truth.js';

/** Frames measured per clip (evenly spaced). */
const MEASURE_FRAMES = 24;

function shapeNoun(t: Track): string {
  if (t.fill > 0.88) return 'square';
  if (t.fill > 0.62) return 'ball';
  return 'object';
}

/** Number of vertical direction reversals from moving down to moving up (bounces). */
function bounces(t: Track, minStep: number): number {
  let n = 0;
  let lastDir = 0;
  for (let i = 1; i < t.points.length; i++) {
    const dy = t.points[i].y - t.points[i - 1].y;
    if (Math.abs(dy) < minStep) continue;
    const dir = Math.sign(dy);
    if (lastDir > 0 && dir < 0) n++;
    lastDir = dir;
  }
  return n;
}

function trackClause(m: Measurement, t: Track, first: boolean): string {
  const p = t.points;
  const a = p[0];
  const b = p[p.length - 1];
  const noun = `${sizeWord(t.extent, Math.min(m.width, m.height))} ${t.color} ${shapeNoun(t)}`;
  const start = regionWord(a.x, a.y, m.width, m.height);
  const seconds = Math.max(1e-6, (b.t - a.t) * m.step);
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const nb = bounces(t, 0.01 * m.height);
  const det = first ? article(noun) : 'a';
  if (nb > 0) {
    return `${det} ${noun} falls from the ${start} and bounces ${timesWord(nb)}${Math.abs(dx) > 0.15 * m.width ? `, drifting ${directionPhrase(dx, 0)}` : ''}`;
  }
  const dir = directionPhrase(dx, dy);
  const speed = speedWord(Math.hypot(dx, dy) / seconds, m.width);
  return dir ? `${det} ${noun} moves ${speed} ${dir}${startSuffix(dir, start)}` : `${det} ${noun} moves about near the ${start}`;
}

function backgroundClause(m: Measurement): string {
  const [main, ...rest] = m.colors;
  if (!main) return 'against a mixed background';
  if (main.share >= 0.6 || rest.length === 0) return `against a mostly ${main.name} background`;
  const others = rest.map((c) => `${c.name} at the ${c.region}`).join(' and ');
  return `against a background that is mostly ${main.name}, with ${others}`;
}

function cameraSentence(m: Measurement): string {
  if (!m.cameraMoving) return 'The camera is static.';
  const { dx, dy } = m.cameraShift;
  // Content moving right means the camera pans left.
  const horiz = dx > 0 ? 'pans left' : dx < 0 ? 'pans right' : '';
  const vert = dy > 0 ? 'tilts up' : dy < 0 ? 'tilts down' : '';
  return sentence(`The camera ${[horiz, vert].filter(Boolean).join(' and ')}`);
}

function brightnessSentence(m: Measurement): string {
  if (m.brightness < 50) return 'The scene is dark.';
  if (m.brightness < 100) return 'The scene is dimly lit.';
  if (m.brightness > 180) return 'The scene is brightly lit.';
  return '';
}

/** A caption from measurements alone. */
export function captionFromMeasurement(m: Measurement, frames: number, fps: number): string {
  const out: string[] = [];
  const bg = backgroundClause(m);
  if (m.tracks.length === 0) {
    out.push(sentence(m.cameraMoving ? `A scene ${bg}` : `A still scene ${bg}; nothing moves noticeably`));
  } else {
    m.tracks.forEach((t, i) => out.push(sentence(i === 0 ? `${trackClause(m, t, true)}, ${bg}` : `Meanwhile, ${trackClause(m, t, false)}`)));
  }
  out.push(cameraSentence(m));
  const light = brightnessSentence(m);
  if (light) out.push(light);
  const dur = durationSentence(frames, fps);
  if (dur) out.push(dur);
  return out.join(' ');
}

export class BuiltinCaptioner implements Captioner {
  readonly name = 'builtin';

  async caption(clip: CaptionInput): Promise<CaptionResult> {
    if (clip.truth) {
      return { caption: captionFromTruth(clip.truth, { width: clip.width, height: clip.height, fps: clip.fps, frames: clip.frameCount }), source: 'builtin:truth' };
    }
    const frames = await sampleFrames(clip, MEASURE_FRAMES);
    if (frames.length === 0) return { caption: clip.existingCaption ?? '', source: 'failed', error: 'no frames to measure' };
    const total = clip.frameCount ?? (Array.isArray(clip.frames) ? clip.frames.length : frames.length);
    // The sampled frames are spaced (total-1)/(k-1) source frames apart.
    const idx = evenIndices(total, frames.length);
    const gap = idx.length > 1 ? (idx[idx.length - 1] - idx[0]) / (idx.length - 1) : 1;
    const m = measureFrames(frames, clip.fps / Math.max(gap, 1e-6));
    return { caption: captionFromMeasurement(m, total, clip.fps), source: 'builtin:measured' };
  }
}
