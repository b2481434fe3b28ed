// Rasteriser for the synthetic physics world: static background (flat, vertical gradient, or a
// low-contrast smooth value-noise texture), grey floor band, pendulum strings, objects, then
// occluder walls on top. Edges are anti-aliased by coverage: boxes by their exact pixel-overlap
// area, balls and strings by 4×4 supersampling of the boundary pixels. Output: 8-bit RGB frames.
import { Rng } from '../../util/rng.js';
import type { Frame } from '../video.js';
import { FLOOR_COLOR, OBJECT_COLORS, STRING_RGB, gradientBottom, type ObjectColor } from './palette.js';
import type { Occluder, SceneSetup } from './scenes.js';

/** What is drawn for one object in one frame (after any planted violation). */
export interface DrawState {
  x: number;
  y: number;
  w: number;
  h: number;
  /** False when the object is not drawn at all (a planted disappearance, or before an appearance). */
  drawn: boolean;
  /** Overrides the object's colour (a planted colour morph). */
  color?: ObjectColor;
}

const SS = 4; // supersamples per axis on boundary pixels

/** The static background with the floor band, as float RGB (H, W, 3). */
export function renderBackground(setup: SceneSetup): Float32Array {
  const { width: W, height: H, background: bg } = setup;
  const out = new Float32Array(W * H * 3);
  const noise = bg.kind === 'textured' ? valueNoise(W, H, Math.max(4, Math.round(Math.min(W, H) / 10)), new Rng(bg.seed)) : null;
  const lighter = gradientBottom(bg.rgb);
  for (let y = 0; y < H; y++) {
    const ty = H > 1 ? y / (H - 1) : 0;
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) {
        let v = bg.rgb[c];
        if (bg.kind === 'gradient') v = bg.rgb[c] + (lighter[c] - bg.rgb[c]) * ty;
        else if (noise) v = bg.rgb[c] + 7 * noise[y * W + x];
        out[o + c] = v;
      }
    }
  }
  if (setup.floorY !== null) {
    for (let y = Math.max(0, Math.floor(setup.floorY)); y < H; y++) {
      const cov = Math.min(1, y + 1 - setup.floorY);
      for (let x = 0; x < W; x++) blend(out, (y * W + x) * 3, FLOOR_COLOR.rgb, cov);
    }
  }
  return out;
}

/** Smooth value noise in [−1, 1]: random values on a coarse grid, smoothstep-interpolated. */
function valueNoise(W: number, H: number, cell: number, rng: Rng): Float32Array {
  const gw = Math.ceil(W / cell) + 2;
  const gh = Math.ceil(H / cell) + 2;
  const grid = Float32Array.from({ length: gw * gh }, () => rng.range(-1, 1));
  const out = new Float32Array(W * H);
  const s = (t: number) => t * t * (3 - 2 * t);
  for (let y = 0; y < H; y++) {
    const gy = y / cell;
    const y0 = Math.floor(gy);
    const fy = s(gy - y0);
    for (let x = 0; x < W; x++) {
      const gx = x / cell;
      const x0 = Math.floor(gx);
      const fx = s(gx - x0);
      const a = grid[y0 * gw + x0] * (1 - fx) + grid[y0 * gw + x0 + 1] * fx;
      const b = grid[(y0 + 1) * gw + x0] * (1 - fx) + grid[(y0 + 1) * gw + x0 + 1] * fx;
      out[y * W + x] = a * (1 - fy) + b * fy;
    }
  }
  return out;
}

function blend(buf: Float32Array, o: number, rgb: readonly number[], cov: number): void {
  if (cov <= 0) return;
  buf[o] += (rgb[0] - buf[o]) * cov;
  buf[o + 1] += (rgb[1] - buf[o + 1]) * cov;
  buf[o + 2] += (rgb[2] - buf[o + 2]) * cov;
}

function overlap1(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** Draw an axis-aligned box with exact-area coverage. */
function drawBox(buf: Float32Array, W: number, H: number, cx: number, cy: number, w: number, h: number, rgb: readonly number[]): void {
  const x0 = cx - w / 2;
  const x1 = cx + w / 2;
  const y0 = cy - h / 2;
  const y1 = cy + h / 2;
  for (let j = Math.max(0, Math.floor(y0)); j < Math.min(H, Math.ceil(y1)); j++) {
    const cy1 = overlap1(j, j + 1, y0, y1);
    for (let i = Math.max(0, Math.floor(x0)); i < Math.min(W, Math.ceil(x1)); i++) blend(buf, (j * W + i) * 3, rgb, cy1 * overlap1(i, i + 1, x0, x1));
  }
}

/** Draw a disc; interior pixels are full, boundary pixels supersampled. */
function drawBall(buf: Float32Array, W: number, H: number, cx: number, cy: number, r: number, rgb: readonly number[]): void {
  for (let j = Math.max(0, Math.floor(cy - r)); j < Math.min(H, Math.ceil(cy + r)); j++) {
    for (let i = Math.max(0, Math.floor(cx - r)); i < Math.min(W, Math.ceil(cx + r)); i++) {
      const d = Math.hypot(i + 0.5 - cx, j + 0.5 - cy);
      let cov: number;
      if (d <= r - 0.71) cov = 1;
      else if (d >= r + 0.71) cov = 0;
      else {
        let n = 0;
        for (let sy = 0; sy < SS; sy++) for (let sx = 0; sx < SS; sx++) if (Math.hypot(i + (sx + 0.5) / SS - cx, j + (sy + 0.5) / SS - cy) <= r) n++;
        cov = n / (SS * SS);
      }
      blend(buf, (j * W + i) * 3, rgb, cov);
    }
  }
}

/** Draw a 1-px line segment (pendulum string) by supersampled distance to the segment. */
function drawLine(buf: Float32Array, W: number, H: number, ax: number, ay: number, bx: number, by: number, rgb: readonly number[], opacity: number): void {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy || 1;
  for (let j = Math.max(0, Math.floor(Math.min(ay, by) - 1)); j < Math.min(H, Math.ceil(Math.max(ay, by) + 1)); j++) {
    for (let i = Math.max(0, Math.floor(Math.min(ax, bx) - 1)); i < Math.min(W, Math.ceil(Math.max(ax, bx) + 1)); i++) {
      let n = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const px = i + (sx + 0.5) / SS;
          const py = j + (sy + 0.5) / SS;
          const t = Math.min(1, Math.max(0, ((px - ax) * dx + (py - ay) * dy) / len2));
          if (Math.hypot(px - ax - t * dx, py - ay - t * dy) <= 0.5) n++;
        }
      }
      blend(buf, (j * W + i) * 3, rgb, (opacity * n) / (SS * SS));
    }
  }
}

/**
 * Render all frames. `draw[object][frame]` gives what to draw; shape and colour come from the setup.
 * Pendulum strings run from each pendulum pivot to its bob's drawn centre.
 */
export function renderFrames(setup: SceneSetup, draw: DrawState[][]): Frame[] {
  const { width: W, height: H, frames: T } = setup;
  const bg = renderBackground(setup);
  const frames: Frame[] = [];
  for (let t = 0; t < T; t++) {
    const buf = Float32Array.from(bg);
    setup.bodies.forEach((b, k) => {
      const s = draw[k][t];
      if (b.pendulum && s.drawn) drawLine(buf, W, H, b.pendulum.px, b.pendulum.py, s.x, s.y, STRING_RGB, 0.8);
    });
    setup.bodies.forEach((b, k) => {
      const s = draw[k][t];
      if (!s.drawn) return;
      const rgb = OBJECT_COLORS[s.color ?? b.color];
      if (b.shape === 'ball') drawBall(buf, W, H, s.x, s.y, Math.min(s.w, s.h) / 2, rgb);
      else drawBox(buf, W, H, s.x, s.y, s.w, s.h, rgb);
    });
    for (const o of setup.occluders) drawBox(buf, W, H, o.x, o.y, o.w, o.h, o.rgb);
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(buf[i])));
    frames.push({ width: W, height: H, data });
  }
  return frames;
}

/** Whether the object's box lies entirely inside one occluder. */
export function hiddenByOccluder(s: { x: number; y: number; w: number; h: number }, occluders: readonly Occluder[]): boolean {
  return occluders.some((o) => s.x - s.w / 2 >= o.x - o.w / 2 && s.x + s.w / 2 <= o.x + o.w / 2 && s.y - s.h / 2 >= o.y - o.h / 2 && s.y + s.h / 2 <= o.y + o.h / 2);
}

/** Whether the object's box overlaps any occluder at all. */
export function touchesOccluder(s: { x: number; y: number; w: number; h: number }, occluders: readonly Occluder[], margin = 0): boolean {
  return occluders.some((o) => Math.abs(s.x - o.x) < (s.w + o.w) / 2 + margin && Math.abs(s.y - o.y) < (s.h + o.h) / 2 + margin);
}

/** Whether the object's box overlaps the frame. */
export function inFrame(s: { x: number; y: number; w: number; h: number }, W: number, H: number): boolean {
  return s.x + s.w / 2 > 0 && s.x - s.w / 2 < W && s.y + s.h / 2 > 0 && s.y - s.h / 2 < H;
}

/** Whether the object's box lies entirely inside the frame, `margin` px from every border. */
export function insideFrame(s: { x: number; y: number; w: number; h: number }, W: number, H: number, margin = 0): boolean {
  return s.x - s.w / 2 >= margin && s.x + s.w / 2 <= W - margin && s.y - s.h / 2 >= margin && s.y + s.h / 2 <= H - margin;
}

/** Ground-truth visibility: drawn, in frame, and not fully behind an occluder. */
export function isVisible(s: DrawState, setup: SceneSetup): boolean {
  return s.drawn && inFrame(s, setup.width, setup.height) && !hiddenByOccluder(s, setup.occluders);
}
