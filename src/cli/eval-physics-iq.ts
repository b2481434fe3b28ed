// `spacetime eval physics-iq --generated DIR --real DIR [--real-b DIR] [--json FILE]`: Physics-IQ
// motion-mask metrics (Motamed et al. 2025) between generated and real continuations, paired by
// file name; with a second real take, the physical-variance-normalised Physics-IQ score.
import type { CommandModule } from 'yargs';
import { runPhysicsIQ, type PhysicsIQReport } from '../eval/physics-iq.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FlagError } from '../util/errors.js';

interface Args {
  generated: string;
  real: string;
  'real-b'?: string;
  json?: string;
  downscale: number;
}

const f = (x: number) => x.toFixed(4);

export function formatPhysicsIQ(r: PhysicsIQReport): string {
  const head = ['video', 'frames', 'spatial_iou', 'st_iou', 'w_spatial_iou', 'mse'];
  const rows = r.videos.map((v) => [v.name, String(v.frames), f(v.spatial_iou), f(v.spatiotemporal_iou), f(v.weighted_spatial_iou), f(v.mse)]);
  rows.push([`mean (${r.videos.length})`, '', f(r.mean.spatial_iou), f(r.mean.spatiotemporal_iou), f(r.mean.weighted_spatial_iou), f(r.mean.mse)]);
  if (r.variance) rows.push(['physical variance', '', f(r.variance.spatial_iou), f(r.variance.spatiotemporal_iou), f(r.variance.weighted_spatial_iou), f(r.variance.mse)]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  const score = r.physics_iq_score === null ? '' : `Physics-IQ score: ${r.physics_iq_score.toFixed(2)}\n`;
  return [line(head), ...rows.map(line)].join('\n') + '\n' + score;
}

export const evalPhysicsIQCommand: CommandModule<object, Args> = {
  command: 'physics-iq',
  describe: 'Physics-IQ metrics: spatial / spatiotemporal / weighted-spatial IoU of motion masks and MSE vs real continuations',
  builder: (y) =>
    y
      .option('generated', { type: 'string', demandOption: true, describe: 'directory of generated continuations' })
      .option('real', { type: 'string', demandOption: true, describe: 'directory of real continuations (same file names)' })
      .option('real-b', { type: 'string', describe: 'directory of second real takes, for the physical-variance normalisation' })
      .option('json', { type: 'string', describe: 'write the results as JSON here (atomic)' })
      .option('downscale', { type: 'number', default: 4, describe: 'compare at 1/N of the real size (benchmark: 4)' })
      .example('$0 eval physics-iq --generated gen/ --real take1/ --real-b take2/ --json piq.json', 'score with physical-variance normalisation'),
  handler: async (argv) => {
    if (!Number.isInteger(argv.downscale) || argv.downscale < 1) throw new FlagError('--downscale', `${argv.downscale}: must be a whole number ≥ 1`);
    const report = await runPhysicsIQ({ generated: argv.generated, real: argv.real, realB: argv['real-b'], downscale: argv.downscale });
    process.stdout.write(formatPhysicsIQ(report));
    if (argv.json) await writeFileAtomic(argv.json, JSON.stringify(report, null, 1) + '\n');
  },
};
