// Rigid-body simulation of a scene setup in continuous units (px, s), sub-stepped between frames.
// Free flight is integrated exactly for constant gravity (x += v·dt + ½·g·dt²); floor impacts are
// solved at the exact time of contact inside a sub-step and reflect with restitution e (so
// successive bounce heights scale by e²); bodies resting on the floor decelerate by kinetic
// friction μ·g; ball–ball contacts exchange an impulse along the normal, which conserves
// momentum exactly (restitution 1 = elastic); pendulums integrate θ'' = −(g/L)·sin θ with RK4.
import type { SceneSetup } from './scenes.js';

/** One body in one frame: centre (x, y) and extent (w, h) in pixels. */
export interface BodyState {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type SimEventType = 'bounce' | 'land' | 'stop' | 'collision' | 'turn';

export interface SimEvent {
  type: SimEventType;
  /** Nearest frame index to the event time. */
  frame: number;
  object: number;
  /** The other body of a collision. */
  other?: number;
  /** Event time in seconds from the first frame. */
  t: number;
}

export interface SimResult {
  /** states[object][frame]. */
  states: BodyState[][];
  events: SimEvent[];
}

/** Sub-steps per frame interval. */
export const SUBSTEPS = 32;

interface Live {
  id: number;
  shape: 'ball' | 'box';
  w: number;
  h: number;
  mass: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  e: number;
  onFloor: boolean;
  pend?: { px: number; py: number; L: number; th: number; om: number };
}

/** Speed below which a floor impact comes to rest instead of bouncing (px/s): a hop lower than ~0.3 px. */
function restSpeed(g: number): number {
  return Math.sqrt(2 * g * 0.3);
}

export function simulate(setup: SceneSetup): SimResult {
  const { fps, frames, gravity: g, floorY, friction: mu } = setup;
  const dt = 1 / (fps * SUBSTEPS);
  const bodies: Live[] = setup.bodies.map((b) => ({
    id: b.id,
    shape: b.shape,
    w: b.w,
    h: b.h,
    mass: b.mass,
    x: b.x,
    y: b.y,
    vx: b.vx,
    vy: b.vy,
    e: b.restitution,
    onFloor: b.onFloor,
    pend: b.pendulum ? { px: b.pendulum.px, py: b.pendulum.py, L: b.pendulum.length, th: b.pendulum.theta, om: b.pendulum.omega } : undefined,
  }));
  const states: BodyState[][] = bodies.map(() => []);
  const events: SimEvent[] = [];
  const emit = (type: SimEventType, t: number, object: number, other?: number) => {
    const frame = Math.min(frames - 1, Math.max(0, Math.round(t * fps)));
    events.push(other === undefined ? { type, frame, object, t } : { type, frame, object, other, t });
  };
  const record = () => bodies.forEach((b, i) => states[i].push({ x: b.x, y: b.y, w: b.w, h: b.h }));
  record();
  for (let f = 1; f < frames; f++) {
    for (let s = 0; s < SUBSTEPS; s++) {
      const t0 = ((f - 1) * SUBSTEPS + s) * dt;
      for (const b of bodies) {
        if (b.pend) stepPendulum(b, g, dt, t0, emit);
        else if (b.onFloor) stepOnFloor(b, mu * g, dt, t0, emit);
        else stepFree(b, g, floorY, dt, t0, emit);
      }
      collideBalls(bodies, setup.collisionRestitution, t0 + dt, emit);
    }
    record();
  }
  return { states, events };
}

type Emit = (type: SimEventType, t: number, object: number, other?: number) => void;

function stepFree(b: Live, g: number, floorY: number | null, dt: number, t0: number, emit: Emit): void {
  const y1 = b.y + b.vy * dt + 0.5 * g * dt * dt;
  const bottom = floorY === null ? Infinity : floorY - b.h / 2;
  b.x += b.vx * dt;
  if (y1 < bottom) {
    b.y = y1;
    b.vy += g * dt;
    return;
  }
  // Exact contact time τ ∈ [0, dt]: y + vy·τ + ½·g·τ² = bottom.
  const c = b.y - bottom;
  let tau: number;
  if (g > 0) {
    const disc = Math.max(0, b.vy * b.vy - 2 * g * c);
    tau = (-b.vy + Math.sqrt(disc)) / g;
  } else {
    tau = b.vy > 0 ? -c / b.vy : 0;
  }
  tau = Math.min(dt, Math.max(0, tau));
  const vImpact = b.vy + g * tau;
  const vOut = -b.e * vImpact;
  if (-vOut < restSpeed(g)) {
    b.y = bottom;
    b.vy = 0;
    b.onFloor = true;
    emit('land', t0 + tau, b.id);
    return;
  }
  const rest = dt - tau;
  b.y = bottom + vOut * rest + 0.5 * g * rest * rest;
  b.vy = vOut + g * rest;
  emit('bounce', t0 + tau, b.id);
}

function stepOnFloor(b: Live, decel: number, dt: number, t0: number, emit: Emit): void {
  if (b.vx === 0 || decel <= 0) {
    b.x += b.vx * dt;
    return;
  }
  const sign = Math.sign(b.vx);
  const speed = Math.abs(b.vx);
  if (speed <= decel * dt) {
    const tau = speed / decel;
    b.x += sign * (speed * tau - 0.5 * decel * tau * tau);
    b.vx = 0;
    emit('stop', t0 + tau, b.id);
    return;
  }
  b.x += sign * (speed * dt - 0.5 * decel * dt * dt);
  b.vx = sign * (speed - decel * dt);
}

function stepPendulum(b: Live, g: number, dt: number, t0: number, emit: Emit): void {
  const p = b.pend!;
  const acc = (th: number) => -(g / p.L) * Math.sin(th);
  const k1t = p.om;
  const k1o = acc(p.th);
  const k2t = p.om + 0.5 * dt * k1o;
  const k2o = acc(p.th + 0.5 * dt * k1t);
  const k3t = p.om + 0.5 * dt * k2o;
  const k3o = acc(p.th + 0.5 * dt * k2t);
  const k4t = p.om + dt * k3o;
  const k4o = acc(p.th + dt * k3t);
  const om0 = p.om;
  p.th += (dt / 6) * (k1t + 2 * k2t + 2 * k3t + k4t);
  p.om += (dt / 6) * (k1o + 2 * k2o + 2 * k3o + k4o);
  if ((om0 > 0 && p.om <= 0) || (om0 < 0 && p.om >= 0)) emit('turn', t0 + dt, b.id);
  const x = p.px + p.L * Math.sin(p.th);
  const y = p.py + p.L * Math.cos(p.th);
  b.vx = (x - b.x) / dt;
  b.vy = (y - b.y) / dt;
  b.x = x;
  b.y = y;
}

/** Impulse-based ball–ball contacts (pendulum bobs excluded). */
function collideBalls(bodies: Live[], e: number, t: number, emit: Emit): void {
  for (let i = 0; i < bodies.length; i++) {
    for (let j = i + 1; j < bodies.length; j++) {
      const a = bodies[i];
      const b = bodies[j];
      if (a.shape !== 'ball' || b.shape !== 'ball' || a.pend || b.pend) continue;
      // Two balls rolling on the floor collide head-on along the floor (1-D), whatever their radii.
      const flat = a.onFloor && b.onFloor;
      const dx = b.x - a.x;
      const dy = flat ? 0 : b.y - a.y;
      const d = Math.hypot(dx, dy);
      const rSum = a.w / 2 + b.w / 2;
      if (d >= rSum || d === 0) continue;
      const nx = dx / d;
      const ny = dy / d;
      const vn = (b.vx - a.vx) * nx + (b.vy - a.vy) * ny;
      if (vn >= 0) continue;
      const jImp = (-(1 + e) * vn) / (1 / a.mass + 1 / b.mass);
      a.vx -= (jImp / a.mass) * nx;
      a.vy -= (jImp / a.mass) * ny;
      b.vx += (jImp / b.mass) * nx;
      b.vy += (jImp / b.mass) * ny;
      // Separate the overlap in inverse proportion to mass (keeps the centre of mass in place).
      const overlap = rSum - d;
      const wa = (1 / a.mass) / (1 / a.mass + 1 / b.mass);
      a.x -= nx * overlap * wa;
      a.y -= ny * overlap * wa;
      b.x += nx * overlap * (1 - wa);
      b.y += ny * overlap * (1 - wa);
      emit('collision', t, a.id, b.id);
    }
  }
}
