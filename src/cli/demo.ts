// `spacetime demo [--out DIR] [--quick] [--force] [--config FILE]`: the whole chain, small, on
// synthetic data (src/demo/run.ts), judged by the thresholds stored with the demo. Thin: parse, call.
import type { CommandModule } from 'yargs';
import { runDemo } from '../demo/run.js';

interface Args {
  out: string;
  quick: boolean;
  force: boolean;
  config?: string;
}

export const demoCommand: CommandModule<object, Args> = {
  command: 'demo',
  describe: 'The whole chain, small: synth → VAE → encode → caption → DiT → export → generate → eval → bench report (exits non-zero below the thresholds in configs/demo.json; configs/demo-scratch.json trains everything from scratch)',
  builder: (y) =>
    y
      .option('out', { type: 'string', default: 'spacetime-demo', describe: 'output directory (must be new or empty)' })
      .option('quick', { type: 'boolean', default: false, describe: 'tiny everything (configs/demo-quick.json), for tests' })
      .option('force', { type: 'boolean', default: false, describe: "replace a previous demo's outputs in --out" })
      .option('config', { type: 'string', describe: 'a demo config (default configs/demo.json: fine-tunes the shipped model; configs/demo-scratch.json: trains from scratch; configs/demo-quick.json: tiny)' })
      .example('$0 demo', 'run the demo into ./spacetime-demo (about 1.5 minutes on an idle 2-core machine)')
      .example('$0 demo --quick --out /tmp/demo', 'a smoke run in about a minute'),
  handler: async (argv) => {
    await runDemo({ out: argv.out, quick: argv.quick, force: argv.force, config: argv.config });
  },
};
