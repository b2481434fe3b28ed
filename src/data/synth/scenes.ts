// Scene setups for the synthetic physics world: for each scene kind, draw the initial
// conditions (bodies, floor, occluders, gravity, friction, restitution) from an Rng so that the
// interesting events (bounces, landing, stopping, collision, passing behind a wall, swinging)
// happen inside the clip. Units are continuous: pixels and seconds (gravity in px/s²).
// Image coordinates: x to the right, y downwards; a body's (x, y) is its centre.
import type { Rng } from '../../util/rng.js';
import { BACKGROUND_COLOR_NAMES, BACKGROUND_COLORS, BACKGROUND_KINDS, MIN_CONTRAST, OBJECT_COLOR_NAMES, OBJECT_COLORS, WALL_COLOR, gradientBottom, rgbDistance, type BackgroundColor, type BackgroundKind, type ObjectColor, type Rgb } from './palette.js';

export const SCENES = ['bounce', 'fall', 'slide', 'collide', 'occlude', 'roll', 'pendulum'] as const;
export type SceneKind = (typeof SCENES)[number];

export interface PendulumInit {
  /** Pivot in pixels. */
  px: number;
  py: number;
  /** String length (pivot to bob centre) in pixels. */
  length: number;
  /** Angle from the vertical (radians, positive = bob to the right) and angular velocity. */
  theta: number;
  omega: number;
}

export interface BodyInit {
  id: number;
  shape: 'ball' | 'box';
  color: ObjectColor;
  /** Extent in pixels (a ball has w = h = 2r). */
  w: number;
  h: number;
  /** Mass ∝ area (uniform density). */
  mass: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  /** Coefficient of restitution against the floor. */
  restitution: number;
  /** Resting on the floor (no vertical motion; friction applies). */
  onFloor: boolean;
  pendulum?: PendulumInit;
}

/** An axis-aligned wall drawn over the objects. x, y: centre; w, h: extent (like object states). */
export interface Occluder {
  x: number;
  y: number;
  w: number;
  h: number;
  color: string;
  rgb: Rgb;
}

export interface BackgroundSpec {
  kind: BackgroundKind;
  color: BackgroundColor;
  rgb: Rgb;
  /** Seed of the static low-contrast texture (kind 'textured'). */
  seed: number;
}

export interface SceneSetup {
  scene: SceneKind;
  width: number;
  height: number;
  fps: number;
  frames: number;
  /** Gravity in px/s² (0 for the zero-gravity 2-D collision). */
  gravity: number;
  /** Top of the floor band in pixels, or null when there is no floor. */
  floorY: number | null;
  /** Kinetic friction coefficient μ on the floor (deceleration μ·g). */
  friction: number;
  /** Restitution of ball–ball collisions. */
  collisionRestitution: number;
  /** 'head-on' (1-D) or 'glancing' (2-D) for the collide scene. */
  collideMode?: '1d' | '2d';
  background: BackgroundSpec;
  bodies: BodyInit[];
  occluders: Occluder[];
}

export interface SceneRequest {
  width: number;
  height: number;
  frames: number;
  fps: number;
  /** At least this many bodies (a merge violation needs two). */
  minObjects?: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Draw a scene of `kind`. Deterministic in `rng`. */
export function sampleScene(kind: SceneKind, req: SceneRequest, rng: Rng): SceneSetup {
  const { width: W, height: H, frames, fps } = req;
  const D = (frames - 1) / fps;
  const minSide = Math.min(W, H);
  const bgKind = rng.pick(BACKGROUND_KINDS);
  const bgColor = rng.pick(BACKGROUND_COLOR_NAMES);
  const background: BackgroundSpec = { kind: bgKind, color: bgColor, rgb: [...BACKGROUND_COLORS[bgColor]] as Rgb, seed: rng.nextU32() };
  const floorY = Math.round(H - Math.max(3, 0.12 * H));
  const shades = bgKind === 'gradient' ? [background.rgb, gradientBottom(background.rgb)] : [background.rgb];
  const colors = rng.shuffle(OBJECT_COLOR_NAMES.filter((c) => shades.every((s) => rgbDistance(OBJECT_COLORS[c], s) > MIN_CONTRAST)));
  let nextId = 0;
  const body = (shape: 'ball' | 'box', large: boolean, restitution: number): BodyInit => {
    const r = Math.max(2.5, minSide * (large ? rng.range(0.11, 0.15) : rng.range(0.06, 0.085)));
    const w = shape === 'ball' ? 2 * r : 2 * r * rng.range(0.85, 1.2);
    const h = 2 * r;
    const color = colors[nextId % colors.length];
    return { id: nextId++, shape, color, w, h, mass: shape === 'ball' ? Math.PI * r * r : w * h, x: 0, y: 0, vx: 0, vy: 0, restitution, onFloor: false };
  };
  const many = (p: number) => Math.max(req.minObjects ?? 1, rng.uniform() < p ? 2 : 1);
  const dir = rng.uniform() < 0.5 ? 1 : -1;
  const base: Omit<SceneSetup, 'bodies' | 'gravity' | 'floorY' | 'friction'> = { scene: kind, width: W, height: H, fps, frames, collisionRestitution: 1, background, occluders: [] };

  switch (kind) {
    case 'bounce': {
      const n = many(0.3);
      const gravity = H * rng.range(3, 5);
      const e = rng.range(0.6, 0.8);
      const bodies = Array.from({ length: n }, () => body('ball', rng.uniform() < 0.5, e));
      // Start on one side and drift across; with two balls both drift at the same speed so they never meet.
      const slots = n === 1 ? [dir > 0 ? rng.range(0.15, 0.3) : rng.range(0.7, 0.85)] : [0.3, 0.7];
      const rMax = Math.max(...bodies.map((b) => b.w / 2));
      let speed = rng.range(0.15, 0.35) * (W / Math.max(D, 1e-6));
      for (const [i, b] of bodies.entries()) {
        b.x = slots[i] * W;
        b.y = Math.max(b.h / 2 + 1, rng.range(0.1, 0.28) * H);
        const room = dir > 0 ? W - rMax - 1 - b.x : b.x - rMax - 1;
        speed = Math.min(speed, Math.max(0, room) / Math.max(D, 1e-6));
      }
      bodies.forEach((b) => (b.vx = dir * speed));
      return { ...base, gravity, floorY, friction: 0, bodies };
    }
    case 'fall': {
      const n = many(0.3);
      const bodies = Array.from({ length: n }, () => {
        const box = rng.uniform() < 0.6;
        return body(box ? 'box' : 'ball', rng.uniform() < 0.5, box ? rng.range(0.1, 0.25) : rng.range(0.3, 0.45));
      });
      const slots = n === 1 ? [rng.range(0.25, 0.75)] : [rng.range(0.2, 0.35), rng.range(0.65, 0.8)];
      bodies.forEach((b, i) => {
        b.x = slots[i] * W;
        b.y = Math.max(b.h / 2 + 1, rng.range(0.1, 0.25) * H);
      });
      // Land at 35–55 % of the clip: g = 2h / t².
      const drop = Math.min(...bodies.map((b) => floorY - b.h / 2 - b.y));
      const tLand = rng.range(0.35, 0.55) * D;
      return { ...base, gravity: (2 * drop) / (tLand * tLand), floorY, friction: 0.6, bodies };
    }
    case 'slide': {
      const n = many(0.3);
      const gravity = H * rng.range(3, 5);
      const bodies = Array.from({ length: n }, () => body('box', rng.uniform() < 0.5, 0));
      // The leader slides furthest; a follower behind it starts slower, so the gap only grows.
      const lead = bodies[n - 1];
      const dLead = rng.range(0.3, 0.5) * W;
      const tStop = rng.range(0.45, 0.75) * D;
      const a = (2 * dLead) / (tStop * tStop);
      const dists = n === 1 ? [dLead] : [dLead * rng.range(0.35, 0.6), dLead];
      const gaps = n === 1 ? [0] : [0, (bodies[0].w + lead.w) / 2 + rng.range(2, 0.08 * W)];
      const span = gaps[n - 1] + dLead + bodies[0].w / 2 + lead.w / 2 + 2;
      const start = bodies[0].w / 2 + 1 + rng.range(0, Math.max(0, W - span));
      bodies.forEach((b, i) => {
        const xRight = start + gaps[i];
        b.x = dir > 0 ? xRight : W - xRight;
        b.y = floorY - b.h / 2;
        b.onFloor = true;
        b.vx = dir * Math.sqrt(2 * a * dists[i]);
      });
      return { ...base, gravity, floorY, friction: a / gravity, bodies };
    }
    case 'collide': {
      const mode: '1d' | '2d' = rng.uniform() < 0.5 ? '1d' : '2d';
      const elastic = rng.uniform() < 0.5;
      const e = elastic ? 1 : rng.range(0.5, 0.85);
      const [a, b] = [body('ball', rng.uniform() < 0.5, 0), body('ball', rng.uniform() < 0.5, 0)];
      const ra = a.w / 2;
      const rb = b.w / 2;
      const tc = rng.range(0.35, 0.5) * D;
      const v0 = W / Math.max(D, 1e-6);
      const cx = rng.range(0.4, 0.6) * W;
      const cy = mode === '1d' ? floorY - Math.max(ra, rb) : rng.range(0.4, 0.6) * H;
      const ang = mode === '1d' ? 0 : rng.range(-0.5, 0.5);
      const nx = Math.cos(ang);
      const ny = Math.sin(ang);
      // Touching at P at time tc: a on the −n side, b on the +n side.
      const ca = [cx - nx * ra, cy - ny * ra];
      const cb = [cx + nx * rb, cy + ny * rb];
      let va = [rng.range(0.3, 0.5) * v0, mode === '1d' ? 0 : rng.range(-0.15, 0.15) * v0];
      let vb = [-rng.range(0, 0.35) * v0, mode === '1d' ? 0 : rng.range(-0.15, 0.15) * v0];
      // Shrink the speeds until both start inside the frame.
      for (let k = 0; k < 30; k++) {
        const sa = [ca[0] - va[0] * tc, ca[1] - va[1] * tc];
        const sb = [cb[0] - vb[0] * tc, cb[1] - vb[1] * tc];
        const inside = (p: number[], r: number) => p[0] >= r + 1 && p[0] <= W - r - 1 && p[1] >= r + 1 && p[1] <= (mode === '1d' ? floorY : H) - r - 1 + (mode === '1d' ? 2 : 0);
        if (inside(sa, ra) && inside(sb, rb)) break;
        va = va.map((v) => v * 0.85);
        vb = vb.map((v) => v * 0.85);
      }
      if ((va[0] - vb[0]) * nx + (va[1] - vb[1]) * ny <= 0) vb = [-0.1 * v0, 0];
      a.x = ca[0] - va[0] * tc;
      a.y = mode === '1d' ? floorY - ra : ca[1] - va[1] * tc;
      b.x = cb[0] - vb[0] * tc;
      b.y = mode === '1d' ? floorY - rb : cb[1] - vb[1] * tc;
      [a.vx, a.vy, b.vx, b.vy] = [va[0], mode === '1d' ? 0 : va[1], vb[0], mode === '1d' ? 0 : vb[1]];
      a.onFloor = b.onFloor = mode === '1d';
      // Mirror half the clips so the first ball comes from the right.
      if (dir < 0) for (const o of [a, b]) ((o.x = W - o.x), (o.vx = -o.vx));
      return { ...base, gravity: mode === '1d' ? H * rng.range(3, 5) : 0, floorY: mode === '1d' ? floorY : null, friction: 0, collisionRestitution: e, collideMode: mode, bodies: [a, b] };
    }
    case 'occlude':
    case 'roll': {
      const n = many(kind === 'roll' ? 0.3 : 0.2);
      const gravity = H * rng.range(3, 5);
      const bodies = Array.from({ length: n }, () => body(kind === 'roll' || rng.uniform() < 0.6 ? 'ball' : 'box', rng.uniform() < 0.5, 0));
      const gap = n === 1 ? 0 : bodies[0].w / 2 + bodies[1].w / 2 + rng.range(3, 0.12 * W);
      const wMax = Math.max(...bodies.map((b) => b.w));
      // Positions measured in the direction of travel ("right" means ahead); mirrored for dir < 0.
      const start = bodies[0].w / 2 + 1 + rng.range(0, 0.06 * W);
      let speed: number;
      const occluders: Occluder[] = [];
      if (kind === 'occlude') {
        const travel = Math.max(0.55 * W, 0.8 * W - start);
        speed = travel / (D * rng.range(0.85, 0.95));
        const ww = Math.min(0.45 * W, wMax + Math.max((2.5 * speed) / fps, 0.1 * W));
        const wx = rng.range(0.45, 0.55) * W;
        const wh = Math.min(floorY - 2, Math.max(Math.max(...bodies.map((b) => b.h)) + 0.15 * H, rng.range(0.45, 0.7) * H));
        occluders.push({ x: dir > 0 ? wx : W - wx, y: floorY - wh / 2, w: ww, h: wh, color: WALL_COLOR.name, rgb: [...WALL_COLOR.rgb] as Rgb });
      } else {
        speed = (rng.range(0.35, 0.65) * W) / Math.max(D, 1e-6);
      }
      bodies.forEach((b, i) => {
        const ahead = start + (n - 1 - i) * gap;
        b.x = dir > 0 ? ahead : W - ahead;
        b.y = floorY - b.h / 2;
        b.onFloor = true;
        b.vx = dir * speed;
      });
      return { ...base, gravity, floorY, friction: 0, bodies, occluders };
    }
    case 'pendulum': {
      const n = many(0.25);
      const bodies = Array.from({ length: n }, () => body('ball', rng.uniform() < 0.5, 0));
      const pivots = n === 1 ? [rng.range(0.42, 0.58)] : [0.28, 0.72];
      const halfRoom = n === 1 ? 0.45 * W : 0.2 * W;
      const py = rng.range(0.04, 0.1) * H;
      const lengths = bodies.map(() => rng.range(0.5, 0.68) * H);
      // One gravity per clip, set so the first pendulum's small-angle period is 60–90 % of the clip.
      const period = rng.range(0.6, 0.9) * D;
      const gravity = lengths[0] * ((2 * Math.PI) / period) ** 2;
      bodies.forEach((b, i) => {
        const r = b.w / 2;
        const length = lengths[i];
        const maxTheta = Math.asin(clamp((halfRoom - r - 1) / length, 0.05, 0.95));
        const theta = dir * clamp(rng.range(0.35, 0.85), 0.05, maxTheta);
        const px = pivots[i] * W;
        b.pendulum = { px, py, length, theta, omega: 0 };
        b.x = px + length * Math.sin(theta);
        b.y = py + length * Math.cos(theta);
      });
      return { ...base, gravity, floorY: null, friction: 0, bodies };
    }
  }
}
