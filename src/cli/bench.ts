// `spacetime bench --suite FILE --out DIR (--model DIR | --videos DIR --prompts FILE) [--baseline FILE]`:
// generate (or look up) one video per suite case, score physics, prompt adherence and temporal
// consistency, write OUT/results.json and a self-contained OUT/report.html. Thin: parse, call.
import type { CommandModule } from 'yargs';
import { loadSuite, runBench, videosGenerator, type Generate } from '../eval/bench.js';
import { modelBenchGenerator } from '../infer/bench-generator.js';
import { FlagError } from '../util/errors.js';
import { info } from '../util/log.js';
import { checkSamplingFlags } from './sampling-flags.js';

interface Args {
  suite: string;
  out: string;
  model?: string;
  videos?: string;
  prompts?: string;
  baseline?: string;
  temporal: boolean;
  cfg?: number;
  steps?: number;
  'upsample-prompt'?: string;
  vocabulary?: string;
}

export const benchCommand: CommandModule<object, Args> = {
  command: 'bench',
  describe: 'Benchmark: generate (or take) a video per suite case, score physics / prompt adherence / temporal metrics, write results.json + report.html',
  builder: (y) =>
    y
      .option('suite', { type: 'string', demandOption: true, describe: 'suite JSON (see configs/bench/default.json)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory for results.json and report.html' })
      .option('model', { type: 'string', describe: 'exported model directory to generate each case with' })
      .option('videos', { type: 'string', describe: 'directory of already generated videos (with --prompts)' })
      .option('prompts', { type: 'string', describe: 'JSON mapping case id → video file (relative to --videos)' })
      .option('baseline', { type: 'string', describe: 'an earlier results.json: the report shows deltas' })
      .option('temporal', { type: 'boolean', default: true, describe: 'also run the temporal metrics (--no-temporal to skip)' })
      .option('cfg', { type: 'number', describe: "with --model: guidance scale for every case (default: the model's)" })
      .option('steps', { type: 'number', describe: "with --model: sampling steps for every case (default: the model's)" })
      .option('upsample-prompt', { type: 'string', describe: 'with --model: expand each prompt first (builtin | openai:URL[#model]); cases are judged against their own prompts' })
      .option('vocabulary', { type: 'string', describe: 'caption vocabulary for the builtin upsampler (clip dataset or shard dir)' })
      .example('$0 bench --suite configs/bench/default.json --videos gen/ --prompts gen/prompts.json --out bench/', 'score videos made elsewhere')
      .example('$0 bench --suite configs/bench/default.json --model export/ --out bench/ --baseline old/results.json', 'generate, score, compare')
      .example('$0 bench --suite configs/bench/validation.json --model export/ --out sweep/cfg6 --cfg 6 --no-temporal', 'try another guidance scale'),
  handler: async (argv) => {
    if (argv.model && (argv.videos || argv.prompts)) throw new FlagError('--model', 'use either --model or --videos with --prompts, not both');
    if (!argv.model && !(argv.videos && argv.prompts)) throw new FlagError(argv.videos ? '--prompts' : '--videos', 'give --model DIR, or --videos DIR together with --prompts FILE');
    checkSamplingFlags(argv);
    if (!argv.model && (argv.cfg !== undefined || argv.steps !== undefined)) throw new FlagError(argv.cfg !== undefined ? '--cfg' : '--steps', 'only applies with --model (videos made elsewhere were already sampled)');
    if (!argv.model && argv['upsample-prompt'] !== undefined) throw new FlagError('--upsample-prompt', 'only applies with --model (videos made elsewhere were already generated)');
    const suite = await loadSuite(argv.suite);
    let generate: Generate;
    let close = async () => {};
    if (argv.model) {
      const g = await modelBenchGenerator(argv.model, argv.out, { cfg: argv.cfg, steps: argv.steps, upsample: argv['upsample-prompt'], vocabulary: argv.vocabulary });
      generate = g;
      close = g.close;
    } else generate = await videosGenerator(argv.videos!, argv.prompts!);
    let r: Awaited<ReturnType<typeof runBench>>;
    try {
      r = await runBench({ suite, out: argv.out, generate, baseline: argv.baseline, temporal: argv.temporal, generation: { cfg: argv.cfg, steps: argv.steps, upsample: argv['upsample-prompt'] } });
    } finally {
      await close();
    }
    const s = r.summary;
    const f = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(3) : '-');
    process.stdout.write(`${r.cases.length} cases: clean ${f(s.physics_clean_rate)}, failures/clip ${f(s.failures_per_clip)}, adherence ${f(s.prompt_adherence)}, flicker ${f(s.flicker)}\n`);
    info(`wrote ${argv.out}/results.json and ${argv.out}/report.html`);
  },
};
