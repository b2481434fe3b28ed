// The fixed, named colour vocabulary of the synthetic physics world. Object colours are bright
// and saturated; background colours are dark, so every object contrasts with every background,
// the grey floor and the grey occluder walls. Captions and prompt upsamplers reuse these names.

export type Rgb = [number, number, number];

/** Object colours: distinct hues, each far from the others in RGB. */
export const OBJECT_COLORS = {
  red: [220, 40, 40],
  green: [40, 190, 60],
  blue: [50, 100, 240],
  yellow: [235, 215, 40],
  orange: [245, 140, 30],
  purple: [160, 70, 215],
  white: [240, 240, 240],
  cyan: [40, 215, 225],
  pink: [240, 110, 190],
} as const satisfies Record<string, Rgb>;
export type ObjectColor = keyof typeof OBJECT_COLORS;
export const OBJECT_COLOR_NAMES = Object.keys(OBJECT_COLORS) as ObjectColor[];

/** Background colours (dark, low saturation). */
export const BACKGROUND_COLORS = {
  black: [12, 12, 14],
  'dark grey': [48, 48, 52],
  'dark blue': [18, 28, 72],
  'dark green': [18, 56, 34],
  'dark purple': [46, 24, 62],
  'dark brown': [62, 42, 26],
} as const satisfies Record<string, Rgb>;
export type BackgroundColor = keyof typeof BACKGROUND_COLORS;
export const BACKGROUND_COLOR_NAMES = Object.keys(BACKGROUND_COLORS) as BackgroundColor[];

export const BACKGROUND_KINDS = ['flat', 'gradient', 'textured'] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

/** The floor band and the occluder walls. */
export const FLOOR_COLOR: { name: string; rgb: Rgb } = { name: 'grey', rgb: [105, 105, 110] };
export const WALL_COLOR: { name: string; rgb: Rgb } = { name: 'grey', rgb: [165, 165, 170] };
/** Pendulum strings: thin and light, drawn under the bob. */
export const STRING_RGB: Rgb = [190, 190, 190];

/** The bottom colour of a vertical gradient background (the top is the named colour). */
export function gradientBottom(rgb: readonly number[]): Rgb {
  return [0, 1, 2].map((c) => Math.min(255, rgb[c] * 1.45 + 14)) as Rgb;
}

/** Least RGB distance an object colour keeps from every background shade (both gradient ends). */
export const MIN_CONTRAST = 110;

export function rgbDistance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}
