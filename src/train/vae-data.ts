// Training windows for the video autoencoder: random fixed-size spacetime crops (T frames,
// crop×crop pixels, random horizontal flip) from a clip dataset (DESIGN.md "Clip dataset").
// Small datasets are decoded once and kept in memory; larger ones decode each window on
// demand through ffmpeg. A clip that fails to decode is reported once and left out.
import { type Clip, clipPath, readClips } from '../data/clips.js';
import { type Frame, readVideo } from '../data/video.js';
import { FileError } from '../util/errors.js';
import { info, warn } from '../util/log.js';
import { Progress } from '../util/progress.js';
import type { Rng } from '../util/rng.js';

export interface WindowOptions {
  /** Frames per window (clips with fewer frames repeat their last frame). */
  frames: number;
  /** Square crop side in pixels. */
  crop: number;
  /** Decode everything up front when the decoded dataset fits in this many MiB. */
  cacheMb: number;
  /** Show decode progress. */
  progress?: boolean;
}

/** A batch of windows: data (B·T·crop·crop·3) in [−1, 1], shape (B, T, crop, crop, 3). */
export interface WindowBatch {
  data: Float32Array;
  shape: [number, number, number, number, number];
  ids: string[];
}

export class ClipWindows {
  private readonly cache = new Map<string, Frame[]>();
  private readonly failed = new Set<string>();

  private constructor(
    readonly dir: string,
    private pool: Clip[],
    readonly opts: WindowOptions,
    readonly cached: boolean,
  ) {}

  /** Open a clip dataset; clips smaller than the crop are left out (with a warning). */
  static async open(dir: string, opts: WindowOptions): Promise<ClipWindows> {
    const clips = await readClips(dir);
    const pool = clips.filter((c) => c.width >= opts.crop && c.height >= opts.crop);
    if (pool.length < clips.length) warn(`${clips.length - pool.length} of ${clips.length} clips are smaller than the ${opts.crop}px crop and are not used`);
    if (pool.length === 0) throw new FileError(dir, `no clip is at least ${opts.crop}x${opts.crop} (set train.crop lower)`);
    const bytes = pool.reduce((s, c) => s + c.width * c.height * 3 * c.frames, 0);
    const cached = bytes <= opts.cacheMb * 1024 * 1024;
    const w = new ClipWindows(dir, pool, opts, cached);
    if (cached) await w.decodeAll();
    else info(`vae data: ${pool.length} clips (${(bytes / 2 ** 20).toFixed(0)} MiB decoded) exceed the ${opts.cacheMb} MiB cache: decoding windows on demand`);
    return w;
  }

  /** Clips in use. */
  get size(): number {
    return this.pool.length;
  }

  private async decodeAll(): Promise<void> {
    const bar = this.opts.progress === false ? null : new Progress('decode clips', this.pool.length);
    for (const c of this.pool) {
      try {
        this.cache.set(c.id, (await readVideo(clipPath(this.dir, c))).frames);
      } catch (err) {
        this.drop(c, err);
      }
      bar?.tick();
    }
    bar?.finish();
    this.pool = this.pool.filter((c) => !this.failed.has(c.id));
    if (this.pool.length === 0) throw new FileError(this.dir, 'no clip could be decoded');
  }

  private drop(c: Clip, err: unknown): void {
    this.failed.add(c.id);
    warn(`clip ${c.id} skipped: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** The frames [t0, t0 + n) of a clip (fewer at the end of the clip). */
  private async frames(c: Clip, t0: number, n: number): Promise<Frame[]> {
    const all = this.cache.get(c.id);
    if (all) return all.slice(t0, t0 + n);
    return (await readVideo(clipPath(this.dir, c), { startFrame: t0, maxFrames: n })).frames;
  }

  /** Draw a batch of `batch` random windows (all draws from `rng`). */
  async sample(rng: Rng, batch: number): Promise<WindowBatch> {
    const { frames: T, crop } = this.opts;
    const per = T * crop * crop * 3;
    const data = new Float32Array(batch * per);
    const ids: string[] = [];
    for (let b = 0; b < batch; ) {
      if (this.pool.length === 0) throw new FileError(this.dir, 'no clip could be decoded');
      const c = rng.pick(this.pool);
      const n = this.cache.get(c.id)?.length ?? c.frames; // decoded length wins over clips.jsonl
      const t0 = rng.int(Math.max(1, n - T + 1));
      const y0 = rng.int(c.height - crop + 1);
      const x0 = rng.int(c.width - crop + 1);
      const flip = rng.uniform() < 0.5;
      let fr: Frame[];
      try {
        fr = await this.frames(c, t0, T);
        if (fr.length === 0) throw new Error(`no frames at ${t0}`);
      } catch (err) {
        this.drop(c, err);
        this.pool = this.pool.filter((p) => p.id !== c.id);
        continue;
      }
      for (let t = 0; t < T; t++) {
        const f = fr[Math.min(t, fr.length - 1)];
        const base = b * per + t * crop * crop * 3;
        for (let y = 0; y < crop; y++) {
          for (let x = 0; x < crop; x++) {
            const sx = x0 + (flip ? crop - 1 - x : x);
            const src = ((y0 + y) * f.width + sx) * 3;
            const dst = base + (y * crop + x) * 3;
            data[dst] = f.data[src] / 127.5 - 1;
            data[dst + 1] = f.data[src + 1] / 127.5 - 1;
            data[dst + 2] = f.data[src + 2] / 127.5 - 1;
          }
        }
      }
      ids.push(c.id);
      b++;
    }
    return { data, shape: [batch, T, crop, crop, 3], ids };
  }
}
