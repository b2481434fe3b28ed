// Atomic outputs: everything is written to a temporary name in the same directory and renamed.
// A crash leaves either the old file or the new one, never half of one.
import { promises as fs } from 'node:fs';
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

/** Write `data` to `target` atomically (temp file, fsync, rename). */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPath(target);
  try {
    await fs.mkdir(path.dirname(path.resolve(target)), { recursive: true });
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
  await fs.mkdir(path.dirname(path.resolve(target)), { recursive: true });
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
  await fs.mkdir(path.dirname(path.resolve(target)), { recursive: true });
  const tmp = tempPath(target);
  await fs.mkdir(tmp);
  try {
    const out = await fill(tmp);
    if (existing) await fs.rm(target, { recursive: true, force: true });
    await fs.rename(tmp, target);
    return out;
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
