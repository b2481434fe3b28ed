#!/usr/bin/env node
// The `spacetime` command line. Each subcommand lives in its own file and is thin: parse,
// validate, call the library, return (STYLE.md §10). Errors print as one line here, the edge.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { oneLine } from '../util/errors.js';
import { commands } from './commands.js';

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const cli = yargs(argv)
    .scriptName('spacetime')
    .usage('$0 <command> [options]\n\nTrain, evaluate and run a spacetime-patch video diffusion transformer.')
    .command(commands)
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`error: ${msg}\n`);
      if (/name a command/.test(msg)) process.stderr.write("run 'spacetime --help' for the list\n");
      code = 2;
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    process.stderr.write(`error: ${oneLine(err)}\n`);
    if (process.env.SPACETIME_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
  return code;
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
