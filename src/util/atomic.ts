// Atomic outputs: everything is written to a temporary name in the same directory and renamed.
// A crash leaves either the old file or the new one, never half of one.
import { promises as fs, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { FileError } from './errors.js';

let counter = 0;

/** A temporary sibling path of `target` unique to this process. */
export function tempPath(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}-${counter++}`);
}

/** A FileError naming `target` for a filesystem failure (EISDIR, ENOTDIR, EACCES, …), else the error itself. */
export function writeError(target: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why: Record<string, string> = {
    EISDIR: 'is a directory',
    ENOTDIR: 'a parent of this path is not a directory',
    EEXIST: 'a parent of this path is not a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
  };
  return code && why[code] ? new FileError(target, `cannot write: ${why[code]}`) : err;
}

/**
 * mkdir -p that always ends: fs.mkdir(…, { recursive: true }) never returns on some virtual file
 * systems (a missing path under /proc loops inside Node). Creates each missing ancestor in turn;
 * a failure names the directory (FileError) instead.
 */
export async function makeDirs(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const st = await fs.stat(abs).catch(() => null);
  if (st) {
    if (!st.isDirectory()) throw new FileError(abs, 'cannot create directory: a file is in the way');
    return;
  }
  const parent = path.dirname(abs);
  if (parent !== abs) await makeDirs(parent);
  try {
    await fs.mkdir(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    throw new FileError(abs, `cannot create directory (${code ?? String(err)})`);
  }
}

/** Write `data` to `target` atomically (temp file, fsync, rename). */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPath(target);
  try {
    await makeDirs(path.dirname(path.resolve(target)));
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw writeError(target, err);
  }
}

/**
 * Produce a file through `produce(tmpPath)` and rename it to `target` when it resolves.
 * Used where a third party (ffmpeg) writes the file. The temp name keeps the extension so
 * tools that pick a format from it still do.
 */
export async function produceAtomic<T>(target: string, produce: (tmp: string) => Promise<T>): Promise<T> {
  await makeDirs(path.dirname(path.resolve(target)));
  const ext = path.extname(target);
  const tmp = tempPath(target) + ext;
  try {
    const out = await produce(tmp);
    await fs.rename(tmp, target);
    return out;
  } catch (err) {
    await fs.rm(tmp, { force: true, recursive: true });
    throw err;
  }
}

/**
 * Write a directory through `fill(tmpDir)` then rename it to `target`. The temporary directory has
 * a unique hidden name beside `target`. An existing `target` must be an empty directory, or one
 * that `replaceable` accepts (e.g. an earlier output of the same command); a file, or a directory
 * holding anything else, is refused and left untouched.
 */
export async function produceDirAtomic<T>(target: string, fill: (tmpDir: string) => Promise<T>, opts: { replaceable?: (dir: string) => Promise<boolean> } = {}): Promise<T> {
  const existing = await fs.stat(target).catch(() => null);
  if (existing) {
    if (!existing.isDirectory()) throw new FileError(target, 'exists and is not a directory');
    if ((await fs.readdir(target)).length > 0 && !(await opts.replaceable?.(target))) throw new FileError(target, 'exists and is not empty');
  }
  await makeDirs(path.dirname(path.resolve(target)));
  const tmp = tempPath(target);
  await fs.mkdir(tmp);
  liveTemps(tmp, true);
  try {
    const out = await fill(tmp);
    if (existing) await fs.rm(target, { recursive: true, force: true });
    await fs.rename(tmp, target);
    return out;
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    liveTemps(tmp, false);
  }
}

// Temporary output directories being filled right now. While there is one, Ctrl-C (SIGINT) or
// SIGTERM removes them before the process exits (130 / 143), so an interrupted synth, ingest or
// export leaves nothing behind. The handlers are installed only while a directory is live, so
// commands with their own graceful stop (train) keep it.
const temps = new Set<string>();

/**
 * Remove a directory now, synchronously, even while another process (an ffmpeg child) is still
 * creating files in it by path. Node's rmSync lists the children once and then retries only the
 * final rmdir, so one entry created after the listing makes every retry fail with ENOTEMPTY
 * (measured: 6 of 10 tries with a shell loop writing into the directory). Renaming the directory
 * aside first ends the race: a later open by the old path fails (ENOENT) instead of adding an
 * entry. Returns false, after ~200 ms of retries, if it is still there.
 */
export function removeDirNowSync(dir: string): boolean {
  let victim = `${dir}.removing`;
  try {
    renameSync(dir, victim);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    victim = dir;
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 20; i++) {
    try {
      rmSync(victim, { recursive: true, force: true });
      return true;
    } catch {
      Atomics.wait(pause, 0, 0, 10);
    }
  }
  return false;
}

function onSignal(sig: NodeJS.Signals): void {
  for (const t of temps) {
    if (!removeDirNowSync(t)) process.stderr.write(`warning: ${t}: could not remove the temporary directory\n`);
  }
  process.exit(sig === 'SIGINT' ? 130 : 143);
}
function liveTemps(tmp: string, live: boolean): void {
  if (live) {
    if (temps.size === 0) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, onSignal);
    temps.add(tmp);
  } else if (temps.delete(tmp) && temps.size === 0) {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, onSignal);
  }
}
