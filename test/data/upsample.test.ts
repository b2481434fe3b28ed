// The builtin prompt upsampler: stated attributes kept, unstated ones from the vocabulary,
// determinism, unrecognised words kept, dataset vocabularies, and the empty-prompt error.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuiltinUpsampler, parsePrompt } from '../../src/data/upsample/builtin.js';
import { createUpsampler } from '../../src/data/upsample/upsampler.js';
import { loadVocabulary, vocabularyFromCaptions } from '../../src/data/upsample/vocabulary.js';
import { writeClips } from '../../src/data/clips.js';
import { FlagError } from '../../src/util/errors.js';
import { tmpDir } from '../helpers.js';

const up = new BuiltinUpsampler();

describe('builtin upsampler', () => {
  it('expands "red ball bounce" into the caption style', async () => {
    expect(await up.upsample('red ball bounce')).toBe(
      'A small red ball falls from the top left and bounces on the grey floor three times, each bounce lower than the last, against a plain dark grey background. The camera is static.',
    );
  });

  it('keeps every stated attribute', async () => {
    const out = await up.upsample('A LARGE blue cube sliding left on a dark green background');
    expect(out).toMatch(/^A large blue box slides steadily from right to left along the grey floor/);
    expect(out).toMatch(/against a plain dark green background/);
    const two = await up.upsample('two cubes collide');
    expect(two).toMatch(/box .* collides with a small \w+ box/);
    const three = await up.upsample('three yellow pink and cyan balls fall');
    expect(three).toMatch(/^A small yellow ball falls/);
    expect(three).toMatch(/A small pink ball and a small cyan ball move the same way nearby\./);
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
    expect(out).toMatch(/^A large purple box slides steadily from left to right .* against a plain black background\./);
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
