// The CLI edge: a rejected command line prints one `error:` line, exits 2 and runs nothing.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir } from '../helpers.js';

const dir = tmpDir();

describe('command-line usage errors', () => {
  it('an unknown flag stops the command before it writes anything', () => {
    const out = path.join(dir, 'uf');
    const r = runCli(['synth', '--out', out, '--clips', '2', '--frmes', '9', '--sizes', '32x32']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: Unknown argument: frmes\n');
    expect(existsSync(out)).toBe(false);
  });

  it('missing arguments, bad choices and no command give one line each', () => {
    for (const [args, re] of [
      [['synth', '--clips', '2'], /^error: Missing required argument: out\n$/],
      [['verify'], /^error: Not enough non-option arguments/],
      [['backend', '--backend', 'nope'], /^error: Invalid values: Argument: backend, Given: "nope"/],
      [[], /^error: name a command; run 'spacetime --help' for the list\n$/],
    ] as const) {
      const r = runCli([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
  });

  it('generate rejects non-numeric numbers and sample an empty prompt, naming the flag', () => {
    const g = runCli(['generate', '--model', path.join(dir, 'none'), '--prompt', 'a ball', '--out', path.join(dir, 'g.mp4'), '--seed', 'abc']);
    expect(g.code).toBe(1);
    expect(g.stderr).toBe('error: --seed: must be a number\n');
    const s = runCli(['sample', '--ckpt', path.join(dir, 'none'), '--prompt', ' ', '--out', path.join(dir, 's.mp4')]);
    expect(s.code).toBe(1);
    expect(s.stderr).toBe('error: --prompt: empty prompt\n');
  });
});
