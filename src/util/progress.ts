// Progress for long steps: a redrawn bar on a TTY, plain lines (at most one per ~2 s and at
// 0% / 100%) otherwise, so logs from batch schedulers stay readable.

export interface ProgressOptions {
  /** Stream to draw on (default process.stderr). */
  stream?: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  /** Minimum ms between plain-line updates when not a TTY. */
  plainIntervalMs?: number;
  /** Position already reached before this bar started (a resumed run): shown, not counted in the rate. */
  start?: number;
}

export class Progress {
  private done: number;
  private readonly t0 = Date.now();
  private readonly base: number;
  private lastPlain = 0;
  private lastPlainDone = -1;
  private lastDraw = 0;
  private finished = false;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private readonly plainIntervalMs: number;

  constructor(
    readonly label: string,
    readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.plainIntervalMs = opts.plainIntervalMs ?? 2000;
    this.base = Math.min(total, Math.max(0, opts.start ?? 0));
    this.done = this.base;
    if (!this.tty) this.stream.write(`${label}: ${this.base}/${total}\n`);
  }

  /** Advance by `n` and optionally show extra fields (e.g. `loss 0.123`). */
  tick(n = 1, extra = ''): void {
    this.done = Math.min(this.total, this.done + n);
    this.render(extra);
  }

  /** Set absolute position. */
  update(done: number, extra = ''): void {
    this.done = Math.min(this.total, done);
    this.render(extra);
  }

  finish(extra = ''): void {
    if (this.finished) return;
    this.done = this.total;
    this.render(extra, true);
    this.finished = true;
  }

  private render(extra: string, final = false): void {
    const now = Date.now();
    const elapsed = (now - this.t0) / 1000;
    const rate = Math.max(0, this.done - this.base) / Math.max(elapsed, 1e-9); // items this run, per second
    // a rate from the first few ms is noise (one quick item in 1 ms reads as 1000/s): shown as '?' until 0.25 s have
    // passed, unless the bar is complete (then it is the true rate of the whole run)
    const known = rate > 0 && (final || this.done >= this.total || elapsed >= 0.25);
    const eta = known ? (this.total - this.done) / rate : NaN;
    const pct = this.total > 0 ? (100 * this.done) / this.total : 100;
    const tail = `${this.done}/${this.total} ${pct.toFixed(0)}% ${known ? fmtRate(rate) : '?/s'} eta ${fmtTime(eta)}${extra ? ` ${extra}` : ''}`;
    if (this.tty) {
      if (!final && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round((width * pct) / 100);
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}\x1b[K${final ? '\n' : ''}`);
    } else if ((final && this.lastPlainDone !== this.done) || (!final && now - this.lastPlain >= this.plainIntervalMs)) {
      this.lastPlain = now;
      this.lastPlainDone = this.done;
      this.stream.write(`${this.label}: ${tail}\n`);
    }
  }
}

function fmtRate(r: number): string {
  return r >= 1 ? `${r.toFixed(1)}/s` : `${(1 / Math.max(r, 1e-9)).toFixed(1)}s/it`;
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const r = Math.round(s);
  const m = Math.floor(r / 60);
  const sec = r % 60;
  return m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
