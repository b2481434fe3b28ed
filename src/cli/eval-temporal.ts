// `spacetime eval temporal VIDEO...`: VBench-style temporal metrics plus Lai et al. warp error.
// Prints a table, writes the Eval JSON (DESIGN.md) atomically; a bad video prints
// `error: <path>: <reason>`, the rest are still scored, and the exit status is non-zero.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { VIDEO_EXTS } from '../data/video.js';
import { featuresFromFlag } from '../eval/features.js';
import { flowFromFlag } from '../eval/flow-source.js';
import { evaluateTemporal, type TemporalReport } from '../eval/temporal-video.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FileError, FlagError, SpacetimeError } from '../util/errors.js';

interface Args {
  videos: string[];
  json?: string;
  flow: string;
  'flow-range': string;
  features: string;
  'subject-features'?: string;
  'background-features'?: string;
  threads?: number;
  'max-side'?: number;
}

/** Expand directories into their video files (sorted); keep files as given. */
export async function expandVideos(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of inputs) {
    const st = await fs.stat(p).catch(() => null);
    if (st?.isDirectory()) {
      const names = (await fs.readdir(p)).filter((n) => (VIDEO_EXTS as readonly string[]).includes(path.extname(n).toLowerCase())).sort();
      if (names.length === 0) throw new FileError(p, 'directory holds no videos');
      out.push(...names.map((n) => path.join(p, n)));
    } else out.push(p);
  }
  return out;
}

const fmt = (x: number | boolean | null, digits = 4) => (x === null ? '-' : typeof x === 'boolean' ? (x ? 'yes' : 'no') : x.toFixed(digits));

export function formatTable(r: TemporalReport): string {
  const head = ['video', 'frames', 'flicker', 'smooth', 'dynamic', 'warp_err', 'subject', 'backgr'];
  const rows = r.videos.map((v) => [v.path, String(v.frames), fmt(v.flicker), fmt(v.motion_smoothness), fmt(v.dynamic_degree), fmt(v.warp_error, 5), fmt(v.subject_consistency), fmt(v.background_consistency)]);
  const m = r.mean;
  rows.push([`mean (${r.videos.length})`, '', fmt(m.flicker), fmt(m.motion_smoothness), fmt(m.dynamic_degree, 2), fmt(m.warp_error, 5), fmt(m.subject_consistency), fmt(m.background_consistency)]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export const evalTemporalCommand: CommandModule<object, Args> = {
  command: 'temporal <videos..>',
  describe: 'Temporal consistency: VBench flicker, motion smoothness, dynamic degree, subject/background consistency; Lai et al. warp error',
  builder: (y) =>
    y
      .positional('videos', { type: 'string', array: true, demandOption: true, describe: 'video files or directories of videos' })
      .option('json', { type: 'string', describe: 'write the results as JSON here (atomic)' })
      .option('flow', { type: 'string', default: 'builtin', describe: "optical flow: 'builtin' (Farnebäck) or 'onnx:FILE' (e.g. RAFT: two (1,3,H,W) inputs → (1,2,H,W))" })
      .option('flow-range', { type: 'string', default: '0-255', choices: ['0-255', '-1-1'], describe: 'input value range of an ONNX flow model' })
      .option('features', { type: 'string', default: 'builtin', describe: "frame features for both consistencies: 'builtin' or 'onnx:FILE[#preset=dino|clip,size=N,crop=0|1,kernel=bilinear|bicubic,mean=a/b/c,std=a/b/c,layout=nchw|nhwc]'" })
      .option('subject-features', { type: 'string', describe: 'override --features for subject consistency (default preset dino)' })
      .option('background-features', { type: 'string', describe: 'override --features for background consistency (default preset clip)' })
      .option('max-side', { type: 'number', describe: 'score videos decoded at most this long a side (faster on large videos; VBench scores at full size)' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores)' })
      .example('$0 eval temporal out/*.mp4 --json temporal.json', 'score videos with the built-in flow and features')
      .example('$0 eval temporal clips/ --flow onnx:raft.onnx --subject-features onnx:dino.onnx --background-features onnx:clip.onnx', 'VBench-like learned models'),
  handler: async (argv) => {
    if (!argv.videos?.length) throw new SpacetimeError('name at least one video file or directory');
    const files = await expandVideos(argv.videos);
    const flow = await flowFromFlag(argv.flow, { range: argv['flow-range'] as '0-255' | '-1-1', threads: argv.threads });
    const subject = await featuresFromFlag(argv['subject-features'] ?? argv.features, 'subject', argv.threads);
    const background = await featuresFromFlag(argv['background-features'] ?? argv.features, 'background', argv.threads);
    const maxSide = argv['max-side'];
    if (maxSide !== undefined && !(Number.isInteger(maxSide) && maxSide >= 16)) throw new FlagError('max-side', `expected an integer ≥ 16, got ${maxSide}`);
    const report = await evaluateTemporal(files, { flow, subject, background, maxSide }, (p, reason) => process.stderr.write(`error: ${p}: ${reason}\n`));
    if (report.videos.length) process.stdout.write(formatTable(report));
    if (argv.json) await writeFileAtomic(argv.json, JSON.stringify(report, null, 1) + '\n');
    if (report.errors.length) throw new SpacetimeError(`${report.errors.length} of ${files.length} video(s) could not be scored`);
  },
};
