// The demo's pass/fail judgement: each threshold of configs/demo*.json against the measured
// value of one stage. A missing value (a metric that could not be computed) fails its check;
// a null threshold is not judged.
import type { DemoThresholds } from './config.js';
import type { Metrics } from './stages-data.js';

export interface Check {
  name: keyof DemoThresholds;
  /** `stage.metric` the value comes from. */
  metric: string;
  value: number | null;
  op: '>=' | '<=';
  threshold: number;
  ok: boolean;
}

const RULES: { name: keyof DemoThresholds; stage: string; metric: string; op: '>=' | '<=' }[] = [
  { name: 'vae_psnr_min', stage: 'vae', metric: 'heldout_psnr_db', op: '>=' },
  { name: 'dit_loss_drop_min', stage: 'dit', metric: 'loss_drop', op: '>=' },
  { name: 'dit_loss_last_max', stage: 'dit', metric: 'loss_last3_mean', op: '<=' },
  { name: 'flicker_min', stage: 'evaluate', metric: 'flicker', op: '>=' },
  { name: 'physics_events_max', stage: 'evaluate', metric: 'physics_events_per_clip', op: '<=' },
  { name: 'bench_flicker_min', stage: 'bench', metric: 'flicker', op: '>=' },
  { name: 'bench_failures_per_clip_max', stage: 'bench', metric: 'failures_per_clip', op: '<=' },
  { name: 'bench_objects_per_clip_min', stage: 'bench', metric: 'objects_per_clip', op: '>=' },
  { name: 'bench_colour_match_min', stage: 'bench', metric: 'colour_match', op: '>=' },
  { name: 'bench_main_colour_match_min', stage: 'bench', metric: 'main_colour_match', op: '>=' },
  { name: 'bench_direction_match_min', stage: 'bench', metric: 'direction_match', op: '>=' },
];

/** Judge the measured metrics (by stage name) against the thresholds that are set (not null). */
export function judge(metrics: Record<string, Metrics>, t: DemoThresholds): Check[] {
  return RULES.filter((r) => t[r.name] !== null && t[r.name] !== undefined).map((r) => {
    const v = metrics[r.stage]?.[r.metric];
    const value = typeof v === 'number' && Number.isFinite(v) ? v : null;
    const threshold = t[r.name] as number;
    const ok = value !== null && (r.op === '>=' ? value >= threshold : value <= threshold);
    return { name: r.name, metric: `${r.stage}.${r.metric}`, value, op: r.op, threshold, ok };
  });
}

export function formatCheck(c: Check): string {
  return `${c.ok ? 'pass' : 'FAIL'}  ${c.metric} = ${c.value ?? 'missing'} (${c.op} ${c.threshold})`;
}
