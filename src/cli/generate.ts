// `spacetime generate`: run an exported ONNX model (no TensorFlow.js): text-to-video and every
// conditioning mode, watermark + signed provenance, JSON sidecar. Thin: parse, validate, call.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { FlagError } from '../util/errors.js';
import { readBatch, runGenerate, type GenerateJob } from '../infer/generate-run.js';
import { SAMPLERS, type SamplerName } from '../infer/sampler.js';

/** The shipped demo model, when present: <package>/models/demo. */
export function defaultModelDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/demo');
}

interface Args {
  model?: string;
  prompt?: string;
  'negative-prompt'?: string;
  out?: string;
  frames?: number;
  size?: string;
  steps?: number;
  cfg?: number;
  seed: number;
  sampler?: string;
  'upsample-prompt'?: string;
  vocabulary?: string;
  image?: string;
  extend?: string;
  direction: string;
  connect?: string[];
  loop: boolean;
  edit?: string;
  strength?: number;
  window?: number;
  overlap?: number;
  batch?: string;
  policy?: string;
  fps?: number;
  watermark: boolean;
  threads?: number;
  provider: string[];
}

export const generateCommand: CommandModule<object, Args> = {
  command: 'generate',
  describe: 'Generate clips with an exported ONNX model (text, image, extend, connect, loop, edit)',
  builder: (y) =>
    y
      .option('model', { type: 'string', describe: 'exported model directory (default: the shipped demo model, models/demo)' })
      .option('prompt', { type: 'string', describe: 'text prompt' })
      .option('negative-prompt', { type: 'string', describe: 'prompt for the unconditional CFG branch (default: empty)' })
      .option('out', { type: 'string', describe: 'output .mp4/.webm/.gif, or a folder of PNG frames; with --batch, a folder' })
      .option('frames', { type: 'number', describe: 'frames (1 + k·s_t; 1 = an image); with --extend: frames to add' })
      .option('size', { type: 'string', describe: 'WxH, multiples of the VAE compression' })
      .option('steps', { type: 'number', describe: 'sampling steps' })
      .option('cfg', { type: 'number', describe: 'classifier-free guidance scale' })
      .option('seed', { type: 'number', default: 0 })
      .option('sampler', { type: 'string', choices: SAMPLERS as unknown as string[] })
      .option('upsample-prompt', { type: 'string', describe: 'expand the prompt: builtin | openai:URL[#model]' })
      .option('vocabulary', { type: 'string', describe: 'caption vocabulary for the builtin upsampler (clip dataset or shard dir)' })
      .option('image', { type: 'string', describe: 'image-to-video: PNG/JPEG as the clean first frame' })
      .option('extend', { type: 'string', describe: 'continue this video in time (chained windows)' })
      .option('direction', { type: 'string', choices: ['forward', 'backward'], default: 'forward' })
      .option('connect', { type: 'string', array: true, describe: 'generate the transition between two videos: --connect A B' })
      .option('loop', { type: 'boolean', default: false, describe: 'seamless loop' })
      .option('edit', { type: 'string', describe: 'video-to-video edit (SDEdit) of this video' })
      .option('strength', { type: 'number', describe: 'edit noise level in (0, 1]' })
      .option('window', { type: 'number', describe: 'window length in frames for extend/connect/loop (default: model default)' })
      .option('overlap', { type: 'number', describe: 'clean latent frames shared between chained windows' })
      .option('batch', { type: 'string', describe: 'file of prompts (.txt lines, .json array, .jsonl objects); --out is a folder' })
      .option('policy', { type: 'string', describe: 'prompt policy file (see configs/policy.example.json)' })
      .option('fps', { type: 'number' })
      .option('watermark', { type: 'boolean', default: true, describe: 'add the invisible watermark (--no-watermark to skip)' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores)' })
      .option('provider', { type: 'string', array: true, default: ['cpu'], describe: 'onnxruntime execution providers in order, e.g. --provider cuda cpu (CUDA needs a CUDA build of onnxruntime-node; untested here)' })
      .example('$0 generate --prompt "a red ball bounces from left to right on a grey floor" --out ball.mp4', 'text-to-video with the shipped model')
      .example('$0 generate --model m --prompt "..." --image first.png --out i2v.mp4', 'image-to-video')
      .example('$0 generate --model m --prompt "..." --extend clip.mp4 --frames 32 --out longer.mp4', 'extend forward by 32 frames')
      .example('$0 generate --model m --prompt "..." --connect a.mp4 b.mp4 --out ab.mp4', 'transition between two clips')
      .example('$0 generate --model m --prompt "..." --edit clip.mp4 --strength 0.6 --out edited.mp4', 'SDEdit video editing')
      .example('$0 generate --model m --batch prompts.txt --out clips/', 'many clips, one set of sessions'),
  handler: async (argv) => {
    for (const k of ['frames', 'steps', 'cfg', 'seed', 'strength', 'window', 'overlap', 'fps', 'threads'] as const) {
      const v = argv[k];
      if (v !== undefined && !Number.isFinite(v)) throw new FlagError(k, 'must be a number');
    }
    const model = argv.model ?? defaultModelDir();
    if (!argv.model && !existsSync(model)) throw new FlagError('model', `no model given and no shipped model at ${model} (run \`spacetime demo\` or \`spacetime export\`)`);
    if (argv.connect && argv.connect.length !== 2) throw new FlagError('connect', 'takes exactly two videos: --connect A B');
    if (argv.sampler && !(SAMPLERS as readonly string[]).includes(argv.sampler)) throw new FlagError('sampler', `unknown sampler '${argv.sampler}'`);
    const base: Omit<GenerateJob, 'prompt' | 'out'> = {
      negativePrompt: argv['negative-prompt'],
      frames: argv.frames,
      size: argv.size,
      steps: argv.steps,
      cfg: argv.cfg,
      seed: argv.seed,
      sampler: argv.sampler as SamplerName | undefined,
      image: argv.image,
      extend: argv.extend,
      direction: argv.direction as 'forward' | 'backward',
      connect: argv.connect as [string, string] | undefined,
      loop: argv.loop || undefined,
      edit: argv.edit,
      strength: argv.strength,
      window: argv.window,
      overlap: argv.overlap,
      fps: argv.fps,
    };
    let jobs: GenerateJob[];
    if (argv.batch) {
      if (!argv.out) throw new FlagError('out', '--batch needs --out FOLDER');
      jobs = (await readBatch(argv.batch, argv.out)).map((j) => ({ ...base, ...j }));
    } else {
      if (argv.prompt === undefined || !argv.prompt.trim()) throw new FlagError('prompt', 'empty prompt');
      if (!argv.out) throw new FlagError('out', 'missing: where to write the clip (.mp4/.webm/.gif or a folder)');
      jobs = [{ ...base, prompt: argv.prompt, out: argv.out }];
    }
    const res = await runGenerate({ model, jobs, upsample: argv['upsample-prompt'], vocabulary: argv.vocabulary, policy: argv.policy, watermark: argv.watermark, threads: argv.threads, providers: argv.provider });
    for (const r of res) process.stdout.write(`${r.out}  ${r.frames} frames  ${r.seconds.toFixed(1)} s\n`);
  },
};
