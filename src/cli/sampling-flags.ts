// Flag checks shared by several commands: the sampling flags of `sample`, `bench` and `export`,
// and whole-number counts (`caption --frames`, `upsample --frames/--fps`): one check, one wording.
import { FlagError } from '../util/errors.js';

/** Refuse a negative or non-numeric --cfg and a --steps that is not a positive integer. */
export function checkSamplingFlags(argv: { cfg?: number; steps?: number }): void {
  if (argv.steps !== undefined && !(Number.isInteger(argv.steps) && argv.steps > 0)) throw new FlagError('steps', `expected a positive integer, got ${argv.steps}`);
  if (argv.cfg !== undefined && !(argv.cfg >= 0)) throw new FlagError('cfg', `expected a non-negative number, got ${argv.cfg}`);
}

/** A flag that must be a whole number ≥ 1: returns it, or throws FlagError naming the flag. */
export function positiveInt(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 1) throw new FlagError(flag, `must be a positive integer, got ${v}`);
  return v;
}
