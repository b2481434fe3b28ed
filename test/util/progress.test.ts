import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Progress, fmtTime } from '../../src/util/progress.js';

function sink(): { lines: string[]; write(s: string): boolean; isTTY: boolean } {
  const lines: string[] = [];
  return { lines, isTTY: false, write: (s: string) => (lines.push(s), true) };
}

describe('Progress', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(0);
  });
  afterEach(() => { vi.useRealTimers(); });

  it('counts rate and eta from the items done since it started', () => {
    const out = sink();
    const bar = new Progress('train', 200, { stream: out, plainIntervalMs: 0 });
    vi.setSystemTime(10_000);
    bar.update(20); // 20 items in 10 s → 2/s, 180 left → 90 s
    expect(out.lines.at(-1)).toBe('train: 20/200 10% 2.0/s eta 1m30s\n');
  });

  it('a resumed bar starts at its position and does not count it in the rate', () => {
    const out = sink();
    const bar = new Progress('train', 200, { stream: out, plainIntervalMs: 0, start: 100 });
    expect(out.lines[0]).toBe('train: 100/200\n');
    vi.setSystemTime(10_000);
    bar.update(110, 'loss 0.5'); // 10 items this run in 10 s → 1/s, 90 left → 90 s (not 110 items / 10 s)
    expect(out.lines.at(-1)).toBe('train: 110/200 55% 1.0/s eta 1m30s loss 0.5\n');
  });

  it('shows no rate or eta from the first quarter second, and the true rate on the final line', () => {
    const out = sink();
    const bar = new Progress('denoise', 24, { stream: out, plainIntervalMs: 0 });
    vi.setSystemTime(1);
    bar.tick(); // 1 item in 1 ms would read as 1000/s
    expect(out.lines.at(-1)).toBe('denoise: 1/24 4% ?/s eta ?\n');
    vi.setSystemTime(100);
    bar.finish(); // 24 items in 0.1 s
    expect(out.lines.at(-1)).toBe('denoise: 24/24 100% 240.0/s eta 0s\n');
    // reaching the total by update() within the first quarter second is complete too
    const one = sink();
    const quick = new Progress('eval', 1, { stream: one, plainIntervalMs: 0 });
    vi.setSystemTime(150);
    quick.update(1);
    expect(one.lines.at(-1)).toBe('eval: 1/1 100% 20.0/s eta 0s\n');
  });

  it('formats times', () => {
    expect(fmtTime(59.6)).toBe('1m00s'); // rounded before splitting (was '60s')
    expect(fmtTime(42.4)).toBe('42s');
    expect(fmtTime(125)).toBe('2m05s');
    expect(fmtTime(Infinity)).toBe('?');
  });
});
