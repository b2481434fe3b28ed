// Ctrl-C during a command that fills a temporary output directory (synth here; ingest and export
// share produceDirAtomic) removes that directory before exiting 130: nothing is left behind.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/index.js');

describe('interrupted atomic outputs', () => {
  it('SIGINT while synth writes removes its hidden temp directory and exits 130', async () => {
    const root = tmpDir();
    const child = spawn(process.execPath, [CLI, 'synth', '--out', path.join(root, 'clips'), '--clips', '2000'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const t0 = Date.now();
    while (!readdirSync(root).some((n) => n.startsWith('.clips.tmp-'))) {
      if (Date.now() - t0 > 30_000) throw new Error('synth never created its temp directory');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300)); // some clips written
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(readdirSync(root)).toEqual([]);
  }, 60_000);
});
