// `spacetime export`: checkpoint → ONNX model directory for `spacetime generate`.
import type { CommandModule } from 'yargs';
import { exportModel } from '../infer/export/index.js';
import { selectBackend } from '../model/backend.js';
import { parseSize } from '../infer/generate-run.js';
import { checkSamplingFlags } from './sampling-flags.js';

interface Args {
  ckpt: string;
  out: string;
  vae?: string;
  ema: boolean;
  float16: boolean;
  frames?: number;
  size?: string;
  fps?: number;
  cfg?: number;
  steps?: number;
}

export const exportCommand: CommandModule<object, Args> = {
  command: 'export',
  describe: 'Export a checkpoint to ONNX (DiT, caption encoder, VAE decoder/encoder, tokenizer, config.json)',
  builder: (y) =>
    y
      .option('ckpt', { type: 'string', demandOption: true, describe: 'checkpoint directory, or a run directory (its latest)' })
      .option('out', { type: 'string', demandOption: true, describe: 'model directory to write' })
      .option('vae', { type: 'string', describe: 'VAE checkpoint (default: the training config log.previewVae)' })
      .option('ema', { type: 'boolean', default: false, describe: 'export the EMA weights' })
      .option('float16', { type: 'boolean', default: false, describe: 'store weights as float16 (computed in float32)' })
      .option('frames', { type: 'number', describe: 'default --frames for generate' })
      .option('size', { type: 'string', describe: 'default --size WxH for generate' })
      .option('fps', { type: 'number', describe: 'default fps for generate' })
      .option('cfg', { type: 'number', describe: "default --cfg for generate (else the training config's sample.cfg)" })
      .option('steps', { type: 'number', describe: "default --steps for generate (else the training config's sample.steps)" })
      .example('$0 export --ckpt runs/dit --vae runs/vae --out models/mine --ema', 'export the EMA weights of the latest checkpoint'),
  handler: async (argv) => {
    checkSamplingFlags(argv);
    await selectBackend('cpu', { quiet: true });
    const size = argv.size ? parseSize(argv.size) : undefined;
    const r = await exportModel({ ckpt: argv.ckpt, out: argv.out, vae: argv.vae, ema: argv.ema, float16: argv.float16, frames: argv.frames, width: size?.width, height: size?.height, fps: argv.fps, cfg: argv.cfg, steps: argv.steps });
    for (const [f, b] of Object.entries(r.bytes)) process.stdout.write(`${r.dir}/${f}  ${(b / 1e6).toFixed(2)} MB\n`);
    process.stdout.write(`${r.dir}/config.json  model ${r.config.model.id} step ${r.config.model.step} hash ${r.config.model.hash.slice(0, 16)}\n`);
  },
};
