// `spacetime vae train`: train the causal video autoencoder on a clip dataset (thin: parse,
// validate, call trainVAE, print where the checkpoint went).
import type { Argv, CommandModule } from 'yargs';
import { BACKENDS } from '../model/backend.js';
import { VAERunConfigSchema, parseVAERunConfig, readVAERunConfig, trainVAE } from '../train/vae-train.js';
import { FlagError } from '../util/errors.js';
import { info } from '../util/log.js';

interface TrainArgs {
  data: string;
  out: string;
  config?: string;
  steps?: number;
  batch?: number;
  lr?: number;
  backend: string;
  seed?: number;
  resume: boolean;
}

const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train the video autoencoder (checkpoints in RUN/ckpt-<step>/, RUN/latest)',
  builder: (y) =>
    y
      .option('data', { type: 'string', demandOption: true, describe: 'clip dataset directory (clips.jsonl + videos)' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory for checkpoints' })
      .option('config', { type: 'string', describe: 'JSON config {model, train} (e.g. configs/vae.json)' })
      .option('steps', { type: 'number', describe: 'optimizer steps (overrides train.steps)' })
      .option('batch', { type: 'number', describe: 'clips per step (overrides train.batch)' })
      .option('lr', { type: 'number', describe: 'peak learning rate (overrides train.lr)' })
      .option('seed', { type: 'number', describe: 'seed for init and data order (overrides train.seed)' })
      .option('backend', { type: 'string', default: 'auto', choices: BACKENDS as unknown as string[], describe: 'tensor backend' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue from RUN/latest (its stored config wins; --steps may extend)' })
      .example('$0 vae train --data data/clips --out runs/vae --config configs/vae.json', 'train with the default config')
      .example('$0 vae train --data data/clips --out runs/vae --steps 200 --backend wasm', 'a short run'),
  handler: async (argv) => {
    const base = argv.config ? await readVAERunConfig(argv.config) : VAERunConfigSchema.parse({});
    const over: Record<string, number> = {};
    for (const k of ['steps', 'batch', 'lr', 'seed'] as const) {
      const v = argv[k];
      if (v === undefined) continue;
      if (!Number.isFinite(v)) throw new FlagError(k, `expected a number, got ${String(v)}`);
      over[k] = v;
    }
    let cfg;
    try {
      cfg = parseVAERunConfig({ model: base.model, train: { ...base.train, ...over } }, argv.config ?? 'built-in config');
    } catch (err) {
      const k = Object.keys(over).find((f) => err instanceof Error && err.message.includes(`train.${f}:`));
      if (k) throw new FlagError(k, (err as Error).message.replace(/^.*?train\.\w+: /, ''));
      throw err;
    }
    const res = await trainVAE({ data: argv.data, out: argv.out, config: cfg, backend: argv.backend, resume: argv.resume });
    info(`vae train: ${res.step} steps, psnr ${res.metrics.psnr.toFixed(2)} dB, ${res.clipsPerSec.toFixed(2)} clips/s`);
    process.stdout.write(`${res.ckpt}\n`);
  },
};

export const vaeCommand: CommandModule<object, object> = {
  command: 'vae <command>',
  describe: 'Video autoencoder: train',
  builder: (y: Argv) =>
    y
      .command(trainCommand)
      .demandCommand(1, 'name a vae command (train)')
      .example('$0 vae train --data data/clips --out runs/vae --config configs/vae.json', 'train the video autoencoder'),
  handler: () => {},
};
