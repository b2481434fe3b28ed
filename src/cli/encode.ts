// `spacetime encode`: encode a clip dataset to latent shards with a trained VAE (thin: parse,
// validate, call encodeDataset, report).
import type { CommandModule } from 'yargs';
import { encodeDataset } from '../data/encode.js';
import { BACKENDS } from '../model/backend.js';
import { FlagError } from '../util/errors.js';
import { info } from '../util/log.js';

interface EncodeArgs {
  vae: string;
  data: string;
  out: string;
  shard?: string;
  stats: string;
  dtype: string;
  batch: number;
  'shard-size': number;
  backend: string;
}

export const encodeCommand: CommandModule<object, EncodeArgs> = {
  command: 'encode',
  describe: 'Encode a clip dataset to latent Arrow shards with a trained VAE (resumable)',
  builder: (y) =>
    y
      .option('vae', { type: 'string', demandOption: true, describe: 'VAE checkpoint (ckpt-<step>/ or a run directory → latest)' })
      .option('data', { type: 'string', demandOption: true, describe: 'clip dataset directory' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory for shards + manifest.json' })
      .option('shard', { type: 'string', describe: 'i/N: encode only chunks k ≡ i (mod N) (N machines in parallel)' })
      .option('stats', { type: 'string', default: 'mean', choices: ['mean', 'mean_logvar'], describe: 'store the posterior mean, or mean and log-variance' })
      .option('dtype', { type: 'string', default: 'float16', choices: ['float16', 'float32'], describe: 'latent storage type' })
      .option('batch', { type: 'number', default: 4, describe: 'clips per VAE pass (same-shape clips only)' })
      .option('shard-size', { type: 'number', default: 64, describe: 'clips per shard file' })
      .option('backend', { type: 'string', default: 'auto', choices: BACKENDS as unknown as string[], describe: 'tensor backend' })
      .example('$0 encode --vae runs/vae --data data/clips --out data/latents', 'encode everything')
      .example('$0 encode --vae runs/vae --data data/clips --out data/latents --shard 1/4', 'the second of four workers'),
  handler: async (argv) => {
    for (const k of ['batch', 'shard-size'] as const) {
      if (!Number.isInteger(argv[k]) || argv[k] < 1) throw new FlagError(k, `expected a positive integer, got ${String(argv[k])}`);
    }
    const r = await encodeDataset({
      vae: argv.vae,
      data: argv.data,
      out: argv.out,
      shard: argv.shard,
      stats: argv.stats as 'mean' | 'mean_logvar',
      dtype: argv.dtype as 'float16' | 'float32',
      batch: argv.batch,
      shardSize: argv['shard-size'],
      backend: argv.backend,
    });
    const fps = r.frames / Math.max(r.seconds, 1e-9);
    info(`encode: ${r.written.length} shard(s) written, ${r.skipped.length} skipped, ${r.failures.length} clip(s) failed, ${r.frames} frames at ${fps.toFixed(1)} frames/s`);
    if (r.manifestWritten) process.stdout.write(`${argv.out}\n`);
  },
};
