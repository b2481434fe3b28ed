// The sampling flags shared by `sample`, `bench` and `export`: one check, one wording.
import { FlagError } from '../util/errors.js';

/** Refuse a negative or non-numeric --cfg and a --steps that is not a positive integer. */
export function checkSamplingFlags(argv: { cfg?: number; steps?: number }): void {
  if (argv.steps !== undefined && !(Number.isInteger(argv.steps) && argv.steps > 0)) throw new FlagError('steps', `expected a positive integer, got ${argv.steps}`);
  if (argv.cfg !== undefined && !(argv.cfg >= 0)) throw new FlagError('cfg', `expected a non-negative number, got ${argv.cfg}`);
}
