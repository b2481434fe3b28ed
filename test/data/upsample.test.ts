// The builtin prompt upsampler: stated attributes kept (direction read from phrases, per object),
// unstated ones from the vocabulary, the ground-truth captioner's phrasing (a truth caption comes
// back unchanged), determinism, unrecognised words kept, dataset vocabularies, and the
// empty-prompt error.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuiltinUpsampler, parsePrompt, statedDirection } from '../../src/data/upsample/builtin.js';
import { captionFromTruth } from '../../src/data/caption/truth.js';
import { clipRng, renderClip } from '../../src/data/synth/index.js';
import { createUpsampler } from '../../src/data/upsample/upsampler.js';
import { loadVocabulary, vocabularyFromCaptions } from '../../src/data/upsample/vocabulary.js';
import { writeClips } from '../../src/data/clips.js';
import { FlagError } from '../../src/util/errors.js';
import { tmpDir } from '../helpers.js';

const up = new BuiltinUpsampler();

describe('builtin upsampler', () => {
  it('expands "red ball bounce" into the caption style', async () => {
    expect(await up.upsample('red ball bounce')).toBe(
      'A small red ball falls from the top and bounces twice on the grey floor, each bounce lower than the last, against a plain dark grey background. The camera is static.',
    );
    // with the clip's length, the duration sentence every training caption ends with
    expect(await up.upsample('red ball bounce', { frames: 17, fps: 8 })).toMatch(/The camera is static\. The clip lasts 2\.1 seconds\.$/);
  });

  it('reads the direction of motion from phrases, not from the first direction word', () => {
    const cases: [string, string | undefined][] = [
      ['a red ball rolls from left to right', 'right'],
      ['a box slides from right to left', 'left'],
      ['falls from the top left and bounces, moving from left to right', 'right'],
      ['falls from the top right and bounces, drifting from right to left', 'left'],
      ['a ball rolls to the left', 'left'],
      ['a box heading towards the right', 'right'],
      ['a cube moving rightward', 'right'],
      ['a ball rolls in from the left', 'right'],
      ['a blue cube sliding left', 'left'],
      ['drops straight down from the top', 'down'],
      ['moves from top to bottom', 'down'],
      ['moves slowly diagonally toward the top left, starting at the right', 'top left'],
      ['starting at the bottom right', undefined],
      ['disappears behind the wall then reappears on the right', undefined],
      ['falls from the top left', undefined],
    ];
    for (const [text, dir] of cases) expect(statedDirection(text), text).toBe(dir);
  });

  it('keeps every stated attribute', async () => {
    const out = await up.upsample('A LARGE blue cube sliding left on a dark green background');
    expect(out).toBe('A large blue box slides from right to left across the grey floor, slowing down until it stops, against a plain dark green background. The camera is static.');
    const two = await up.upsample('two cubes collide');
    expect(two).toMatch(/^A small (\w+) box moves steadily from left to right, collides with the (\w+) box, .* Meanwhile, a small \2 box moves steadily from right to left, collides with the \1 box\./);
    const three = await up.upsample('three yellow pink and cyan balls fall');
    expect(three).toMatch(/^A small yellow ball falls/);
    expect(three).toMatch(/Meanwhile, a small pink ball falls .* A small cyan ball falls/);
    // the floor's colour names no object; "from left to right" goes right
    expect(await up.upsample('a red ball bounces from left to right on a grey floor')).toBe(
      'A small red ball falls from the top left and bounces twice on the grey floor, each bounce lower than the last, drifting from left to right, against a plain dark grey background. The camera is static.',
    );
  });

  it('keeps each object its own attributes and rewrites bench-style prompts in the training phrasing', async () => {
    expect(await up.upsample('A small yellow ball drops straight down from the top left and lands on a grey floor after bouncing once and stays still, while a small purple box drops straight down from the top right and lands on the floor and stays still, against a dark green textured background.')).toBe(
      'A small yellow ball falls from the top left and bounces once on the grey floor, then comes to rest, against a dark green textured background. Meanwhile, a small purple box falls from the top right and bounces once on the grey floor, then comes to rest. The camera is static.',
    );
    expect(await up.upsample('A small red ball rolling from left to right and a small blue ball rolling from right to left collide head-on on a grey floor in an elastic collision, against a plain dark grey background.')).toBe(
      'A small red ball moves steadily from left to right, collides with the blue ball, against a plain dark grey background. Meanwhile, a small blue ball moves steadily from right to left, collides with the red ball. The camera is static.',
    );
    expect(await up.upsample('A large green ball rolls from left to right along a grey floor and hits a small yellow ball standing still, against a dark purple gradient background.')).toBe(
      'A large green ball moves steadily from left to right, collides with the yellow ball, against a dark purple gradient background. Meanwhile, a small yellow ball rests in the bottom. The camera is static.',
    );
    expect(await up.upsample('A small orange ball rolls from left to right along a grey floor, disappears behind a grey wall then reappears on the right, against a plain black background.')).toBe(
      'A small orange ball rolls steadily from left to right, starting at the bottom left, disappears behind the grey wall then reappears on the right, against a plain black background. A grey wall stands in the centre of the frame. The camera is static.',
    );
  });

  it('returns a ground-truth caption unchanged (it writes the truth captioner\'s phrasing)', async () => {
    let n = 0;
    for (const scene of ['bounce', 'fall', 'slide', 'roll', 'pendulum', 'occlude', 'collide'] as const) {
      for (let i = 0; i < 8; i++) {
        const clip = renderClip({ scene, width: 64, height: 64, frames: 17, fps: 8 }, clipRng(7, i));
        const caption = captionFromTruth(clip.truth, { width: 64, height: 64, fps: 8, frames: 17 });
        expect(await up.upsample(caption, { frames: 17, fps: 8 }), caption).toBe(caption);
        n++;
      }
    }
    expect(n).toBe(56);
  });

  it('keeps words it does not understand verbatim', async () => {
    const out = await up.upsample('green ball in a forest at dusk');
    expect(out).toMatch(/green ball/);
    expect(out.endsWith('Green ball in a forest at dusk.')).toBe(true);
    expect(parsePrompt('green ball in a forest').leftover).toEqual(['forest']);
  });

  it('is deterministic and rejects an empty prompt with a FlagError', async () => {
    expect(await up.upsample('pendulum')).toBe(await up.upsample('pendulum'));
    const err = await up.upsample('   ').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlagError);
    expect((err as Error).message).toBe('--prompt: empty prompt');
  });

  it('fills unstated attributes from a dataset vocabulary', async () => {
    const v = vocabularyFromCaptions([
      'A large purple box slides steadily from left to right, against a plain black background.',
      'A large purple box slides slowly from right to left, against a plain black background.',
      'A small red ball bounces, against a plain dark blue background.',
    ]);
    expect(v.colors.get('purple')).toBe(2);
    expect(v.backgrounds.get('black')).toBe(2);
    const out = await new BuiltinUpsampler(v).upsample('a video');
    expect(out).toBe('A large purple box slides from left to right across the grey floor, slowing down until it stops, against a plain black background. The camera is static.');
    const red = await new BuiltinUpsampler(v).upsample('red');
    expect(red).toMatch(/^A large red box slides/);
  });

  it('loads a vocabulary from a clip dataset or a caption file, with clear errors', async () => {
    const dir = tmpDir();
    await writeClips(dir, [{ id: 'a', path: 'a.mp4', width: 8, height: 8, frames: 2, fps: 2, caption: 'A large white ball rolls, against a plain black background.' }]);
    const v = await loadVocabulary(dir);
    expect([...v.colors.keys()]).toEqual(['white']);
    expect(v.examples).toHaveLength(1);
    const txt = path.join(dir, 'caps.txt');
    writeFileSync(txt, 'A small cyan box slides.\n');
    expect((await loadVocabulary(txt)).colors.get('cyan')).toBe(1);
    const empty = path.join(dir, 'empty.txt');
    writeFileSync(empty, '\n');
    await expect(loadVocabulary(empty)).rejects.toThrow(`${empty}: has no captions`);
    await expect(loadVocabulary(path.join(dir, 'none'))).rejects.toThrow(/none: no such file or directory/);
    const u = await createUpsampler('builtin', { vocabulary: dir });
    expect(await u.upsample('ball')).toMatch(/^A large white ball rolls/);
    await expect(createUpsampler('onnx:x')).rejects.toThrow(/--upsampler: onnx: upsamplers are not supported/);
    await expect(createUpsampler('gpt')).rejects.toThrow(/--upsampler: unknown captioner 'gpt'/);
  });
});
