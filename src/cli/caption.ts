// `spacetime caption`: recaption a clip dataset or latent shard directory (DESIGN.md CLI) with the
// builtin, openai:URL[#model] or onnx:DIR captioner. Thin: parse, validate, call runCaption.
import type { CommandModule } from 'yargs';
import { parseModelSpec } from '../data/caption/captioner.js';
import { runCaption } from '../data/caption/run.js';
import { parseShardSpec } from '../data/shards.js';
import { FlagError } from '../util/errors.js';
import { positiveInt } from './sampling-flags.js';

interface CaptionArgs {
  data: string;
  captioner: string;
  shard?: string;
  frames: number;
  concurrency: number;
  instruction?: string;
  clips?: string;
  timeout: number;
  retries: number;
  json: boolean;
}

export const captionCommand: CommandModule<object, CaptionArgs> = {
  command: 'caption',
  describe: 'Recaption every clip with a detailed description (clips.jsonl or latent shards, rewritten atomically)',
  builder: (y) =>
    y
      .option('data', { type: 'string', demandOption: true, describe: 'clip dataset (clips.jsonl) or latent shard directory (manifest.json)' })
      .option('captioner', { type: 'string', default: 'builtin', describe: 'builtin | openai:URL[#model] | onnx:DIR' })
      .option('shard', { type: 'string', describe: 'caption only part i of N (i/N): clips k with k mod N = i, or shard chunks likewise' })
      .option('frames', { type: 'number', default: 4, describe: 'frames sampled per clip for model captioners' })
      .option('concurrency', { type: 'number', default: 4, describe: 'clips captioned in parallel' })
      .option('instruction', { type: 'string', describe: 'instruction sent with the frames (openai); {frames} and {seconds} are filled in' })
      .option('clips', { type: 'string', describe: 'for shard directories: the clip dataset they were encoded from (frames, ground truth)' })
      .option('timeout', { type: 'number', default: 120, describe: 'per-request timeout in seconds (openai)' })
      .option('retries', { type: 'number', default: 4, describe: 'retries on 429/5xx/network errors, with exponential backoff (openai)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON on stdout' })
      .example('$0 caption --data data/clips', 'caption synthetic clips from their ground truth, others from measurements')
      .example('$0 caption --data data/clips --captioner openai:http://127.0.0.1:8000#Qwen2-VL-7B-Instruct', 'a local vLLM server')
      .example('$0 caption --data data/latents --clips data/clips --shard 0/4', 'worker 0 of 4 on latent shards'),
  handler: async (argv) => {
    parseModelSpec(argv.captioner, 'captioner');
    if (!(argv.timeout > 0)) throw new FlagError('timeout', `must be positive, got ${argv.timeout}`);
    if (!Number.isInteger(argv.retries) || argv.retries < 0) throw new FlagError('retries', `must be a non-negative integer, got ${argv.retries}`);
    const summary = await runCaption({
      data: argv.data,
      captioner: argv.captioner,
      shard: argv.shard !== undefined ? parseShardSpec(argv.shard) : undefined,
      frames: positiveInt(argv.frames, 'frames'),
      concurrency: positiveInt(argv.concurrency, 'concurrency'),
      instruction: argv.instruction,
      clips: argv.clips,
      timeoutMs: argv.timeout * 1000,
      retries: argv.retries,
    });
    if (argv.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  },
};
