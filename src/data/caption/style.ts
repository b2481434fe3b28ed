// The descriptive caption style shared by the builtin captioner (from ground truth or from
// measurements) and the builtin prompt upsampler, so that upsampled prompts read like the
// training captions (Sora technical report: prompts are expanded into the caption style the model
// was trained on). Also the colour palette used to name measured colours (nearest in CIELAB).
import { BACKGROUND_COLORS } from '../synth/palette.js';

/** Named colours: the words captions use, with a representative sRGB value. */
export const PALETTE: ReadonlyArray<{ name: string; rgb: readonly [number, number, number] }> = [
  { name: 'black', rgb: [15, 15, 15] },
  { name: 'dark grey', rgb: [64, 64, 64] },
  { name: 'grey', rgb: [128, 128, 128] },
  { name: 'light grey', rgb: [192, 192, 192] },
  { name: 'white', rgb: [245, 245, 245] },
  { name: 'red', rgb: [210, 40, 40] },
  { name: 'orange', rgb: [240, 140, 30] },
  { name: 'yellow', rgb: [235, 215, 40] },
  { name: 'green', rgb: [50, 170, 60] },
  { name: 'cyan', rgb: [40, 200, 210] },
  { name: 'blue', rgb: [40, 80, 210] },
  { name: 'purple', rgb: [140, 60, 180] },
  { name: 'pink', rgb: [240, 130, 180] },
  { name: 'brown', rgb: [130, 80, 40] },
  // The synthetic world's dark backgrounds.
  ...(['dark blue', 'dark green', 'dark purple', 'dark brown'] as const).map((name) => ({ name, rgb: BACKGROUND_COLORS[name] })),
];

export const COLOR_WORDS = ['red', 'orange', 'yellow', 'green', 'cyan', 'blue', 'purple', 'pink', 'brown', 'black', 'white', 'grey', 'gray', 'magenta', 'teal', 'violet'] as const;
export const SHAPE_WORDS: Readonly<Record<string, string>> = { ball: 'ball', sphere: 'ball', circle: 'ball', disc: 'ball', box: 'box', cube: 'box', square: 'box', block: 'box', rectangle: 'box', crate: 'box' };
export const SIZE_WORDS = ['tiny', 'small', 'medium', 'medium-sized', 'large', 'big', 'huge'] as const;

/** sRGB (0..255) → CIELAB (D65), for perceptual colour distances. */
export function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const R = lin(r);
  const G = lin(g);
  const B = lin(b);
  const x = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const fx = f(x);
  const fy = f(y);
  const fz = f(z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

const PALETTE_LAB = PALETTE.map((p) => ({ name: p.name, lab: rgbToLab(...p.rgb) }));

/** The palette name nearest to an sRGB colour (Euclidean distance in CIELAB, ΔE76). */
export function colorName(r: number, g: number, b: number): string {
  const [L, A, B] = rgbToLab(r, g, b);
  let best = PALETTE_LAB[0].name;
  let bestD = Infinity;
  for (const p of PALETTE_LAB) {
    const d = (L - p.lab[0]) ** 2 + (A - p.lab[1]) ** 2 + (B - p.lab[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = p.name;
    }
  }
  return best;
}

/** Size word from an object's extent relative to the frame's shorter side (the synth world's two sizes). */
export function sizeWord(extent: number, frameSide: number): 'small' | 'large' {
  return extent / Math.max(1, frameSide) < 0.21 ? 'small' : 'large';
}

/** Where a point lies in the frame: "top left", "centre", "bottom", … */
export function regionWord(x: number, y: number, width: number, height: number): string {
  const col = x < width / 3 ? 'left' : x > (2 * width) / 3 ? 'right' : '';
  const row = y < height / 3 ? 'top' : y > (2 * height) / 3 ? 'bottom' : '';
  if (row && col) return `${row} ${col}`;
  return row || col || 'centre';
}

/** "from left to right", "downward", "toward the bottom right", "" for no clear motion. */
export function directionPhrase(dx: number, dy: number): string {
  const ax = Math.abs(dx);
  const ay = Math.abs(dy);
  if (ax < 1e-9 && ay < 1e-9) return '';
  if (ax >= 2 * ay) return dx > 0 ? 'from left to right' : 'from right to left';
  if (ay >= 2 * ax) return dy > 0 ? 'downward' : 'upward';
  return `diagonally toward the ${dy > 0 ? 'bottom' : 'top'} ${dx > 0 ? 'right' : 'left'}`;
}

/** Speed word from displacement per second relative to the frame width. */
export function speedWord(pixelsPerSecond: number, frameWidth: number): string {
  const f = pixelsPerSecond / Math.max(1, frameWidth);
  return f < 0.15 ? 'slowly' : f < 0.6 ? 'steadily' : 'quickly';
}

const NUMBER_WORDS = ['no', 'once', 'twice', 'three times', 'four times', 'five times', 'six times', 'seven times', 'eight times', 'nine times'];

/** "once", "twice", "three times", …, "12 times". */
export function timesWord(n: number): string {
  return n < NUMBER_WORDS.length ? NUMBER_WORDS[n] : `${n} times`;
}

/** "a" or "an" for the word that follows. */
export function article(next: string): string {
  return /^[aeiou]/i.test(next) ? 'an' : 'a';
}

/** "against a plain grey background" (or "against a striped background" for non-colour words). */
export function backgroundPhrase(background: string): string {
  const bg = background.trim().replace(/\s*background$/i, '');
  if (!bg) return 'against a plain background';
  const base = bg.toLowerCase().replace(/^(dark|light|pale|deep)\s+/, '');
  const isColour = PALETTE.some((p) => p.name === base) || (COLOR_WORDS as readonly string[]).includes(base);
  return isColour ? `against a plain ${bg} background` : `against ${article(bg)} ${bg} background`;
}

/** Capitalise the first letter and make sure the sentence ends with a full stop. */
export function sentence(s: string): string {
  const t = s.trim();
  if (!t) return '';
  const c = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(c) ? c : `${c}.`;
}

/** Duration sentence: "The clip lasts 2.0 seconds." */
export function durationSentence(frames: number, fps: number): string {
  if (!(fps > 0) || frames <= 0) return '';
  const s = frames / fps;
  return `The clip lasts ${s.toFixed(1)} second${s.toFixed(1) === '1.0' ? '' : 's'}.`;
}
