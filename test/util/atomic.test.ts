// Atomic directory outputs never destroy what was there: a file or a non-empty directory at the
// target is refused and left as it was; a replaceable earlier output is swapped in one rename.
import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeDirs, produceDirAtomic } from '../../src/util/atomic.js';
import { tmpDir } from '../helpers.js';

const dir = tmpDir();
const fill = async (tmp: string) => fs.writeFile(path.join(tmp, 'out.txt'), 'new');

describe('produceDirAtomic', () => {
  it('creates the directory and leaves no temporary sibling', async () => {
    await produceDirAtomic(path.join(dir, 'a'), fill);
    expect(await fs.readFile(path.join(dir, 'a', 'out.txt'), 'utf8')).toBe('new');
    expect((await fs.readdir(dir)).filter((f) => f.includes('tmp'))).toEqual([]);
  });

  it('refuses a file and a non-empty directory, untouched, and ignores a stale <out>.tmp', async () => {
    await fs.writeFile(path.join(dir, 'f'), 'keep');
    await expect(produceDirAtomic(path.join(dir, 'f'), fill)).rejects.toThrow(/f: exists and is not a directory/);
    expect(await fs.readFile(path.join(dir, 'f'), 'utf8')).toBe('keep');
    await fs.mkdir(path.join(dir, 'mine'));
    await fs.writeFile(path.join(dir, 'mine', 'notes.txt'), 'keep');
    await expect(produceDirAtomic(path.join(dir, 'mine'), fill)).rejects.toThrow(/mine: exists and is not empty/);
    expect(await fs.readFile(path.join(dir, 'mine', 'notes.txt'), 'utf8')).toBe('keep');
    await fs.mkdir(path.join(dir, 'v.tmp'));
    await fs.writeFile(path.join(dir, 'v.tmp', 'important.txt'), 'keep');
    await produceDirAtomic(path.join(dir, 'v'), fill);
    expect(await fs.readFile(path.join(dir, 'v.tmp', 'important.txt'), 'utf8')).toBe('keep');
  });

  it('replaces an earlier output the caller accepts, and keeps it when filling fails', async () => {
    const out = path.join(dir, 'model');
    await produceDirAtomic(out, fill);
    const ours = async (d: string) => (await fs.readdir(d)).includes('out.txt');
    await expect(produceDirAtomic(out, async () => Promise.reject(new Error('boom')), { replaceable: ours })).rejects.toThrow('boom');
    expect(await fs.readFile(path.join(out, 'out.txt'), 'utf8')).toBe('new');
    await produceDirAtomic(out, async (tmp) => fs.writeFile(path.join(tmp, 'out.txt'), 'newer'), { replaceable: ours });
    expect(await fs.readFile(path.join(out, 'out.txt'), 'utf8')).toBe('newer');
  });
});

describe('makeDirs', () => {
  it('creates missing ancestors, accepts an existing directory, and names the path it cannot create', async () => {
    const root = tmpDir();
    const deep = path.join(root, 'a', 'b', 'c');
    await makeDirs(deep);
    expect((await fs.stat(deep)).isDirectory()).toBe(true);
    await makeDirs(deep);
    await fs.writeFile(path.join(root, 'file'), 'x');
    await expect(makeDirs(path.join(root, 'file', 'sub'))).rejects.toThrow(`${path.join(root, 'file')}: cannot create directory: a file is in the way`);
  });

  it('ends with an error under /proc, where fs.mkdir recursive never returns', async () => {
    await expect(makeDirs('/proc/spacetime-no-such/dir')).rejects.toThrow('/proc/spacetime-no-such: cannot create directory (ENOENT)');
  });
});
