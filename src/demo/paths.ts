// Where `spacetime demo` puts each stage's output inside its --out directory, and the refusal
// to write into a non-empty directory (or, with --force, the removal of a previous demo's
// entries only: hidden files are left alone, anything else refuses).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FlagError } from '../util/errors.js';
import { makeDirs } from '../util/atomic.js';

export interface DemoPaths {
  out: string;
  /** Synth training clips (clip-*.mp4 + clips.jsonl). */
  data: string;
  /** Held-out synth clips for the VAE's PSNR. */
  heldout: string;
  /** VAE run directory (ckpt-<step> folders + latest). */
  vae: string;
  /** Latent shards (manifest.json + shard-*.arrow). */
  shards: string;
  /** The DiT training config the demo resolved (log.previewVae filled in). */
  ditConfig: string;
  /** DiT run directory: checkpoints and TensorBoard event files. */
  dit: string;
  /** Exported ONNX model directory. */
  model: string;
  /** Generated clips (t2v, i2v, extension), the i2v first frame, and their eval JSON. */
  clips: string;
  /** Bench suite results: videos, results.json, report.html. */
  bench: string;
  /** Timings, metrics, thresholds and checks. */
  json: string;
}

const ENTRIES = ['data', 'data-heldout', 'vae', 'shards', 'dit.config.json', 'dit', 'model', 'clips', 'bench', 'demo.json'] as const;

export function demoPaths(out: string): DemoPaths {
  const o = path.resolve(out);
  const j = (name: (typeof ENTRIES)[number]) => path.join(o, name);
  return {
    out: o,
    data: j('data'),
    heldout: j('data-heldout'),
    vae: j('vae'),
    shards: j('shards'),
    ditConfig: j('dit.config.json'),
    dit: j('dit'),
    model: j('model'),
    clips: j('clips'),
    bench: j('bench'),
    json: j('demo.json'),
  };
}

/**
 * Make sure `out` can take a fresh demo: absent or empty, or (force) holding only what a demo
 * wrote, whose entries are removed. Anything else in a non-empty directory refuses with --out.
 */
export async function prepareOut(out: string, force: boolean): Promise<DemoPaths> {
  const p = demoPaths(out);
  const st = await fs.stat(p.out).catch(() => null);
  if (st && !st.isDirectory()) throw new FlagError('out', `${out} exists and is not a directory`);
  const names = st ? await fs.readdir(p.out) : [];
  if (names.length > 0) {
    if (!force) throw new FlagError('out', `${out} is not empty (choose a new directory, or pass --force to replace a previous demo there)`);
    const ours = (n: string) => (ENTRIES as readonly string[]).includes(n.replace(/\.tmp$/, ''));
    const foreign = names.filter((n) => !ours(n) && !n.startsWith('.'));
    if (foreign.length) throw new FlagError('out', `${out} holds files the demo did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); --force only replaces a previous demo`);
    for (const n of names.filter(ours)) await fs.rm(path.join(p.out, n), { recursive: true, force: true });
  }
  await makeDirs(p.out);
  return p;
}
