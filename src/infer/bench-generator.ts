// `spacetime bench --model DIR`: render each benchmark case with the exported model through the
// same generator as `spacetime generate` (one set of ONNX sessions for the whole suite).
import path from 'node:path';
import type { BenchCase, Generate } from '../eval/bench.js';
import { openGenerator, type Generator } from './generate-run.js';

export interface ModelGenerate extends Generate {
  close(): Promise<void>;
}

/**
 * A bench `Generate` that writes `<out>/videos/<case id>.mp4` (watermarked, signed, with sidecar);
 * `cfg` / `steps` override the model's defaults for every case; `upsample` expands each case's
 * prompt first (as `generate --upsample-prompt`; the case is still judged against its own prompt).
 */
export async function modelBenchGenerator(model: string, out: string, opts: { threads?: number; cfg?: number; steps?: number; upsample?: string; vocabulary?: string } = {}): Promise<ModelGenerate> {
  const gen: Generator = await openGenerator({ model, threads: opts.threads, upsample: opts.upsample, vocabulary: opts.vocabulary });
  const fn = (async (c: BenchCase) => {
    const file = path.join(out, 'videos', `${c.id}.mp4`);
    await gen.run({ prompt: c.prompt, out: file, size: c.size, frames: c.frames, seed: c.seed ?? 0, cfg: opts.cfg, steps: opts.steps });
    return file;
  }) as ModelGenerate;
  fn.close = () => gen.close();
  return fn;
}
