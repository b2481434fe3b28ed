// `spacetime eval <metric>`: the parent of the evaluation subcommands, one file each
// (STYLE.md §10). Each subcommand module exports a yargs CommandModule; list it below.
import type { CommandModule } from 'yargs';
import { evalTemporalCommand } from './eval-temporal.js';
import { evalFvdCommand } from './eval-fvd.js';
import { evalPhysicsCommand } from './eval-physics.js';
import { evalPhysicsIQCommand } from './eval-physics-iq.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const evalSubcommands: CommandModule<any, any>[] = [evalTemporalCommand, evalFvdCommand, evalPhysicsCommand, evalPhysicsIQCommand];

export const evalCommand: CommandModule<object, object> = {
  command: 'eval',
  describe: 'Score videos: temporal consistency, physics failures, Physics-IQ, FVD',
  builder: (y) =>
    y
      .command(evalSubcommands)
      .demandCommand(1, 'name a metric: ' + evalSubcommands.map((c) => String(c.command).split(' ')[0]).join(', '))
      .example('$0 eval temporal out/*.mp4 --json temporal.json', 'VBench-style temporal metrics')
      .example('$0 eval physics clip.mp4 --prompt "a red ball bounces to the right"', 'physics failures and prompt mismatches')
      .example('$0 eval physics-iq --generated gen/ --real real/ --real-b real2/', 'Physics-IQ scores')
      .example('$0 eval fvd --real real/ --generated gen/ --features i3d.onnx', 'Fréchet video distance'),
  handler: () => {},
};
