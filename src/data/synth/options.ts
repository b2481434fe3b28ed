// Options of `spacetime synth`, parsed and validated once at the edge (STYLE.md §4): scene list,
// sizes "WxH,…", frame counts, fps, and the --violations form (a rate in [0, 1], or a list of
// failure types that every clip gets one of). Bad values throw FlagError naming the flag.
import { FlagError } from '../../util/errors.js';
import { SCENES, type SceneKind } from './scenes.js';
import { PLANTABLE, sceneAllows, scenesFor, type Plantable } from './violations.js';

export interface SynthOptions {
  out: string;
  clips: number;
  scenes: SceneKind[];
  sizes: [number, number][];
  frames: number[];
  fps: number;
  seed: number;
  /** null: clean clips only; rate: that fraction of clips, types cycled; types: every clip one of these. */
  violations: { rate: number; types: Plantable[] } | { rate: null; types: Plantable[] } | null;
}

export const SIZE_LIMITS = { min: 32, max: 1024 } as const;
export const FRAME_LIMITS = { min: 8, max: 600 } as const;

export function parseScenes(text: string): SceneKind[] {
  const names = splitList(text, '--scenes');
  for (const n of names) if (!(SCENES as readonly string[]).includes(n)) throw new FlagError('--scenes', `unknown scene '${n}' (known: ${SCENES.join(', ')})`);
  return [...new Set(names)] as SceneKind[];
}

export function parseSizes(text: string): [number, number][] {
  return splitList(text, '--sizes').map((s) => {
    const m = /^(\d+)x(\d+)$/i.exec(s);
    if (!m) throw new FlagError('--sizes', `'${s}' is not WIDTHxHEIGHT (e.g. 64x64)`);
    const [w, h] = [Number(m[1]), Number(m[2])];
    for (const v of [w, h]) if (v < SIZE_LIMITS.min || v > SIZE_LIMITS.max) throw new FlagError('--sizes', `'${s}': each side must be ${SIZE_LIMITS.min}..${SIZE_LIMITS.max} pixels`);
    return [w, h];
  });
}

export function parseFrameCounts(text: string): number[] {
  return splitList(text, '--frames').map((s) => {
    if (!/^\d+$/.test(s)) throw new FlagError('--frames', `'${s}' is not a whole number of frames`);
    const n = Number(s);
    if (n < FRAME_LIMITS.min || n > FRAME_LIMITS.max) throw new FlagError('--frames', `${n}: must be ${FRAME_LIMITS.min}..${FRAME_LIMITS.max}`);
    return n;
  });
}

/** `0.5` → half the clips get one failure each; `teleport,merge` → every clip gets one of these. */
export function parseViolations(text: string | undefined, scenes: readonly SceneKind[]): SynthOptions['violations'] {
  if (text === undefined || text === '') return null;
  const usable = (t: Plantable) => scenes.some((s) => sceneAllows(t, s));
  if (/^[\d.]+$/.test(text.trim())) {
    const rate = Number(text);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new FlagError('--violations', `rate ${text} must be in [0, 1]`);
    return rate === 0 ? null : { rate, types: PLANTABLE.filter(usable) };
  }
  const types = splitList(text, '--violations');
  for (const t of types) {
    if (!(PLANTABLE as readonly string[]).includes(t)) throw new FlagError('--violations', `'${t}' is not a rate in [0, 1] or a plantable type (${PLANTABLE.join(', ')})`);
    if (!usable(t as Plantable)) throw new FlagError('--violations', `'${t}' needs one of the scenes ${scenesFor(t as Plantable)!.join(', ')} in --scenes`);
  }
  return { rate: null, types: [...new Set(types)] as Plantable[] };
}

/** Frames a clip needs for a planted failure to have clean frames around it. */
export const MIN_FRAMES_WITH_VIOLATIONS = 12;

/** Cross-flag checks, once all flags parsed. */
export function checkSynthOptions(opts: SynthOptions): SynthOptions {
  const short = opts.frames.filter((n) => n < MIN_FRAMES_WITH_VIOLATIONS);
  if (opts.violations && short.length) throw new FlagError('--frames', `${short[0]}: clips with --violations need at least ${MIN_FRAMES_WITH_VIOLATIONS} frames`);
  return opts;
}

export function checkCount(flag: string, v: unknown, lo: number, hi: number, what = 'a whole number'): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new FlagError(flag, `${String(v)}: must be ${what} in ${lo}..${hi}`);
  return n;
}

export function checkFps(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 120) throw new FlagError('--fps', `${String(v)}: must be a number in (0, 120]`);
  return n;
}

function splitList(text: string, flag: string): string[] {
  const items = String(text)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new FlagError(flag, 'empty list');
  return items;
}
