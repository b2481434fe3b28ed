// Scoring physics-failure detection against planted ground truth (synthetic clips' `physics.
// violations`): a planted failure is found when an event of the same type lies within a frame
// tolerance (clip-level types such as `reversal` match at any frame); a clean clip is a false
// alarm when it has any event. The confusion table counts, per planted type, which event types
// were reported (standard detection-evaluation bookkeeping, cf. the CLEAR MOT protocol's
// frame-tolerant matching).
import type { PhysicsTruth } from '../data/clips.js';
import type { PhysicsEvent } from './events.js';

/** Types judged for the whole clip rather than a frame. */
export const CLIP_LEVEL_TYPES = new Set(['reversal', 'direction_mismatch']);

export interface ClipScore {
  /** Planted type, or 'clean'. */
  planted: string;
  /** The planted failure was found (always false for clean clips). */
  found: boolean;
  /** A clean clip with at least one event. */
  falseAlarm: boolean;
  /** Event types reported (unique, sorted). */
  detected: string[];
}

/** Score one clip's events against its ground truth. */
export function scoreDetections(truth: Pick<PhysicsTruth, 'violations'>, events: readonly PhysicsEvent[], tolerance = 2): ClipScore {
  const detected = [...new Set(events.map((e) => e.type))].sort();
  const v = truth.violations[0];
  if (!v) return { planted: 'clean', found: false, falseAlarm: events.length > 0, detected };
  const found = events.some((e) => e.type === v.type && (CLIP_LEVEL_TYPES.has(v.type) || Math.abs(e.frame - v.frame) <= tolerance));
  return { planted: v.type, found, falseAlarm: false, detected };
}

export interface DetectionSummary {
  /** planted type (or 'clean') → detected type (or 'none') → clips. */
  confusion: Record<string, Record<string, number>>;
  /** planted type → { clips, found }. */
  perType: Record<string, { clips: number; found: number; recall: number }>;
  recall: number;
  falseAlarmRate: number;
  clips: number;
}

/** Aggregate clip scores into recall, false-alarm rate and the confusion table. */
export function summarizeDetections(scores: readonly ClipScore[]): DetectionSummary {
  const confusion: DetectionSummary['confusion'] = {};
  const perType: DetectionSummary['perType'] = {};
  let planted = 0;
  let found = 0;
  let clean = 0;
  let alarms = 0;
  for (const s of scores) {
    const row = (confusion[s.planted] ??= {});
    for (const d of s.detected.length ? s.detected : ['none']) row[d] = (row[d] ?? 0) + 1;
    if (s.planted === 'clean') {
      clean++;
      if (s.falseAlarm) alarms++;
      continue;
    }
    const p = (perType[s.planted] ??= { clips: 0, found: 0, recall: 0 });
    p.clips++;
    planted++;
    if (s.found) {
      p.found++;
      found++;
    }
  }
  for (const p of Object.values(perType)) p.recall = p.found / p.clips;
  return { confusion, perType, recall: planted ? found / planted : 1, falseAlarmRate: clean ? alarms / clean : 0, clips: scores.length };
}

/** The confusion table as aligned text (rows: planted, columns: detected). */
export function formatConfusion(sum: DetectionSummary): string {
  const rows = Object.keys(sum.confusion).sort((a, b) => (a === 'clean' ? 1 : b === 'clean' ? -1 : a.localeCompare(b)));
  const cols = [...new Set(rows.flatMap((r) => Object.keys(sum.confusion[r])))].sort((a, b) => (a === 'none' ? 1 : b === 'none' ? -1 : a.localeCompare(b)));
  const w = Math.max(8, ...rows.map((r) => r.length));
  const cw = cols.map((c) => Math.max(4, c.length));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w) : c.padStart(cw[i - 1]))).join('  ');
  const out = [line(['planted\\seen', ...cols])];
  for (const r of rows) {
    const n = r === 'clean' ? '' : ` ${sum.perType[r]?.found ?? 0}/${sum.perType[r]?.clips ?? 0}`;
    out.push(line([r, ...cols.map((c) => String(sum.confusion[r][c] ?? 0))]) + (n ? `   found${n}` : ''));
  }
  out.push(`recall ${(100 * sum.recall).toFixed(1)}%  false alarms ${(100 * sum.falseAlarmRate).toFixed(1)}%  (${sum.clips} clips)`);
  return out.join('\n');
}
