#!/usr/bin/env node
// The `spacetime` command line. Each subcommand lives in its own file and is thin: parse,
// validate, call the library, return (STYLE.md §10). Errors print as one line here, the edge.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { oneLine, SpacetimeError } from '../util/errors.js';

/** A command-line usage error from yargs (unknown flag, missing argument, bad choice): exit 2. */
class UsageError extends SpacetimeError {}
import { commands } from './commands.js';

export async function main(argv: string[]): Promise<number> {
  const cli = yargs(argv)
    .scriptName('spacetime')
    .usage('$0 <command> [options]\n\nTrain, evaluate and run a spacetime-patch video diffusion transformer.')
    .command(commands)
    .demandCommand(1, 'name a command')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // throwing here stops yargs before any handler runs: a rejected command line does nothing
      if (err) throw err;
      throw new UsageError(/name a command/.test(msg) ? `${msg}; run 'spacetime --help' for the list` : msg);
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    process.stderr.write(`error: ${oneLine(err)}\n`);
    if (process.env.SPACETIME_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
  return 0;
}

main(hideBin(process.argv)).then(
  (code) => {
    // a handler may have set its own exit status (e.g. verify: 3 = invalid); keep it
    if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: ${oneLine(err)}\n`);
    process.exitCode = 1;
  },
);
