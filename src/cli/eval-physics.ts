// `spacetime eval physics VIDEO... [--prompt TEXT] [--json FILE]`: segment, track and flag
// physics failures (DESIGN.md "Eval JSON"). Thin: parse, call src/eval/physics.ts, print.
import type { CommandModule } from 'yargs';
import { evalPhysics, type PhysicsReport } from '../eval/physics.js';
import { FlagError, SpacetimeError } from '../util/errors.js';
import { expandVideos } from './eval-temporal.js';

interface Args {
  videos: string[];
  prompt?: string;
  json?: string;
  'min-confidence': number;
}

export function formatPhysics(r: PhysicsReport): string {
  const lines: string[] = [];
  for (const v of r.videos) {
    const objs = v.objects.map((o) => `${o.color}#${o.id}[${o.first}-${o.last}]`).join(' ') || 'none';
    lines.push(`${v.path}: ${v.frames} frames, objects ${objs}, ${v.failures} failure(s)`);
    for (const e of v.events) lines.push(`  frame ${String(e.frame).padStart(3)}  ${e.type.padEnd(18)} obj ${String(e.object).padStart(2)}  conf ${e.confidence.toFixed(2)}  ${e.detail}`);
  }
  return lines.join('\n') + '\n';
}

export const evalPhysicsCommand: CommandModule<object, Args> = {
  command: 'physics <videos..>',
  describe: 'Physics failures: vanishing/appearing objects, teleports, merges/splits, morphs, gravity, time reversal, prompt mismatch',
  builder: (y) =>
    y
      .positional('videos', { type: 'string', array: true, demandOption: true, describe: 'video files or directories of videos' })
      .option('prompt', { type: 'string', describe: 'the prompt the videos were generated from (checks colour, count and direction)' })
      .option('json', { type: 'string', describe: 'write the results as JSON here (atomic)' })
      .option('min-confidence', { type: 'number', default: 0.5, describe: 'drop events below this confidence (0..1)' })
      .example('$0 eval physics out/clip.mp4 --prompt "a red ball rolls from left to right" --json physics.json', 'check one generated clip'),
  handler: async (argv) => {
    if (!argv.videos?.length) throw new SpacetimeError('name at least one video file or directory');
    const c = argv['min-confidence'];
    if (!Number.isFinite(c) || c < 0 || c > 1) throw new FlagError('--min-confidence', `${c}: must be in [0, 1]`);
    const files = await expandVideos(argv.videos);
    const report = await evalPhysics(files, { prompt: argv.prompt, json: argv.json, minConfidence: c });
    process.stdout.write(formatPhysics(report));
  },
};
