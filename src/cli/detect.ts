// `spacetime detect FILE`: is the invisible spacetime watermark present?
import type { CommandModule } from 'yargs';
import { readVideo } from '../data/video.js';
import { detectWatermark, loadWatermarkKey, WATERMARK_THRESHOLD } from '../infer/watermark.js';

export const detectCommand: CommandModule<object, { file: string; key?: string; threshold: number; json?: boolean }> = {
  command: 'detect <file>',
  describe: 'Report whether a video carries the invisible watermark (robust to re-encoding)',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      .option('key', { type: 'string', describe: 'watermark key file (default: the key in your spacetime config dir)' })
      .option('threshold', { type: 'number', default: WATERMARK_THRESHOLD, describe: 'z-score above which the mark is reported present' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 detect clip.mp4', 'prints "clip.mp4: watermark present (z=12.30, threshold 4)"; exit 0 when present, 4 when absent'),
  handler: async (argv) => {
    const key = await loadWatermarkKey(argv.key, argv.key === undefined);
    const { frames } = await readVideo(argv.file);
    const r = detectWatermark(frames, key, argv.threshold);
    if (argv.json) process.stdout.write(JSON.stringify({ path: argv.file, ...r }) + '\n');
    else process.stdout.write(`${argv.file}: watermark ${r.detected ? 'present' : 'absent'} (z=${r.z.toFixed(2)}, threshold ${r.threshold})\n`);
    if (!r.detected) process.exitCode = 4;
  },
};
