// The onnx captioner: a local image-to-text model (e.g. a VisionEncoderDecoder / BLIP / Florence
// export in the transformers.js layout: config.json, preprocessor_config.json, tokenizer.json and
// onnx/*.onnx) run through @huggingface/transformers' image-to-text pipeline with local files
// only (env.allowRemoteModels = false; transformers.js docs, "Use custom models"). A few frames are
// captioned and the distinct captions are joined in time order.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError, oneLine } from '../../util/errors.js';
import type { Frame } from '../video.js';
import type { CaptionInput, CaptionResult, Captioner, CaptionerOptions } from './captioner.js';
import { sampleFrames } from './captioner.js';

type ImageToText = (images: unknown, opts?: Record<string, unknown>) => Promise<Array<{ generated_text: string }>>;
type RawImageCtor = new (data: Uint8Array, width: number, height: number, channels: 3) => unknown;

const REQUIRED = ['config.json', 'preprocessor_config.json', 'tokenizer.json'] as const;

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FileError(file, `missing (${what})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new FileError(file, 'not valid JSON');
  }
}

/**
 * Check that `dir` looks like a transformers.js image-to-text model directory, with one clear
 * FileError for the first thing missing.
 */
export async function checkModelDir(dir: string): Promise<void> {
  let st;
  try {
    st = await fs.stat(dir);
  } catch {
    throw new FileError(dir, 'no such directory (onnx:DIR needs a local image-to-text model exported for transformers.js)');
  }
  if (!st.isDirectory()) throw new FileError(dir, 'not a directory (onnx:DIR needs a model directory)');
  for (const f of REQUIRED) await readJson(path.join(dir, f), 'a transformers.js model directory has config.json, preprocessor_config.json, tokenizer.json and onnx/*.onnx');
  const cfg = (await readJson(path.join(dir, 'config.json'), 'model config')) as { model_type?: unknown };
  if (typeof cfg !== 'object' || cfg === null || typeof cfg.model_type !== 'string') throw new FileError(path.join(dir, 'config.json'), 'has no "model_type"');
  let onnx: string[] = [];
  try {
    onnx = (await fs.readdir(path.join(dir, 'onnx'))).filter((f) => f.endsWith('.onnx'));
  } catch {
    /* reported below */
  }
  if (onnx.length === 0) throw new FileError(path.join(dir, 'onnx'), 'no .onnx files (export the model to ONNX, e.g. with optimum, into DIR/onnx/)');
}

export class OnnxCaptioner implements Captioner {
  readonly name: string;

  private constructor(
    private readonly pipe: ImageToText & { dispose?: () => Promise<void> },
    private readonly RawImage: RawImageCtor,
    private readonly model: string,
    private readonly frames: number,
    private readonly maxNewTokens: number,
  ) {
    this.name = `onnx:${model}`;
  }

  /** Load the model in `dir` (local files only; never contacts the hub). */
  static async load(dir: string, opts: CaptionerOptions & { maxNewTokens?: number } = {}): Promise<OnnxCaptioner> {
    const abs = path.resolve(dir);
    await checkModelDir(abs);
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    tf.env.localModelPath = `${path.dirname(abs)}${path.sep}`;
    let pipe: unknown;
    try {
      pipe = await tf.pipeline('image-to-text', path.basename(abs), { local_files_only: true });
    } catch (e) {
      throw new FileError(dir, `cannot load the image-to-text model: ${oneLine(e)}`);
    }
    return new OnnxCaptioner(pipe as ImageToText, tf.RawImage as unknown as RawImageCtor, path.basename(abs), Math.max(1, opts.frames ?? 3), opts.maxNewTokens ?? 40);
  }

  private async one(f: Frame): Promise<string> {
    const img = new this.RawImage(f.data, f.width, f.height, 3);
    const out = await this.pipe(img, { max_new_tokens: this.maxNewTokens });
    return (out[0]?.generated_text ?? '').replace(/\s+/g, ' ').trim();
  }

  async caption(clip: CaptionInput): Promise<CaptionResult> {
    const old = clip.existingCaption ?? '';
    try {
      const frames = await sampleFrames(clip, this.frames);
      if (frames.length === 0) return { caption: old, source: 'failed', error: 'no frames decoded' };
      const texts: string[] = [];
      for (const f of frames) texts.push(await this.one(f));
      const distinct = texts.filter((t, i) => t && texts.indexOf(t) === i);
      if (distinct.length === 0) return { caption: old, source: 'failed', error: 'the model produced empty captions' };
      const cap = (t: string) => t.replace(/[.\s]+$/, '');
      const caption =
        distinct.length === 1
          ? `${cap(distinct[0])}.`
          : distinct.map((t, i) => `${i === 0 ? 'At first' : i === distinct.length - 1 ? 'At the end' : 'Then'}, ${cap(t)}.`).join(' ');
      return { caption, source: this.name };
    } catch (e) {
      return { caption: old, source: 'failed', error: oneLine(e) };
    }
  }

  async close(): Promise<void> {
    await this.pipe.dispose?.();
  }
}
