import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readClips } from '../../src/data/clips.js';
import { checkCase, loadSuite, runBench, videosGenerator, type BenchCase } from '../../src/eval/bench.js';
import type { PhysicsAnalysis } from '../../src/eval/physics.js';
import { runCli, tmpDir } from '../helpers.js';

describe('bench', () => {
  it('the default suite parses', async () => {
    const s = await loadSuite(path.resolve(import.meta.dirname, '../../configs/bench/default.json'));
    expect(s.cases.length).toBeGreaterThanOrEqual(10);
    expect(new Set(s.cases.map((c) => c.id)).size).toBe(s.cases.length);
  });

  it('colour checks: every named colour (colour) and the first-named one (main_colour)', () => {
    // a fake tracking result: objects of the given colours, each seen in all 8 frames, moving right
    const seen = (...colors: string[]) =>
      ({
        result: { frames: 8, objects: colors.map((color, id) => ({ id, color, first: 0, last: 7, track: Array.from({ length: 8 }, (_, t) => [t, 10 + 4 * t, 20 + 10 * id, 30]) })) },
        context: { width: 64, height: 64 },
      }) as unknown as PhysicsAnalysis;
    const two: BenchCase = { id: 'two', prompt: 'A small yellow ball rolls from left to right, while a small purple box stays still.', expect: { colours: ['yellow', 'purple'], direction: 'right' } };
    const one: BenchCase = { id: 'one', prompt: 'A small red ball rolls from left to right on a grey floor.', expect: {} };
    const pick = (c: BenchCase, a: PhysicsAnalysis) => {
      const k = checkCase(c, a, []);
      return [k.colour, k.main_colour, k.direction];
    };
    expect(pick(two, seen('yellow', 'purple'))).toEqual([true, true, true]);
    expect(pick(two, seen('yellow'))).toEqual([false, true, true]); // second object missing
    expect(pick(two, seen('yellow', 'yellow'))).toEqual([false, true, true]); // drawn in the first one's colour
    expect(pick(two, seen('purple'))).toEqual([false, false, true]); // main object missing (direction judged on the mover)
    expect(pick(one, seen('red'))).toEqual([true, true, true]); // colours from the prompt when expect has none
    expect(pick(one, seen('green'))).toEqual([false, false, true]);
    expect(pick(one, seen())).toEqual([false, false, false]);
  });

  it('rejects a bad suite with the file and field named', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ cases: [{ id: 'a', prompt: '' }] }));
    await expect(loadSuite(f)).rejects.toThrow(/bad\.json: cases\.0\.prompt/);
  });

  it('scores synth videos from a prompts file: results.json + self-contained report.html, baseline deltas', async () => {
    const dir = tmpDir();
    const data = path.join(dir, 'synth');
    const r = runCli(['synth', '--out', data, '--clips', '3', '--scenes', 'roll,bounce,slide', '--seed', '5']);
    expect(r.code, r.stderr).toBe(0);
    const clips = await readClips(data);
    const suite = { name: 'mini', cases: clips.map((c) => ({ id: c.id, prompt: c.caption ?? '', expect: {} })) };
    const suiteFile = path.join(dir, 'suite.json');
    writeFileSync(suiteFile, JSON.stringify(suite));
    const prompts = path.join(dir, 'prompts.json');
    writeFileSync(prompts, JSON.stringify(Object.fromEntries(clips.map((c) => [c.id, c.path]))));
    const out = path.join(dir, 'bench');
    const res = await runBench({ suite: await loadSuite(suiteFile), out, generate: await videosGenerator(data, prompts), temporal: true });
    expect(res.cases).toHaveLength(3);
    for (const c of res.cases) {
      expect(c.checks.colour).toBe(true); // the caption's colour is the tracked object's
      expect(c.physics.events.filter((e) => e.type !== 'direction_mismatch')).toEqual([]);
      expect(typeof c.temporal?.flicker).toBe('number');
    }
    expect(res.summary.colour_match).toBe(1);
    expect(res.summary.main_colour_match).toBe(1);
    const saved = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(saved.cases).toHaveLength(3);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    for (const s of ['id="summary"', 'id="charts"', 'id="cases"', 'id="clips"', '<svg', 'data:image/png;base64,', clips[0].id]) expect(html).toContain(s);
    expect(html).not.toMatch(/(src|href)="https?:/); // self-contained
    // a second run against the first shows deltas
    const out2 = path.join(dir, 'bench2');
    const res2 = await runBench({ suite: await loadSuite(suiteFile), out: out2, generate: await videosGenerator(data, prompts), baseline: path.join(out, 'results.json'), temporal: false });
    expect(res2.baseline?.delta.colour_match).toBe(0);
    expect(readFileSync(path.join(out2, 'report.html'), 'utf8')).toContain('baseline');
  });

  it('CLI: needs --model or --videos with --prompts', () => {
    const dir = tmpDir();
    const r = runCli(['bench', '--suite', 'configs/bench/default.json', '--out', path.join(dir, 'o')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error: --videos: give --model DIR, or --videos DIR together with --prompts FILE/);
    expect(existsSync(path.join(dir, 'o'))).toBe(false);
  });
});
