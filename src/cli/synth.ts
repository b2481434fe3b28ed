// `spacetime synth`: write a synthetic physics clip dataset with full ground truth and captions,
// optionally with planted physics failures (src/data/synth).
import type { CommandModule } from 'yargs';
import { info } from '../util/log.js';
import { synthDataset } from '../data/synth/index.js';
import { checkCount, checkFps, checkSynthOptions, parseFrameCounts, parseScenes, parseSizes, parseViolations, type SynthOptions } from '../data/synth/options.js';
import { SCENES } from '../data/synth/scenes.js';
import { PLANTABLE } from '../data/synth/violations.js';

interface Args {
  out: string;
  clips: string;
  scenes: string;
  sizes: string;
  frames: string;
  fps: string;
  seed: string;
  violations?: string;
}

export const synthCommand: CommandModule<object, Args> = {
  command: 'synth',
  describe: 'Render synthetic physics clips (bounce, fall, slide, collide, occlude, roll, pendulum) with ground truth',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'new dataset folder (clip-*.mp4 + clips.jsonl)' })
      .option('clips', { type: 'string', default: '16', describe: 'number of clips' })
      .option('scenes', { type: 'string', default: SCENES.join(','), describe: 'scenes to cycle through' })
      .option('sizes', { type: 'string', default: '64x64', describe: 'frame sizes WxH, comma-separated (one drawn per clip)' })
      .option('frames', { type: 'string', default: '16', describe: 'frame counts, comma-separated (one drawn per clip)' })
      .option('fps', { type: 'string', default: '12', describe: 'frames per second' })
      .option('seed', { type: 'string', default: '0', describe: 'random seed (same seed, same dataset)' })
      .option('violations', { type: 'string', describe: `plant one physics failure per clip: a rate in [0,1] (types cycled) or a list of ${PLANTABLE.join(', ')}` })
      .example('$0 synth --out data/synth --clips 64 --sizes 64x64,96x64 --frames 16,24', 'a small training set')
      .example('$0 synth --out data/fails --clips 18 --violations 0.5', 'half the clips carry one planted failure each')
      .example('$0 synth --out data/tp --scenes bounce,roll --violations teleport,disappearance', 'every clip has one of these failures'),
  handler: async (argv) => {
    const scenes = parseScenes(argv.scenes);
    const opts: SynthOptions = {
      out: argv.out,
      clips: checkCount('--clips', argv.clips, 1, 1_000_000),
      scenes,
      sizes: parseSizes(argv.sizes),
      frames: parseFrameCounts(argv.frames),
      fps: checkFps(argv.fps),
      seed: checkCount('--seed', argv.seed, 0, 2 ** 32 - 1),
      violations: parseViolations(argv.violations, scenes),
    };
    const s = await synthDataset(checkSynthOptions(opts));
    const parts = Object.entries(s.scenes).map(([k, n]) => `${k} ${n}`);
    const fails = Object.entries(s.violations).map(([k, n]) => `${k} ${n}`);
    info(`wrote ${s.clips} clips to ${s.out} (${parts.join(', ')})${fails.length ? `; planted failures: ${fails.join(', ')}` : ''}`);
  },
};
