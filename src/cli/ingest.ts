// `spacetime ingest INPUT... --out DIR`: turn real videos into a clip dataset (src/data/ingest.ts):
// fps resampling, resolution buckets, scene-cut splitting, windowing. Bad inputs are reported
// one line each and recorded in DIR/failures.jsonl; the exit code is non-zero only when every
// input failed.
import type { CommandModule } from 'yargs';
import { FlagError } from '../util/errors.js';
import { info } from '../util/log.js';
import { INGEST_DEFAULTS, ingestVideos } from '../data/ingest.js';

interface Args {
  inputs: string[];
  out: string;
  fps?: string;
  'max-side': string;
  'max-frames': string;
  'min-frames': string;
  'cut-threshold': string;
}

function intFlag(flag: string, v: string, lo: number, hi: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(String(v).trim()) || n < lo || n > hi) throw new FlagError(flag, `${v}: must be a whole number in ${lo}..${hi}`);
  return n;
}

function numFlag(flag: string, v: string, lo: number, hi: number): number {
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isFinite(n) || n <= lo || n > hi) throw new FlagError(flag, `${v}: must be a number in (${lo}, ${hi}]`);
  return n;
}

export const ingestCommand: CommandModule<object, Args> = {
  command: 'ingest <inputs..>',
  describe: 'Ingest videos (files or folders) into a clip dataset: resample, bucket-resize, split at scene cuts',
  builder: (y) =>
    y
      .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'video files or folders (searched recursively)' })
      .option('out', { type: 'string', demandOption: true, describe: 'new dataset folder (clip-*.mp4 + clips.jsonl [+ failures.jsonl])' })
      .option('fps', { type: 'string', describe: 'output frame rate (default: each source keeps its own)' })
      .option('max-side', { type: 'string', default: String(INGEST_DEFAULTS.maxSide), describe: 'longest side of the resolution bucket (multiple of 16)' })
      .option('max-frames', { type: 'string', default: String(INGEST_DEFAULTS.maxFrames), describe: 'longest clip; longer shots are cut into windows' })
      .option('min-frames', { type: 'string', default: String(INGEST_DEFAULTS.minFrames), describe: 'drop pieces shorter than this' })
      .option('cut-threshold', { type: 'string', default: String(INGEST_DEFAULTS.cutThreshold), describe: 'scene cut when a frame difference exceeds this many times the running median' })
      .example('$0 ingest videos/ --out data/clips --fps 12 --max-side 128', 'a folder of videos at 12 fps, long side 128')
      .example('$0 ingest a.mp4 b.mov --out data/ab --max-frames 32 --min-frames 16', 'two files, clips of 16..32 frames'),
  handler: async (argv) => {
    const maxSide = intFlag('--max-side', argv['max-side'], 16, 4096);
    if (maxSide % 16) throw new FlagError('--max-side', `${maxSide}: must be a multiple of 16`);
    const maxFrames = intFlag('--max-frames', argv['max-frames'], 1, 100_000);
    const minFrames = intFlag('--min-frames', argv['min-frames'], 1, 100_000);
    if (minFrames > maxFrames) throw new FlagError('--min-frames', `${minFrames} is more than --max-frames ${maxFrames}`);
    const s = await ingestVideos({
      inputs: argv.inputs.map(String),
      out: argv.out,
      fps: argv.fps === undefined ? undefined : numFlag('--fps', argv.fps, 0, 240),
      maxSide,
      maxFrames,
      minFrames,
      cutThreshold: numFlag('--cut-threshold', argv['cut-threshold'], 1, 1000),
      onFailure: (f) => process.stderr.write(`error: ${f.path}: ${f.reason}\n`),
    });
    info(`ingested ${s.ok} of ${s.inputs} inputs into ${s.clips} clips in ${argv.out} (${s.cuts} scene cuts, ${s.dropped} short pieces dropped)${s.failed.length ? `; ${s.failed.length} failed (see ${argv.out}/failures.jsonl)` : ''}`);
  },
};
