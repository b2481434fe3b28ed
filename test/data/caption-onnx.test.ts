// The onnx captioner: model-directory checks (each missing piece gives one clear FileError; a
// directory that passes the checks but holds no loadable model fails to load with the dir named),
// and real captioning through transformers.js' image-to-text pipeline with a tiny model written
// by test/data/fixtures/tiny-captioner.ts (its words depend on the image's dominant colour).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCaptioner, parseModelSpec } from '../../src/data/caption/captioner.js';
import { checkModelDir, OnnxCaptioner } from '../../src/data/caption/onnx.js';
import { FileError } from '../../src/util/errors.js';
import { movingSquare, tmpDir } from '../helpers.js';
import { writeTinyCaptioner } from './fixtures/tiny-captioner.js';

describe('onnx captioner loading', () => {
  const root = tmpDir();

  it('parses captioner specs', () => {
    expect(parseModelSpec('onnx:/m/blip', 'captioner')).toEqual({ kind: 'onnx', dir: '/m/blip' });
    expect(parseModelSpec('openai:http://h:8000/v1#qwen', 'captioner')).toEqual({ kind: 'openai', url: 'http://h:8000/v1', model: 'qwen' });
    expect(() => parseModelSpec('onnx:', 'captioner')).toThrow("--captioner: 'onnx:' needs a model directory");
    expect(() => parseModelSpec('openai:not a url', 'captioner')).toThrow(/--captioner: 'not a url' is not a URL/);
    expect(() => parseModelSpec('openai:ftp://h', 'captioner')).toThrow(/only http and https/);
    expect(() => parseModelSpec('blip', 'captioner')).toThrow(/unknown captioner 'blip'/);
  });

  it('names the first missing piece', async () => {
    const dir = path.join(root, 'model');
    const err = async () => (await checkModelDir(dir).catch((e: unknown) => e)) as FileError;
    expect((await err()).message).toMatch(/model: no such directory/);
    writeFileSync(path.join(root, 'file'), 'x');
    await expect(checkModelDir(path.join(root, 'file'))).rejects.toThrow(/file: not a directory/);
    mkdirSync(dir);
    expect(await err()).toBeInstanceOf(FileError);
    expect((await err()).message).toBe(`${path.join(dir, 'config.json')}: missing (a transformers.js model directory has config.json, preprocessor_config.json, tokenizer.json and onnx/*.onnx)`);
    writeFileSync(path.join(dir, 'config.json'), '{oops');
    expect((await err()).message).toBe(`${path.join(dir, 'config.json')}: not valid JSON`);
    writeFileSync(path.join(dir, 'config.json'), '{}');
    writeFileSync(path.join(dir, 'preprocessor_config.json'), '{}');
    writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
    expect((await err()).message).toBe(`${path.join(dir, 'config.json')}: has no "model_type"`);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'vision-encoder-decoder' }));
    expect((await err()).message).toMatch(/onnx: no \.onnx files/);
  });

  it('reports a model the pipeline cannot load as one line naming the directory, without network', async () => {
    const dir = path.join(root, 'model');
    mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    writeFileSync(path.join(dir, 'onnx', 'encoder_model.onnx'), 'not a protobuf');
    const e = (await OnnxCaptioner.load(dir).catch((x: unknown) => x)) as FileError;
    expect(e).toBeInstanceOf(FileError);
    expect(e.message.startsWith(`${dir}: cannot load the image-to-text model: `)).toBe(true);
    expect(e.message).not.toMatch(/\n/);
    await expect(createCaptioner(`onnx:${path.join(root, 'missing')}`)).rejects.toThrow(/missing: no such directory/);
  });

  it('captions frames with a tiny local VisionEncoderDecoder model through the pipeline', async () => {
    const dir = path.join(root, 'tiny');
    await writeTinyCaptioner(dir);
    const cap = await createCaptioner(`onnx:${dir}`, { frames: 3 });
    expect(cap.name).toBe('onnx:tiny');
    const red = movingSquare(6, 16, 16, { size: 12, x0: 2, y0: 2 });
    const blue = movingSquare(6, 16, 16, { size: 12, x0: 2, y0: 2, color: [20, 40, 230] });
    expect(await cap.caption({ id: 'r', frames: red, fps: 6, width: 16, height: 16 })).toEqual({ caption: 'red square.', source: 'onnx:tiny' });
    expect((await cap.caption({ id: 'b', frames: blue, fps: 6, width: 16, height: 16 })).caption).toBe('blue square.');
    // A clip that changes: the distinct frame captions are joined in time order.
    const mixed = [...red.slice(0, 3), ...blue.slice(0, 3)];
    expect((await cap.caption({ id: 'm', frames: mixed, fps: 6, width: 16, height: 16 })).caption).toBe('At first, red square. At the end, blue square.');
    await cap.close?.();
  });
});
