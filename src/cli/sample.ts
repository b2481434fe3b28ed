// `spacetime sample`: generate a clip from a training checkpoint with tfjs (no ONNX export):
// shared samplers, classifier-free guidance, VAE decode, atomic video write (thin CLI).
import type { CommandModule } from 'yargs';
import { SAMPLERS, type SamplerName } from '../infer/sampler.js';
import { BACKENDS, selectBackend } from '../model/backend.js';
import { runSample } from '../train/sample-run.js';
import { FlagError } from '../util/errors.js';
import { info } from '../util/log.js';
import { checkSamplingFlags } from './sampling-flags.js';

interface Args {
  ckpt: string;
  prompt: string;
  out: string;
  vae?: string;
  steps?: number;
  cfg?: number;
  seed: number;
  sampler?: string;
  frames?: number;
  size?: string;
  ema: boolean;
  backend: string;
}

export const sampleCommand: CommandModule<object, Args> = {
  command: 'sample',
  describe: 'Sample a video from a training checkpoint with tfjs (EMA weights, CFG, VAE decode)',
  builder: (y) =>
    y
      .option('ckpt', { type: 'string', demandOption: true, describe: 'checkpoint directory or run directory (→ latest)' })
      .option('prompt', { type: 'string', demandOption: true, describe: 'caption to generate' })
      .option('out', { type: 'string', demandOption: true, describe: 'output video (.mp4, .webm or .gif)' })
      .option('vae', { type: 'string', describe: "VAE checkpoint for decoding (default: the training config's log.previewVae)" })
      .option('steps', { type: 'number', describe: 'sampling steps (default: config sample.steps)' })
      .option('cfg', { type: 'number', describe: 'classifier-free guidance scale (1 = off)' })
      .option('seed', { type: 'number', default: 0, describe: 'noise seed' })
      .option('sampler', { type: 'string', choices: SAMPLERS as unknown as string[], describe: 'euler|heun (rectified flow) or ddim (DDPM)' })
      .option('frames', { type: 'number', describe: 'pixel frames (default: the most common training shape)' })
      .option('size', { type: 'string', describe: 'WxH in pixels, multiples of the VAE compression' })
      .option('ema', { type: 'boolean', default: true, describe: 'use the EMA weights (--no-ema for the raw ones)' })
      .option('backend', { type: 'string', default: 'auto', choices: BACKENDS as unknown as string[], describe: 'tensor backend' })
      .example('$0 sample --ckpt runs/dit --vae runs/vae --prompt "a red ball bounces" --out ball.mp4', 'sample from the latest checkpoint'),
  handler: async (argv) => {
    let size: [number, number] | undefined;
    if (argv.size !== undefined) {
      const m = /^(\d+)x(\d+)$/.exec(argv.size);
      if (!m) throw new FlagError('size', `expected WxH (e.g. 64x64), got '${argv.size}'`);
      size = [Number(m[1]), Number(m[2])];
    }
    checkSamplingFlags(argv);
    if (!argv.prompt.trim()) throw new FlagError('prompt', 'empty prompt');
    await selectBackend(argv.backend);
    const r = await runSample({ ckpt: argv.ckpt, prompt: argv.prompt, out: argv.out, vae: argv.vae, steps: argv.steps, cfg: argv.cfg, seed: argv.seed, sampler: argv.sampler as SamplerName | undefined, frames: argv.frames, size, ema: argv.ema });
    info(`sample: ${r.frames} frames ${r.width}x${r.height} (latent ${r.latent.join('x')})`);
    process.stdout.write(`${r.file}\n`);
  },
};
