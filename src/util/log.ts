// Console output conventions: info lines go to stderr so stdout stays clean for data.

let quiet = false;

export function setQuiet(q: boolean): void {
  quiet = q;
}

export function info(msg: string): void {
  if (!quiet) process.stderr.write(`${msg}\n`);
}

export function warn(msg: string): void {
  process.stderr.write(`warning: ${msg}\n`);
}
