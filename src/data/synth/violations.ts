// Planted physics failures: edit the drawn trajectories of a clean simulation so that the clip
// shows exactly one known violation of object permanence, continuity or dynamics — the failure
// modes that physics benchmarks for video generators score (Physics-IQ, Motamed et al. 2025;
// VideoPhy, Bansal et al. 2024). Each plant returns its record {type, frame, object, detail},
// where `frame` is the first frame that shows the failure (0 for whole-clip failures: reversal,
// direction_mismatch), or null when the clip offers no place to plant it cleanly (the caller
// draws another scene). split adds an object to the setup (the piece that breaks off).
import type { Rng } from '../../util/rng.js';
import { MIN_CONTRAST, OBJECT_COLOR_NAMES, OBJECT_COLORS, gradientBottom, rgbDistance } from './palette.js';
import type { SimEvent } from './physics.js';
import { insideFrame, touchesOccluder, type DrawState } from './render.js';
import type { SceneKind, SceneSetup } from './scenes.js';

/** The failure types this generator can plant (a subset of VIOLATION_TYPES in clips.ts). */
export const PLANTABLE = ['disappearance', 'appearance', 'teleport', 'merge', 'split', 'morph', 'gravity_violation', 'reversal', 'direction_mismatch'] as const;
export type Plantable = (typeof PLANTABLE)[number];

export interface Planted {
  type: Plantable;
  frame: number;
  object: number;
  detail: string;
}

/**
 * Scenes a failure needs. reversal: motion that is visibly irreversible (dissipative), so playing
 * it backwards breaks physics; direction_mismatch: a left/right motion the caption names.
 */
const SCENES_FOR: Partial<Record<Plantable, readonly SceneKind[]>> = {
  reversal: ['bounce', 'fall', 'slide'],
  direction_mismatch: ['bounce', 'slide', 'collide', 'occlude', 'roll'],
};

/** The scenes that can show `type`. */
export function scenesFor(type: Plantable): readonly SceneKind[] | null {
  return SCENES_FOR[type] ?? null;
}

/** Whether `type` can be planted in a clip of `scene`. */
export function sceneAllows(type: Plantable, scene: SceneKind): boolean {
  const ok = SCENES_FOR[type];
  return !ok || ok.includes(scene);
}

/** Objects the scene must contain for `type`. */
export function objectsNeeded(type: Plantable): number {
  return type === 'merge' ? 2 : 1;
}

const name = (setup: SceneSetup, k: number) => `${setup.bodies[k].color} ${setup.bodies[k].shape}`;

/** Plant one failure of `type` into `draw` (modified in place). */
export function plantViolation(type: Plantable, setup: SceneSetup, draw: DrawState[][], events: readonly SimEvent[], rng: Rng): Planted | null {
  const { width: W, height: H, frames: T } = setup;
  // Plant inside the middle of the clip, leaving clean frames before and after to compare with.
  const lo = Math.max(2, Math.floor(0.2 * T));
  const hi = Math.min(T - 3, Math.ceil(0.75 * T));
  const n = draw.length;
  // A clean view of object k at frame f: drawn, fully inside the frame, clear of every wall.
  const clear = (k: number, f: number, margin = 1) => draw[k][f].drawn && insideFrame(draw[k][f], W, H, margin) && !touchesOccluder(draw[k][f], setup.occluders, 1);
  const apart = (k: number, f: number) => draw.every((o, j) => j === k || !o[f].drawn || Math.hypot(o[f].x - draw[k][f].x, o[f].y - draw[k][f].y) > (o[f].w + draw[k][f].w) / 2 + 2);
  const slots: [number, number][] = [];
  const collect = (ok: (k: number, f: number) => boolean) => {
    for (let k = 0; k < n; k++) for (let f = lo; f <= hi; f++) if (ok(k, f)) slots.push([k, f]);
    return slots.length ? rng.pick(slots) : null;
  };
  switch (type) {
    case 'disappearance': {
      const s = collect((k, f) => clear(k, f - 1) && clear(k, f) && apart(k, f - 1) && apart(k, f));
      if (!s) return null;
      const [k, f0] = s;
      for (let f = f0; f < T; f++) draw[k][f].drawn = false;
      return { type, frame: f0, object: k, detail: `the ${name(setup, k)} vanishes in mid-frame, not behind anything` };
    }
    case 'appearance': {
      const margin = Math.max(2, 0.08 * Math.min(W, H));
      const s = collect((k, f) => clear(k, f, margin) && clear(k, f + 1, margin) && apart(k, f));
      if (!s) return null;
      const [k, f0] = s;
      for (let f = 0; f < f0; f++) draw[k][f].drawn = false;
      return { type, frame: f0, object: k, detail: `the ${name(setup, k)} appears out of nowhere away from the frame border` };
    }
    case 'teleport': {
      const opts: { k: number; f: number; dx: number; dy: number }[] = [];
      for (let k = 0; k < n; k++) {
        for (let f = lo; f <= hi; f++) {
          if (!clear(k, f - 1) || !clear(k, f)) continue;
          const s = draw[k][f];
          const step = Math.hypot(s.x - draw[k][f - 1].x, s.y - draw[k][f - 1].y);
          const free = setup.floorY === null;
          for (const [sign, reach] of [1, -1].flatMap((sg) => [0.35, 0.5, 0.65].map((q) => [sg, q] as const))) {
            const dx = sign * Math.max(0.3 * W, 4 * step, rng.range(reach, reach + 0.1) * W);
            const dy = free ? rng.range(-0.2, 0.2) * H : 0;
            const moved = (g: number) => ({ ...draw[k][g], x: draw[k][g].x + dx, y: draw[k][g].y + dy });
            const m = moved(f);
            const alone = draw.every((o, j) => j === k || !o[f].drawn || Math.hypot(o[f].x - m.x, o[f].y - m.y) > (o[f].w + m.w) / 2 + 2);
            if (alone && insideFrame(m, W, H, 1) && insideFrame(moved(f + 1), W, H, 1) && !touchesOccluder(m, setup.occluders, 1)) opts.push({ k, f, dx, dy });
          }
        }
      }
      if (!opts.length) return null;
      const { k, f: f0, dx, dy } = rng.pick(opts);
      for (let f = f0; f < T; f++) ((draw[k][f].x += dx), (draw[k][f].y += dy));
      return { type, frame: f0, object: k, detail: `the ${name(setup, k)} jumps ${Math.round(Math.hypot(dx, dy))} px ${dx > 0 ? 'right' : 'left'} between two frames` };
    }
    case 'merge': {
      if (n < 2) return null;
      const m = 2;
      let best: { a: number; b: number; f: number; d: number } | null = null;
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          if (a === b) continue;
          for (let f = lo; f <= Math.min(hi, T - 1 - m - 1); f++) {
            if (!clear(a, f + m, 0) || !draw[b][f].drawn || !clear(b, f, 0)) continue;
            const d = Math.hypot(draw[a][f + m].x - draw[b][f].x, draw[a][f + m].y - draw[b][f].y) + rng.uniform() * 1e-3;
            if (!best || d < best.d) best = { a, b, f, d };
          }
        }
      }
      if (!best) return null;
      const { a, b, f: f0 } = best;
      const from = { x: draw[b][f0].x, y: draw[b][f0].y };
      const to = draw[a][f0 + m];
      for (let j = 1; j < m; j++) ((draw[b][f0 + j].x = from.x + ((to.x - from.x) * j) / m), (draw[b][f0 + j].y = from.y + ((to.y - from.y) * j) / m));
      // From the merge on, the vanished object's recorded position is the survivor's.
      for (let f = f0 + m; f < T; f++) Object.assign(draw[b][f], { x: draw[a][f].x, y: draw[a][f].y, drawn: false });
      return { type, frame: f0 + m, object: b, detail: `the ${name(setup, b)} merges into the ${name(setup, a)} (object ${a}) and only one object remains` };
    }
    case 'split': {
      const s = collect((k, f) => clear(k, f - 1) && clear(k, f) && f <= T - 4 && Math.min(draw[k][f].w, draw[k][f].h) >= 6);
      if (!s) return null;
      const [k, f0] = s;
      const parent = setup.bodies[k];
      const id = setup.bodies.length;
      const sep = rng.range(0.25, 0.4) * W; // px/s each piece drifts away from the original path
      const shrink = Math.SQRT1_2; // two pieces of half the area
      const child: DrawState[] = draw[k].map((st) => ({ ...st, drawn: false }));
      for (let f = f0; f < T; f++) {
        const st = draw[k][f];
        const d = ((f - f0) / setup.fps) * sep;
        const h = st.h * shrink;
        const onFloor = setup.floorY !== null && Math.abs(st.y + st.h / 2 - setup.floorY) < 0.5;
        const y = onFloor ? st.y + (st.h - h) / 2 : st.y;
        child[f] = { x: st.x - d, y, w: st.w * shrink, h, drawn: true, color: st.color };
        Object.assign(st, { x: st.x + d, y, w: st.w * shrink, h });
      }
      setup.bodies.push({ ...parent, id, w: parent.w * shrink, h: parent.h * shrink, mass: parent.mass / 2, pendulum: undefined });
      draw.push(child);
      return { type, frame: f0, object: id, detail: `the ${name(setup, k)} splits into two smaller ${parent.shape}s that drift apart (object ${id} breaks off object ${k})` };
    }
    case 'morph': {
      const s = collect((k, f) => clear(k, f - 1) && clear(k, f) && f <= T - 3);
      if (!s) return null;
      const [k, f0] = s;
      const b = setup.bodies[k];
      const used = new Set(setup.bodies.map((o) => o.color));
      const shades = setup.background.kind === 'gradient' ? [setup.background.rgb, gradientBottom(setup.background.rgb)] : [setup.background.rgb];
      const colors = OBJECT_COLOR_NAMES.filter((c) => !used.has(c) && shades.every((s) => rgbDistance(OBJECT_COLORS[c], s) > MIN_CONTRAST) && rgbDistance(OBJECT_COLORS[c], OBJECT_COLORS[b.color]) > 150);
      if (colors.length && rng.uniform() < 0.5) {
        const c = rng.pick(colors);
        for (let f = f0; f < T; f++) draw[k][f].color = c;
        return { type, frame: f0, object: k, detail: `colour changes from ${b.color} to ${c}` };
      }
      const shrink = rng.uniform() < 0.5 && Math.min(b.w, b.h) * 0.6 >= 4;
      const factor = shrink ? 0.6 : 1.6;
      const resting = setup.floorY !== null && Math.abs(draw[k][f0].y + draw[k][f0].h / 2 - setup.floorY) < 0.5;
      for (let f = f0; f < T; f++) {
        const st = draw[k][f];
        const h = st.h * factor;
        if (resting) st.y += (st.h - h) / 2;
        st.w *= factor;
        st.h = h;
      }
      return { type, frame: f0, object: k, detail: `size jumps ×${factor} (${shrink ? 'shrinks' : 'grows'})` };
    }
    case 'gravity_violation': {
      const jolt = (k: number, f: number) => events.some((e) => e.type !== 'turn' && (e.object === k || e.other === k) && e.frame >= f - 1 && e.frame <= f + 1);
      const s = collect((k, f) => clear(k, f - 1) && clear(k, f) && f <= T - 4 && !jolt(k, f));
      if (!s) return null;
      const [k, f0] = s;
      const vx = (draw[k][f0].x - draw[k][f0 - 1].x) * setup.fps;
      const vy = (draw[k][f0].y - draw[k][f0 - 1].y) * setup.fps;
      const a = Math.max(setup.gravity, 3 * H) * rng.range(0.7, 1);
      const { x: x0, y: y0 } = draw[k][f0];
      for (let f = f0 + 1; f < T; f++) {
        const t = (f - f0) / setup.fps;
        draw[k][f].x = x0 + vx * t;
        draw[k][f].y = y0 + vy * t - 0.5 * a * t * t;
      }
      return { type, frame: f0 + 1, object: k, detail: `the ${name(setup, k)} accelerates upward at ${Math.round(a)} px/s² with nothing pushing it` };
    }
    case 'reversal': {
      if (!sceneAllows(type, setup.scene)) return null;
      for (const d of draw) d.reverse();
      const what = setup.scene === 'bounce' ? 'bounces grow higher instead of lower' : setup.scene === 'fall' ? 'the resting object leaps up and slows as it rises' : 'the resting box starts sliding by itself and speeds up against friction';
      return { type, frame: 0, object: 0, detail: `the clip plays backwards: ${what}` };
    }
    case 'direction_mismatch': {
      // Mirror the world left–right: every motion runs the other way from the caption's.
      if (!sceneAllows(type, setup.scene)) return null;
      const dx = draw.map((d) => d[T - 1].x - d[0].x);
      const k = dx.reduce((best, v, i) => (Math.abs(v) > Math.abs(dx[best]) ? i : best), 0);
      if (Math.abs(dx[k]) < 0.1 * W) return null;
      for (const d of draw) for (const st of d) st.x = W - st.x;
      for (const o of setup.occluders) o.x = W - o.x;
      const said = dx[k] > 0 ? 'left to right' : 'right to left';
      const shown = dx[k] > 0 ? 'right to left' : 'left to right';
      return { type, frame: 0, object: k, detail: `the ${name(setup, k)} moves from ${shown} although the caption says ${said}` };
    }
  }
}
