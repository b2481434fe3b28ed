// The builtin captioner on frames synthesised here (measurements) and on ground truth.
import { describe, expect, it } from 'vitest';
import { BuiltinCaptioner } from '../../src/data/caption/builtin.js';
import { measureFrames } from '../../src/data/caption/measure.js';
import { colorName } from '../../src/data/caption/style.js';
import type { PhysicsTruth } from '../../src/data/clips.js';
import type { Frame } from '../../src/data/video.js';
import { movingSquare } from '../helpers.js';

const cap = new BuiltinCaptioner();
const clip = (frames: Frame[], extra: object = {}) => ({ id: 'c', frames, fps: 8, width: frames[0].width, height: frames[0].height, ...extra });

/** A smooth colour texture shifted by `shift` px per frame (a camera pan). */
function panning(n: number, w: number, h: number, shift: number): Frame[] {
  return Array.from({ length: n }, (_, t) => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const u = x - shift * t;
        const i = (y * w + x) * 3;
        data[i] = 128 + 100 * Math.sin(u / 5);
        data[i + 1] = 128 + 100 * Math.cos(y / 7 + u / 11);
        data[i + 2] = 128 + 60 * Math.sin((u + y) / 9);
      }
    return { width: w, height: h, data };
  });
}

describe('colour names', () => {
  it('names palette colours by CIELAB distance', () => {
    expect(colorName(220, 40, 40)).toBe('red');
    expect(colorName(50, 100, 240)).toBe('blue');
    expect(colorName(128, 128, 128)).toBe('grey');
    expect(colorName(40, 190, 60)).toBe('green');
    expect(colorName(250, 250, 250)).toBe('white');
  });
});

describe('builtin captioner, measured', () => {
  it('a red square moving right on grey: red, square, left to right, grey background, static camera', async () => {
    const r = await cap.caption(clip(movingSquare(16, 64, 48, { size: 8, dx: 3, x0: 2, y0: 20 })));
    expect(r.source).toBe('builtin:measured');
    expect(r.caption).toMatch(/red square moves \w+ from left to right/);
    expect(r.caption).not.toMatch(/starting at/); // "from left to right" already says where it starts
    expect(r.caption).toMatch(/mostly grey background/);
    expect(r.caption).toMatch(/The camera is static\./);
    expect(r.caption).toMatch(/2\.0 seconds/);
  });

  it('a blue square moving up-left is described as such, not as moving right', async () => {
    const r = await cap.caption(clip(movingSquare(12, 64, 64, { size: 10, dx: 0, dy: -4, x0: 30, y0: 50, color: [50, 100, 240] })));
    expect(r.caption).toMatch(/blue square moves \w+ upward/);
    expect(r.caption).not.toMatch(/left to right/);
  });

  it('two objects give two tracks with their own colours and directions', async () => {
    const a = movingSquare(12, 96, 64, { size: 8, dx: 4, x0: 2, y0: 8 });
    const b = movingSquare(12, 96, 64, { size: 8, dx: -4, x0: 86, y0: 44, color: [40, 190, 60] });
    const frames = a.map((f, t) => {
      const data = new Uint8Array(f.data);
      for (let i = 0; i < data.length; i += 3) if (b[t].data[i] !== 128 || b[t].data[i + 1] !== 128) data.set(b[t].data.subarray(i, i + 3), i);
      return { ...f, data };
    });
    const r = await cap.caption(clip(frames));
    expect(r.caption).toMatch(/red square moves \w+ from left to right/);
    expect(r.caption).toMatch(/green square moves \w+ from right to left/);
  });

  it('an object that stops and rests gives no ghost track where it rests', async () => {
    const moving = movingSquare(16, 64, 48, { size: 10, dx: 4, x0: 2, y0: 20 });
    const frames = moving.map((f, t) => moving[Math.min(t, 5)]); // moves for 5 frames, then rests
    const r = await cap.caption(clip(frames));
    expect(r.caption).toMatch(/^A small red square moves \w+ from left to right/);
    expect(r.caption).not.toMatch(/Meanwhile/);
  });

  it('a still scene says nothing moves', async () => {
    const r = await cap.caption(clip(movingSquare(8, 32, 32, { dx: 0 })));
    expect(r.caption).toMatch(/nothing moves noticeably/);
  });

  it('a panning camera is detected from the global shift', async () => {
    const m = measureFrames(panning(8, 64, 48, 2), 8);
    expect(m.cameraMoving).toBe(true);
    expect(m.cameraShift.dx).toBeGreaterThan(0);
    const r = await cap.caption(clip(panning(8, 64, 48, 2)));
    expect(r.caption).toMatch(/camera pans left/);
  });

  it('is deterministic and accepts lazily decoded frames', async () => {
    const frames = movingSquare(10, 48, 48, { dx: 3 });
    const a = await cap.caption(clip(frames));
    const b = await cap.caption({ ...clip(frames), frames: async function* () { yield* frames; }, frameCount: 10 });
    expect(b).toEqual(a);
  });
});

describe('builtin captioner, ground truth', () => {
  const ys = [8, 20, 40, 56, 44, 38, 44, 56, 50, 48, 50, 56];
  const truth: PhysicsTruth = {
    scene: 'bounce',
    background: 'dark grey',
    gravity: 9.8,
    objects: [{ id: 0, shape: 'ball', color: 'red', rgb: [220, 40, 40], frames: ys.map((y, i) => ({ x: 10 + 0.5 * i, y, w: 6, h: 6, visible: true })) }],
    occluders: [],
    events: [
      { type: 'bounce', frame: 3, object: 0 },
      { type: 'bounce', frame: 7, object: 0 },
    ],
    violations: [{ type: 'teleport', frame: 9, object: 0 }],
  };

  it('describes objects, motion, bounces and background from the truth', async () => {
    const r = await cap.caption({ id: 'g', frames: [], fps: 12, width: 64, height: 64, frameCount: 12, truth });
    expect(r.source).toBe('builtin:truth');
    expect(r.caption).toBe(
      'A small red ball falls from the top left and bounces twice on the grey floor, each bounce lower than the last, against a plain dark grey background. The camera is static. The clip lasts 1.0 second.',
    );
  });

  it('names a second object, collisions and occluders', async () => {
    const t2: PhysicsTruth = {
      ...truth,
      scene: 'collide',
      gravity: 0,
      background: 'black',
      objects: [
        { id: 0, shape: 'box', color: 'blue', rgb: [50, 100, 240], frames: Array.from({ length: 10 }, (_, i) => ({ x: 5 + 5 * i, y: 32, w: 14, h: 14, visible: i < 4 || i > 6 })) },
        { id: 1, shape: 'ball', color: 'yellow', rgb: [235, 215, 40], frames: Array.from({ length: 10 }, (_, i) => ({ x: 60 - 2 * i, y: 32, w: 6, h: 6, visible: true })) },
      ],
      occluders: [{ x: 32, y: 32, w: 12, h: 64, color: 'grey' }],
      events: [
        { type: 'collision', frame: 8, object: 0 },
        { type: 'collision', frame: 8, object: 1 },
      ],
    };
    const r = await cap.caption({ id: 'g2', frames: [], fps: 10, width: 64, height: 64, frameCount: 10, truth: t2 });
    expect(r.caption).toMatch(/^A large blue box moves quickly from left to right, collides with the yellow ball, disappears behind the grey wall then reappears on the right, against a plain black background\./);
    expect(r.caption).toMatch(/Meanwhile, a small yellow ball moves \w+ from right to left/);
    expect(r.caption).toMatch(/A grey wall stands in the centre of the frame\./);
  });
});
