// `spacetime upsample --prompt TEXT`: print the expanded prompt the generate pipeline would use
// (Sora-style prompt upsampling; builtin or openai:URL[#model]). Thin: parse, call, print.
import type { CommandModule } from 'yargs';
import { createUpsampler } from '../data/upsample/upsampler.js';
import { FlagError } from '../util/errors.js';
import { positiveInt } from './sampling-flags.js';

interface UpsampleArgs {
  prompt: string;
  frames?: number;
  fps?: number;
  upsampler: string;
  vocabulary?: string;
  timeout: number;
}

export const upsampleCommand: CommandModule<object, UpsampleArgs> = {
  command: 'upsample',
  describe: 'Expand a short prompt into the detailed caption style the model was trained on',
  builder: (y) =>
    y
      .option('prompt', { type: 'string', demandOption: true, describe: 'the short prompt' })
      .option('upsampler', { type: 'string', default: 'builtin', describe: 'builtin | openai:URL[#model]' })
      .option('vocabulary', { type: 'string', describe: 'caption vocabulary: clip dataset, shard directory, or a text/jsonl file of captions' })
      .option('frames', { type: 'number', describe: "the clip's frame count (with --fps: the builtin upsampler states the duration, as generate does)" })
      .option('fps', { type: 'number', describe: "the clip's frame rate (with --frames)" })
      .option('timeout', { type: 'number', default: 60, describe: 'per-request timeout in seconds (openai)' })
      .example('$0 upsample --prompt "red ball bounce"', 'expand with the built-in synthetic-world vocabulary')
      .example('$0 upsample --prompt "two cubes collide" --vocabulary data/clips', "fill unstated details from a dataset's captions"),
  handler: async (argv) => {
    if (!(argv.timeout > 0)) throw new FlagError('timeout', `must be positive, got ${argv.timeout}`);
    for (const k of ['frames', 'fps'] as const) if (argv[k] !== undefined) positiveInt(argv[k], k);
    if ((argv.frames === undefined) !== (argv.fps === undefined)) throw new FlagError(argv.frames === undefined ? 'frames' : 'fps', 'give --frames and --fps together');
    const up = await createUpsampler(argv.upsampler, { vocabulary: argv.vocabulary, timeoutMs: argv.timeout * 1000 });
    process.stdout.write(`${await up.upsample(argv.prompt, { frames: argv.frames, fps: argv.fps })}\n`);
  },
};
