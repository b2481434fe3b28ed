// `spacetime eval fvd --real DIR --generated DIR --features ONNX`: Fréchet Video Distance
// (Unterthiner et al. 2018) with an I3D-style feature network given as ONNX.
import type { CommandModule } from 'yargs';
import { computeFvd } from '../eval/fvd.js';
import { writeFileAtomic } from '../util/atomic.js';

interface Args {
  real: string;
  generated: string;
  features: string;
  json?: string;
  frames: number;
  size: number;
  layout: string;
  threads?: number;
}

export const evalFvdCommand: CommandModule<object, Args> = {
  command: 'fvd',
  describe: 'Fréchet Video Distance between a real and a generated set (Unterthiner et al. 2018; I3D features from an ONNX model)',
  builder: (y) =>
    y
      .option('real', { type: 'string', demandOption: true, describe: 'directory of real videos' })
      .option('generated', { type: 'string', demandOption: true, describe: 'directory of generated videos' })
      .option('features', { type: 'string', demandOption: true, describe: 'I3D-style ONNX model: one clip (1,3,T,H,W) in [-1,1] → features' })
      .option('json', { type: 'string', describe: 'write the result as JSON here (atomic)' })
      .option('frames', { type: 'number', default: 16, describe: 'frames per clip (the first N of each video)' })
      .option('size', { type: 'number', default: 224, describe: 'frames are resized to size×size (bilinear)' })
      .option('layout', { type: 'string', default: 'ncthw', choices: ['ncthw', 'nthwc'], describe: 'model input layout' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores)' })
      .example('$0 eval fvd --real data/real --generated out/gen --features i3d.onnx --json fvd.json', 'FVD of generated clips against real ones'),
  handler: async (argv) => {
    const r = await computeFvd(argv.real, argv.generated, { model: argv.features, frames: argv.frames, size: argv.size, layout: argv.layout as 'ncthw' | 'nthwc', threads: argv.threads });
    for (const s of [...r.real.skipped, ...r.generated.skipped]) process.stderr.write(`warning: skipped ${s.path}: ${s.reason}\n`);
    process.stdout.write(`FVD ${r.fvd.toFixed(4)}  (real ${r.real.clips} clips, generated ${r.generated.clips} clips, ${r.feature_dim}-d features, ${r.frames} frames at ${r.size}²)\n`);
    if (argv.json) await writeFileAtomic(argv.json, JSON.stringify(r, null, 1) + '\n');
  },
};
