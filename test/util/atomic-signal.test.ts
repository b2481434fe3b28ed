// Ctrl-C during a command that fills a temporary output directory (synth here; ingest and export
// share produceDirAtomic) removes that directory before exiting 130: nothing is left behind.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeDirNowSync } from '../../src/util/atomic.js';
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

  // The removal the signal handler uses. Node's rmSync({ maxRetries }) lost this race in 6 of 10
  // tries (ENOTEMPTY): it lists the children once and then retries only the rmdir.
  it('removes a directory while another process keeps creating files in it', async () => {
    for (let k = 0; k < 5; k++) {
      const root = tmpDir();
      const d = path.join(root, '.out.tmp-1');
      mkdirSync(d);
      const writer = spawn('sh', ['-c', 'i=0; while :; do : > "$D/f$i" 2>/dev/null; i=$((i+1)); done'], { env: { ...process.env, D: d }, stdio: 'ignore' });
      try {
        const t0 = Date.now();
        while (readdirSync(d).length < 20) {
          if (Date.now() - t0 > 20_000) throw new Error('the writer never started');
          await new Promise((r) => setTimeout(r, 5));
        }
        expect(removeDirNowSync(d)).toBe(true);
        await new Promise((r) => setTimeout(r, 50)); // the writer keeps trying by the old path
        expect(readdirSync(root)).toEqual([]);
      } finally {
        writer.kill('SIGKILL');
      }
    }
    expect(removeDirNowSync(path.join(tmpDir(), 'never-made'))).toBe(true);
  }, 60_000);
});
