// Latent-shard data for training (DESIGN.md "Latent shards"): all rows of a shard directory are
// read once (sha256-checked by src/data/shards.ts) and kept in memory as latents; batches are
// gathered per bucket (bucket.ts) or packed into token rows (pack.ts). Latents with stats
// "mean_logvar" are sampled z = μ + σ·ε per use from the trainer's Rng (Rombach et al. 2022).
import { iterateRows, readManifest, sampleLatent, type LatentRow, type LatentStats } from '../data/shards.js';
import { FileError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

export interface LatentDataset {
  dir: string;
  rows: LatentRow[];
  stats: LatentStats;
  /** Per-row sampled latent shape (T, H, W, C): C is halved for mean_logvar. */
  shapes: [number, number, number, number][];
  vaeId: string;
}

export async function loadLatents(dir: string): Promise<LatentDataset> {
  const manifest = await readManifest(dir);
  const rows: LatentRow[] = [];
  for await (const r of iterateRows(dir)) rows.push(r);
  if (rows.length === 0) throw new FileError(dir, 'the latent dataset has no rows');
  const div = manifest.stats === 'mean_logvar' ? 2 : 1;
  const shapes = rows.map((r) => [r.shape[0], r.shape[1], r.shape[2], r.shape[3] / div] as [number, number, number, number]);
  const C = shapes[0][3];
  const bad = shapes.findIndex((s) => s[3] !== C);
  if (bad >= 0) throw new FileError(dir, `row ${rows[bad].id}: ${shapes[bad][3]} latent channels, others have ${C}`);
  return { dir, rows, stats: manifest.stats, shapes, vaeId: manifest.vae.id };
}

export interface ClipBatch {
  shape: [number, number, number, number, number]; // (B, T, H, W, C)
  x0: Float32Array; // (B·T·H·W·C) clean latents × scale
  captions: string[];
  ids: string[];
}

/** Gather rows (all of one shape) into a batch; latents scaled by `scale`. */
export function gatherBatch(ds: LatentDataset, rows: readonly number[], rng: Rng, scale: number): ClipBatch {
  const [T, H, W, C] = ds.shapes[rows[0]];
  const per = T * H * W * C;
  const x0 = new Float32Array(rows.length * per);
  rows.forEach((r, i) => {
    const s = ds.shapes[r];
    if (s[0] !== T || s[1] !== H || s[2] !== W) throw new RangeError(`gatherBatch: row ${ds.rows[r].id} has shape ${s.join('x')}, batch is ${T}x${H}x${W}`);
    const z = sampleLatent(ds.rows[r], ds.stats, rng);
    for (let j = 0; j < per; j++) x0[i * per + j] = z[j] * scale;
  });
  return { shape: [rows.length, T, H, W, C], x0, captions: rows.map((r) => ds.rows[r].caption), ids: rows.map((r) => ds.rows[r].id) };
}

/** Per-channel standard deviation over the dataset means, for choosing `latentScale` = 1/std. */
export function latentStd(ds: LatentDataset): number {
  let s = 0;
  let q = 0;
  let n = 0;
  ds.rows.forEach((r, i) => {
    const C2 = r.shape[3];
    const C = ds.shapes[i][3];
    for (let p = 0; p < r.latent.length / C2; p++) {
      for (let c = 0; c < C; c++) {
        const v = r.latent[p * C2 + c];
        s += v;
        q += v * v;
        n++;
      }
    }
  });
  const mean = s / n;
  return Math.sqrt(Math.max(q / n - mean * mean, 1e-12));
}
