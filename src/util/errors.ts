// Typed errors that the CLI edge prints as one line (STYLE.md §10: library code never exits).

/** A user-facing failure: the CLI prints `error: <message>` and exits non-zero. */
export class SpacetimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpacetimeError';
  }
}

/** A failure tied to one file: printed as `error: <path>: <reason>`. */
export class FileError extends SpacetimeError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'FileError';
  }
}

/** A bad command-line flag or config field: printed as `error: --flag: <reason>`. */
export class FlagError extends SpacetimeError {
  constructor(
    readonly flag: string,
    readonly reason: string,
  ) {
    super(`${flag.startsWith('-') ? flag : `--${flag}`}: ${reason}`);
    this.name = 'FlagError';
  }
}

/** One line, no stack: the message of a SpacetimeError, or `name: message` of anything else. */
export function oneLine(err: unknown): string {
  const msg = err instanceof SpacetimeError ? err.message : err instanceof Error ? err.message || err.name : String(err);
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}
