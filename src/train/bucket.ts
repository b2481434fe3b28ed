// Aspect-ratio/duration bucketing (the multi-resolution training of Sora's technical report and
// Open-Sora's bucket sampler; SDXL §2.3 aspect buckets): clips are grouped by latent shape
// (T, H, W); each bucket's batch size is chosen so tokens per batch ≈ a target; every epoch the
// batches of all buckets are shuffled together, so buckets are drawn in proportion to their data.
// The epoch plan is a pure function of (seed, epoch), so the loader position {epoch, cursor} in
// state.json resumes mid-epoch exactly.
import { Rng } from '../util/rng.js';

export interface BucketConfig {
  /** Target spacetime tokens per batch (B·N ≈ target). */
  targetTokens: number;
  maxBatch: number;
  /** Patch size (pt, ph, pw) used to count tokens. */
  patch: readonly [number, number, number];
  /** Drop a bucket's last incomplete batch (keeps batch sizes fixed). */
  dropLast: boolean;
}

export interface Bucket {
  key: string; // "TxHxW"
  shape: readonly [number, number, number, number]; // (T, H, W, C)
  tokens: number; // N per clip
  batch: number;
  indices: number[]; // rows in this bucket
}

export interface LoaderState {
  epoch: number;
  cursor: number; // batches already taken in this epoch
}

/** Spacetime tokens of one clip: ceil(T/pt)·ceil(H/ph)·ceil(W/pw). */
export function tokenCount(shape: readonly number[], patch: readonly [number, number, number]): number {
  return Math.ceil(shape[0] / patch[0]) * Math.ceil(shape[1] / patch[1]) * Math.ceil(shape[2] / patch[2]);
}

/** Group rows by latent shape; batch = clamp(round(target / N), 1, maxBatch). */
export function planBuckets(shapes: readonly (readonly [number, number, number, number])[], cfg: BucketConfig): Bucket[] {
  const map = new Map<string, Bucket>();
  shapes.forEach((s, i) => {
    const key = `${s[0]}x${s[1]}x${s[2]}x${s[3]}`;
    let b = map.get(key);
    if (!b) {
      const tokens = tokenCount(s, cfg.patch);
      const batch = Math.max(1, Math.min(cfg.maxBatch, Math.round(cfg.targetTokens / tokens)));
      b = { key, shape: s, tokens, batch, indices: [] };
      map.set(key, b);
    }
    b.indices.push(i);
  });
  return [...map.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface PlannedBatch {
  bucket: number; // index into the bucket list
  rows: number[];
}

/** The batches of one epoch, shuffled across buckets. Pure in (buckets, seed, epoch). */
export function epochPlan(buckets: readonly Bucket[], seed: number, epoch: number, dropLast: boolean): PlannedBatch[] {
  const rng = new Rng((seed * 1000003 + epoch * 7919) >>> 0);
  const out: PlannedBatch[] = [];
  buckets.forEach((b, bi) => {
    const idx = rng.shuffle([...b.indices]);
    for (let i = 0; i < idx.length; i += b.batch) {
      const rows = idx.slice(i, i + b.batch);
      if (dropLast && rows.length < b.batch && i > 0) continue;
      out.push({ bucket: bi, rows });
    }
  });
  return rng.shuffle(out);
}

/** An endless, resumable stream of bucketed batches. */
export class BucketSampler {
  private plan: PlannedBatch[];

  constructor(
    readonly buckets: readonly Bucket[],
    private readonly seed: number,
    private readonly dropLast: boolean,
    private pos: LoaderState = { epoch: 0, cursor: 0 },
  ) {
    if (buckets.length === 0) throw new RangeError('no data to sample from');
    this.plan = epochPlan(buckets, seed, pos.epoch, dropLast);
  }

  next(): PlannedBatch {
    if (this.pos.cursor >= this.plan.length) {
      this.pos = { epoch: this.pos.epoch + 1, cursor: 0 };
      this.plan = epochPlan(this.buckets, this.seed, this.pos.epoch, this.dropLast);
    }
    return this.plan[this.pos.cursor++];
  }

  state(): LoaderState {
    return { ...this.pos };
  }
}
