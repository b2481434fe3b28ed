// `spacetime train`: train the video DiT on latent shards (thin: parse, pick the backend, call
// runTrain, print the checkpoint). Ctrl-C finishes the step and writes a checkpoint.
import type { CommandModule } from 'yargs';
import { BACKENDS, selectBackend } from '../model/backend.js';
import { runTrain } from '../train/run.js';
import { FlagError } from '../util/errors.js';
import { info } from '../util/log.js';

interface Args {
  data: string;
  out: string;
  config?: string;
  resume: boolean;
  init?: string;
  steps?: number;
  seed?: number;
  workers?: number;
  backend: string;
}

export const trainCommand: CommandModule<object, Args> = {
  command: 'train',
  describe: 'Train the spacetime DiT on latent shards (checkpoints in RUN/ckpt-<step>/, TensorBoard events in RUN/)',
  builder: (y) =>
    y
      .option('data', { type: 'string', demandOption: true, describe: 'latent shard directory (manifest.json + shard-*.arrow)' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory' })
      .option('config', { type: 'string', describe: 'training config JSON (e.g. configs/train-tiny.json)' })
      .option('resume', { type: 'boolean', default: false, describe: "continue RUN/latest, rebuilt from its config.json (--steps may extend it)" })
      .option('init', { type: 'string', describe: 'fine-tune: start from this checkpoint (or run dir) — its weights (EMA if stored), tokenizer, architecture and latent scale; lr, steps, logging come from --config' })
      .option('steps', { type: 'number', describe: 'total optimizer steps (overrides the config)' })
      .option('seed', { type: 'number', describe: 'seed for init, noise and data order (new runs only)' })
      .option('workers', { type: 'number', describe: 'data-parallel worker threads, each computing a contiguous part of every batch (wasm/cpu backend; overrides config parallel.workers; 1 = this thread)' })
      .option('backend', { type: 'string', default: 'auto', choices: BACKENDS as unknown as string[], describe: 'tensor backend' })
      .example('$0 train --data data/latents --out runs/dit --config configs/train-tiny.json', 'train a tiny model')
      .example('$0 train --data data/latents --out runs/dit --resume --steps 2000', 'continue and extend a run')
      .example('$0 train --data data/latents --out runs/dit --config configs/train-tiny.json --backend wasm --workers 2', 'train on two cores (data-parallel)')
      .example('$0 train --data data/latents --out runs/ft --init models/demo/checkpoints/dit --steps 200', 'fine-tune the shipped demo DiT on your latents (encoded with its VAE)'),
  handler: async (argv) => {
    for (const k of ['steps', 'seed', 'workers'] as const) {
      const v = argv[k];
      if (v !== undefined && (!Number.isInteger(v) || v < (k === 'seed' ? 0 : 1))) throw new FlagError(k, `expected a ${k === 'seed' ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
    }
    await selectBackend(argv.backend);
    const r = await runTrain({ data: argv.data, out: argv.out, config: argv.config, resume: argv.resume, init: argv.init, steps: argv.steps, seed: argv.seed, workers: argv.workers });
    info(`train: step ${r.step}, loss ${r.loss.toFixed(4)}${r.stopped ? ' (interrupted)' : ''}`);
    process.stdout.write(`${r.checkpoint}\n`);
  },
};
