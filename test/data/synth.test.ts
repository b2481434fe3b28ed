import { describe, expect, it } from 'vitest';
import { clipRng, renderClip, violationFor, type ClipSpec } from '../../src/data/synth/index.js';
import { VOCABULARY } from '../../src/data/synth/caption.js';
import { simulate } from '../../src/data/synth/physics.js';
import { sampleScene, SCENES, type SceneKind } from '../../src/data/synth/scenes.js';
import { PLANTABLE, sceneAllows, type Plantable } from '../../src/data/synth/violations.js';
import { parseViolations } from '../../src/data/synth/options.js';
import { Rng } from '../../src/util/rng.js';
import type { PhysicsTruth } from '../../src/data/clips.js';

const spec = (scene: SceneKind, extra: Partial<ClipSpec> = {}): ClipSpec => ({ scene, width: 64, height: 64, frames: 16, fps: 12, ...extra });
const pixel = (f: { width: number; data: Uint8Array }, x: number, y: number) => Array.from(f.data.subarray((Math.floor(y) * f.width + Math.floor(x)) * 3, (Math.floor(y) * f.width + Math.floor(x)) * 3 + 3));
const dist = (a: number[], b: readonly number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

describe('synth: determinism', () => {
  it('same seed gives identical frame bytes, truth and caption; another seed differs', () => {
    for (const scene of ['bounce', 'occlude', 'pendulum'] as const) {
      const a = renderClip(spec(scene, { violation: 'teleport' }), clipRng(5, 3));
      const b = renderClip(spec(scene, { violation: 'teleport' }), clipRng(5, 3));
      expect(a.frames.map((f) => Buffer.from(f.data).toString('base64'))).toEqual(b.frames.map((f) => Buffer.from(f.data).toString('base64')));
      expect(JSON.stringify(a.truth)).toBe(JSON.stringify(b.truth));
      expect(a.caption).toBe(b.caption);
      const c = renderClip(spec(scene, { violation: 'teleport' }), clipRng(6, 3));
      expect(JSON.stringify(c.truth)).not.toBe(JSON.stringify(a.truth));
    }
  });
});

describe('synth: physics', () => {
  it('bounce: each apex is e² of the previous one (restitution < 1)', () => {
    let checked = 0;
    for (let s = 0; s < 6; s++) {
      const setup = sampleScene('bounce', { width: 64, height: 64, frames: 16, fps: 12 }, new Rng(s));
      const fine = { ...setup, fps: 480, frames: 480 * 3 };
      const sim = simulate(fine);
      const bounces = sim.events.filter((e) => e.type === 'bounce' && e.object === 0).map((e) => e.frame);
      const floorTop = setup.floorY! - setup.bodies[0].h / 2;
      const apex: number[] = [];
      for (let i = 0; i + 1 < bounces.length; i++) apex.push(floorTop - Math.min(...sim.states[0].slice(bounces[i], bounces[i + 1]).map((st) => st.y)));
      expect(apex.length).toBeGreaterThanOrEqual(2);
      const e2 = setup.bodies[0].restitution ** 2;
      for (let i = 0; i + 1 < Math.min(apex.length, 3); i++) {
        expect(apex[i + 1]).toBeLessThan(apex[i]);
        expect(apex[i + 1] / apex[i]).toBeCloseTo(e2, 1);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('fall: vertical acceleration before landing equals the recorded gravity', () => {
    for (let s = 0; s < 5; s++) {
      const r = renderClip(spec('fall', { frames: 24 }), new Rng(100 + s));
      const g = r.truth.gravity!;
      const land = r.truth.events.find((e) => e.object === 0 && (e.type === 'bounce' || e.type === 'land'))!;
      const ys = r.truth.objects[0].frames.map((f) => f.y);
      expect(land.frame).toBeGreaterThan(3);
      for (let t = 1; t < land.frame - 1; t++) {
        const acc = (ys[t + 1] - 2 * ys[t] + ys[t - 1]) * 12 * 12;
        expect(Math.abs(acc - g) / g).toBeLessThan(0.01);
      }
    }
  });

  it('collide: momentum is conserved within 1 % (1-D and 2-D, elastic and inelastic)', () => {
    const modes = new Set<string>();
    for (let s = 0; s < 12; s++) {
      const r = renderClip(spec('collide', { frames: 24 }), new Rng(200 + s));
      const hit = r.truth.events.find((e) => e.type === 'collision');
      expect(hit).toBeDefined();
      modes.add(`${r.setup.collideMode}/${r.setup.collisionRestitution === 1 ? 'elastic' : 'inelastic'}`);
      const T = r.truth.objects[0].frames.length;
      const p = (t: number) => r.truth.objects.reduce((acc, o) => [acc[0] + o.mass! * (o.frames[t + 1].x - o.frames[t].x), acc[1] + o.mass! * (o.frames[t + 1].y - o.frames[t].y)], [0, 0]);
      const scale = r.truth.objects.reduce((acc, o) => acc + o.mass! * Math.hypot(o.frames[1].x - o.frames[0].x, o.frames[1].y - o.frames[0].y), 0);
      const [b, a] = [p(0), p(T - 2)];
      expect(Math.hypot(a[0] - b[0], a[1] - b[1]) / scale).toBeLessThan(0.01);
      // The collision changed the velocities.
      const v0 = r.truth.objects[0].frames[1].x - r.truth.objects[0].frames[0].x;
      const v1 = r.truth.objects[0].frames[T - 1].x - r.truth.objects[0].frames[T - 2].x;
      expect(Math.abs(v1 - v0)).toBeGreaterThan(0.1);
    }
    expect(modes.size).toBeGreaterThanOrEqual(3);
  });

  it('slide: decelerates at μ·g and stops', () => {
    for (let s = 0; s < 5; s++) {
      const r = renderClip(spec('slide', { frames: 24 }), new Rng(300 + s));
      const o = r.truth.objects[r.truth.objects.length - 1];
      const xs = o.frames.map((f) => f.x);
      const speeds = xs.slice(1).map((x, i) => Math.abs(x - xs[i]));
      for (let i = 1; i < speeds.length; i++) expect(speeds[i]).toBeLessThanOrEqual(speeds[i - 1] + 1e-3);
      expect(speeds[speeds.length - 1]).toBeLessThan(1e-3);
      const stop = r.truth.events.find((e) => e.type === 'stop' && e.object === o.id)!;
      expect(stop).toBeDefined();
      const decel = (Math.abs(xs[4] - 2 * xs[2] + xs[0]) * 144) / 4;
      expect(Math.abs(decel / (r.setup.friction * r.truth.gravity!) - 1)).toBeLessThan(0.01);
      expect(r.caption).toMatch(/slides from (left to right|right to left) .*stops/);
    }
  });

  it('pendulum: the bob stays on its string (constant distance to the pivot)', () => {
    const r = renderClip(spec('pendulum', { frames: 24 }), new Rng(400));
    for (const o of r.truth.objects) {
      const [px, py] = o.pivot!;
      const d = o.frames.map((f) => Math.hypot(f.x - px, f.y - py));
      expect(Math.max(...d) - Math.min(...d)).toBeLessThan(0.01);
    }
    expect(r.truth.events.some((e) => e.type === 'turn')).toBe(true);
  });
});

/** Visible, unoccluded object frames whose centre pixel is not covered by another object. */
function checkPixels(truth: PhysicsTruth, frames: { width: number; height: number; data: Uint8Array }[]): number {
  let n = 0;
  truth.objects.forEach((o) => {
    o.frames.forEach((s, t) => {
      if (!s.visible || s.x < 1 || s.y < 1 || s.x > frames[t].width - 1 || s.y > frames[t].height - 1) return;
      const covered = truth.occluders.some((w) => Math.abs(s.x - w.x) < w.w / 2 + 1 && Math.abs(s.y - w.y) < w.h / 2 + 1) || truth.objects.some((p) => p.id > o.id && p.frames[t].visible && Math.abs(p.frames[t].x - s.x) < p.frames[t].w / 2 + 1 && Math.abs(p.frames[t].y - s.y) < p.frames[t].h / 2 + 1);
      if (covered) return;
      expect(dist(pixel(frames[t], s.x, s.y), o.rgb)).toBeLessThan(12);
      n++;
    });
  });
  return n;
}

describe('synth: ground truth matches the pixels', () => {
  it('the object colour is at every visible recorded centre; hidden objects are not drawn there', () => {
    for (const [i, scene] of SCENES.entries()) {
      const r = renderClip(spec(scene, { width: 96, height: 64 }), clipRng(9, i));
      expect(r.frames).toHaveLength(16);
      expect(r.frames[0].data.length).toBe(96 * 64 * 3);
      expect(checkPixels(r.truth, r.frames)).toBeGreaterThan(8);
    }
    // Occlusion: a frame with the object fully behind the wall shows the wall at its centre.
    let seen = 0;
    for (let s = 0; s < 4; s++) {
      const r = renderClip(spec('occlude'), new Rng(500 + s));
      const hid = r.truth.events.find((e) => e.type === 'occluded')!;
      expect(r.truth.events.some((e) => e.type === 'reappear' && e.frame > hid.frame)).toBe(true);
      const st = r.truth.objects[hid.object].frames[hid.frame];
      expect(st.visible).toBe(false);
      expect(dist(pixel(r.frames[hid.frame], st.x, st.y), [165, 165, 170])).toBeLessThan(3);
      expect(r.caption).toMatch(/disappears behind a grey wall then reappears on the (left|right)/);
      seen++;
    }
    expect(seen).toBe(4);
  });
});

describe('synth: planted violations', () => {
  const sceneFor = (v: Plantable): SceneKind => (sceneAllows(v, 'roll') ? 'roll' : 'bounce');
  for (const v of PLANTABLE) {
    it(`plants and records exactly one ${v}`, () => {
      for (let s = 0; s < 3; s++) {
        const scene = s === 0 ? sceneFor(v) : s === 1 ? 'bounce' : v === 'reversal' ? 'slide' : 'collide';
        const r = renderClip(spec(scene, { violation: v }), new Rng(600 + s));
        expect(r.truth.violations).toHaveLength(1);
        const { type, frame: f, object: k } = r.truth.violations[0];
        expect(type).toBe(v);
        const track = r.truth.objects[k].frames;
        const color = r.truth.objects[k].rgb;
        const at = (t: number) => pixel(r.frames[t], track[t].x, track[t].y);
        switch (v) {
          case 'disappearance':
            expect(track[f - 1].visible).toBe(true);
            expect(track.slice(f).every((st) => !st.visible)).toBe(true);
            expect(dist(at(f), color)).toBeGreaterThan(60);
            break;
          case 'appearance':
            expect(track.slice(0, f).every((st) => !st.visible)).toBe(true);
            expect(track[f].visible).toBe(true);
            expect(dist(at(f), color)).toBeLessThan(12);
            break;
          case 'teleport': {
            const jump = Math.hypot(track[f].x - track[f - 1].x, track[f].y - track[f - 1].y);
            const step = Math.hypot(track[f - 1].x - track[f - 2].x, track[f - 1].y - track[f - 2].y);
            expect(jump).toBeGreaterThan(Math.max(0.25 * 64, 3 * step));
            break;
          }
          case 'merge': {
            expect(track[f - 1].visible).toBe(true);
            expect(track.slice(f).every((st) => !st.visible)).toBe(true);
            const others = r.truth.objects.filter((o) => o.id !== k);
            expect(others.length).toBeGreaterThanOrEqual(1);
            const near = Math.min(...others.map((o) => Math.hypot(o.frames[f].x - track[f].x, o.frames[f].y - track[f].y)));
            expect(near).toBeLessThan(1);
            break;
          }
          case 'split': {
            expect(k).toBe(r.truth.objects.length - 1);
            expect(track.slice(0, f).every((st) => !st.visible)).toBe(true);
            expect(track[f].visible).toBe(true);
            const parent = r.truth.objects.find((o) => o.id !== k && o.color === r.truth.objects[k].color)!;
            expect(Math.hypot(parent.frames[f].x - track[f].x, parent.frames[f].y - track[f].y)).toBeLessThan(1);
            expect(track[f].w / parent.frames[f - 1].w).toBeCloseTo(Math.SQRT1_2, 3);
            const T = track.length - 1;
            expect(Math.abs(parent.frames[T].x - track[T].x)).toBeGreaterThan(5);
            break;
          }
          case 'direction_mismatch': {
            expect(f).toBe(0);
            const said = /although the caption says (left to right|right to left)/.exec(r.truth.violations[0].detail!)![1];
            expect(r.caption).toContain(`from ${said}`);
            const moved = track[track.length - 1].x - track[0].x;
            expect(said === 'left to right' ? moved < 0 : moved > 0).toBe(true);
            break;
          }
          case 'morph': {
            const before = track[f - 1];
            const after = track[f];
            const sizeJump = Math.abs(after.w / before.w - 1) > 0.3;
            expect(sizeJump || after.color !== undefined).toBe(true);
            if (after.color) expect(dist(at(f), color)).toBeGreaterThan(100);
            break;
          }
          case 'gravity_violation': {
            const ys = track.map((st) => st.y);
            const acc = ys[f + 1] - 2 * ys[f] + ys[f - 1];
            expect(acc).toBeLessThan(-0.5);
            break;
          }
          case 'reversal': {
            // The same scene drawn clean, played backwards (the reversal draws no extra random numbers).
            expect(f).toBe(0);
            const clean = renderClip(spec(scene), new Rng(600 + s));
            expect(clean.caption).toBe(r.caption);
            clean.truth.objects.forEach((o, j) => expect(r.truth.objects[j].frames.map((st) => [st.x, st.y])).toEqual([...o.frames].reverse().map((st) => [st.x, st.y])));
            expect(Buffer.from(r.frames[0].data).equals(Buffer.from(clean.frames[15].data))).toBe(true);
            break;
          }
        }
      }
    });
  }

  it('clean clips carry no violations; rates and lists assign failures deterministically', () => {
    expect(renderClip(spec('bounce'), new Rng(1)).truth.violations).toEqual([]);
    const half = { violations: parseViolations('0.5', [...SCENES]) };
    const got = Array.from({ length: 2 * PLANTABLE.length }, (_, i) => violationFor(half, i));
    expect(got.filter(Boolean)).toHaveLength(PLANTABLE.length);
    expect(new Set(got.filter(Boolean))).toEqual(new Set(PLANTABLE));
    const list = { violations: parseViolations('teleport,merge', ['bounce']) };
    expect(Array.from({ length: 4 }, (_, i) => violationFor(list, i))).toEqual(['teleport', 'merge', 'teleport', 'merge']);
    expect(() => parseViolations('reversal', ['roll'])).toThrow(/--violations: 'reversal' needs one of the scenes bounce, fall, slide in --scenes/);
    expect(() => parseViolations('direction_mismatch', ['fall', 'pendulum'])).toThrow(/--violations: 'direction_mismatch' needs one of the scenes/);
    expect(() => parseViolations('levitate', ['roll'])).toThrow(/--violations: 'levitate' is not a rate/);
    expect(() => parseViolations('1.5', ['roll'])).toThrow(/--violations: rate 1.5 must be in \[0, 1\]/);
    expect(() => renderClip(spec('roll', { violation: 'reversal' }), new Rng(1))).toThrow(/cannot plant 'reversal' in a 'roll' scene/);
  });
});

describe('synth: captions', () => {
  it('open with an object phrase and close with a background phrase from the shared vocabulary', () => {
    const alt = (xs: readonly string[]) => `(${xs.join('|')})`;
    const head = new RegExp(`^A ${alt(VOCABULARY.sizes)} ${alt(VOCABULARY.colors)} ${alt(VOCABULARY.shapes)} `);
    const tail = new RegExp(`, against a (plain ${alt(VOCABULARY.backgroundColors)}|${alt(VOCABULARY.backgroundColors)} (gradient|textured)) background\\.$`);
    for (const [i, scene] of SCENES.entries()) {
      for (let s = 0; s < 3; s++) {
        const r = renderClip(spec(scene), clipRng(s, i));
        expect(r.caption).toMatch(head);
        expect(r.caption).toMatch(tail);
        for (const o of r.truth.objects) expect(r.caption).toContain(o.color);
      }
    }
  });

  it('name the colours, shapes, direction and events from the ground truth', () => {
    for (let s = 0; s < 6; s++) {
      const r = renderClip(spec('roll'), new Rng(700 + s));
      const o = r.truth.objects[0];
      const dir = o.frames[15].x > o.frames[0].x ? 'from left to right' : 'from right to left';
      expect(r.caption).toContain(`${o.color} ball rolls ${dir}`);
      expect(r.caption).toMatch(/^A (small|large) /);
      expect(r.caption).toMatch(/against a (plain )?[a-z ]+ (gradient |textured )?background\.$/);
    }
    for (let s = 0; s < 4; s++) {
      const r = renderClip(spec('bounce', { frames: 24 }), new Rng(800 + s));
      const n = r.truth.events.filter((e) => e.type === 'bounce' && e.object === 0).length;
      const word = ['', 'once', 'twice', 'three times'][n] ?? `${n} times`;
      expect(r.caption).toContain(`${r.truth.objects[0].color} ball falls from the top`);
      if (n > 0) expect(r.caption).toContain(`bounces ${word}`);
      if (n > 1) expect(r.caption).toContain('each bounce lower than the last');
    }
  });
});
