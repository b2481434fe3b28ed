// Colour names for detected objects and prompts: HSV hue bins for saturated colours, value bins
// for greys (the basic colour terms of Berlin & Kay 1969, as used in synthetic captions).

export const COLOR_NAMES = ['red', 'orange', 'yellow', 'green', 'cyan', 'blue', 'purple', 'pink', 'brown', 'white', 'grey', 'black'] as const;
export type ColorName = (typeof COLOR_NAMES)[number];

/** Words in prompts that name the same colour. */
export const COLOR_SYNONYMS: Record<string, ColorName> = {
  gray: 'grey',
  violet: 'purple',
  magenta: 'pink',
  teal: 'cyan',
  turquoise: 'cyan',
  lime: 'green',
  gold: 'yellow',
};

/** RGB (0..255) → hue (degrees), saturation and value (0..1). */
export function rgbToHsv(rgb: readonly number[]): [number, number, number] {
  const [r, g, b] = rgb.map((v) => v / 255);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let hue = 0;
  if (d > 0) {
    if (max === r) hue = 60 * (((g - b) / d) % 6);
    else if (max === g) hue = 60 * ((b - r) / d + 2);
    else hue = 60 * ((r - g) / d + 4);
  }
  if (hue < 0) hue += 360;
  return [hue, max === 0 ? 0 : d / max, max];
}

/** The basic colour name of an RGB triple. */
export function colorName(rgb: readonly number[]): ColorName {
  const [hue, s, v] = rgbToHsv(rgb);
  if (v < 0.2) return 'black';
  if (s < 0.25) return v > 0.8 ? 'white' : v < 0.3 ? 'black' : 'grey';
  if (hue < 15 || hue >= 345) return 'red';
  if (hue < 45) return v < 0.55 ? 'brown' : 'orange';
  if (hue < 70) return 'yellow';
  if (hue < 160) return 'green';
  if (hue < 200) return 'cyan';
  if (hue < 255) return 'blue';
  if (hue < 290) return 'purple';
  return 'pink';
}

/** Normalise a colour word from a prompt to a palette name (null when it is not a colour). */
export function parseColorWord(word: string): ColorName | null {
  const w = word.toLowerCase();
  if ((COLOR_NAMES as readonly string[]).includes(w)) return w as ColorName;
  return COLOR_SYNONYMS[w] ?? null;
}
