// Shared test helpers: temporary directories and running the built CLI.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll } from 'vitest';

/** A fresh temporary directory, removed after the file's tests. */
export function tmpDir(prefix = 'spacetime-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ROOT = path.resolve(import.meta.dirname, '..');

/** Run the CLI from source (tsx-free: via the compiled dist if present, else vite-node is not used). */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli/index.js'), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeout ?? 300_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A synthetic RGB frame sequence: a square of `size` px moving `dx` px per frame on grey. */
export function movingSquare(n: number, width: number, height: number, opts: { size?: number; dx?: number; dy?: number; x0?: number; y0?: number; color?: [number, number, number] } = {}) {
  const { size = 8, dx = 2, dy = 0, x0 = 4, y0 = 4, color = [220, 40, 40] } = opts;
  const frames = [];
  for (let t = 0; t < n; t++) {
    const data = new Uint8Array(width * height * 3).fill(128);
    const x = Math.round(x0 + dx * t);
    const y = Math.round(y0 + dy * t);
    for (let j = Math.max(0, y); j < Math.min(height, y + size); j++)
      for (let i = Math.max(0, x); i < Math.min(width, x + size); i++) data.set(color, (j * width + i) * 3);
    frames.push({ width, height, data });
  }
  return frames;
}
