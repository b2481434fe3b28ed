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
  builder: (y) => y.command(evalSubcommands).demandCommand(1, 'name a metric: ' + evalSubcommands.map((c) => String(c.command).split(' ')[0]).join(', ')),
  handler: () => {},
};
