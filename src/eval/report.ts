// The benchmark's self-contained report.html: inline CSS, inline SVG charts and base64 PNG
// filmstrips with tracked objects boxed and physics events marked — one file that opens anywhere,
// with no external assets (in the manner of VBench's per-dimension leaderboards, per clip).
import type { Frame } from '../data/video.js';
import { encodeImage } from '../data/image.js';
import type { BenchResults } from './bench.js';
import type { PhysicsAnalysis } from './physics.js';

export interface Strip {
  id: string;
  frames: Frame[];
  analysis: PhysicsAnalysis;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number | null | undefined, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');

/** CSS colours for palette names (boxes are drawn in the object's own colour). */
const CSS: Record<string, string> = { grey: '#aaa', brown: '#b5651d', black: '#666', white: '#fff' };
const css = (name: string) => CSS[name] ?? name;

/** Metrics where lower is better (deltas are coloured accordingly). */
const LOWER_BETTER = new Set(['failures_per_clip', 'warp_error']);
/** Summary metrics that live in [0, 1] and get bars. */
const UNIT = ['physics_clean_rate', 'plausibility', 'prompt_adherence', 'colour_match', 'main_colour_match', 'direction_match', 'count_match', 'event_match', 'flicker', 'motion_smoothness', 'subject_consistency', 'background_consistency'];

function barChart(summary: Record<string, number | null>, base?: Record<string, number | null>): string {
  const rows = UNIT.filter((k) => summary[k] !== null && summary[k] !== undefined);
  const W = 560;
  const rowH = 22;
  const label = 190;
  const bw = W - label - 70;
  const parts = rows.map((k, i) => {
    const v = Math.max(0, Math.min(1, summary[k] as number));
    const y = i * rowH + 4;
    const b = base?.[k];
    const ghost = typeof b === 'number' ? `<rect x="${label}" y="${y + 13}" width="${(Math.max(0, Math.min(1, b)) * bw).toFixed(1)}" height="4" fill="#999"><title>baseline ${fmt(b)}</title></rect>` : '';
    return `<text x="${label - 6}" y="${y + 12}" text-anchor="end">${k}</text><rect x="${label}" y="${y}" width="${bw}" height="12" fill="#eee"/><rect x="${label}" y="${y}" width="${(v * bw).toFixed(1)}" height="12" fill="#3b7dd8"><title>${k} ${fmt(v)}</title></rect>${ghost}<text x="${label + bw + 6}" y="${y + 11}">${fmt(v)}</text>`;
  });
  return `<svg class="chart" width="${W}" height="${rows.length * rowH + 8}" role="img" aria-label="summary metrics">${parts.join('')}</svg>`;
}

function perClipChart(r: BenchResults, key: 'failures' | 'adherence'): string {
  const vals = r.cases.map((c) => (key === 'failures' ? c.physics.failures : (c.adherence ?? 0)));
  const max = Math.max(1, ...vals);
  const bw = 26;
  const H = 120;
  const bars = vals.map((v, i) => {
    const h = (v / max) * (H - 30);
    return `<rect x="${i * bw + 4}" y="${H - 18 - h}" width="${bw - 8}" height="${h.toFixed(1)}" fill="${key === 'failures' ? '#d9534f' : '#5cb85c'}"><title>${esc(r.cases[i].id)}: ${fmt(v, 2)}</title></rect><text x="${i * bw + bw / 2}" y="${H - 4}" text-anchor="middle" font-size="9">${i + 1}</text>`;
  });
  return `<svg class="chart" width="${Math.max(200, vals.length * bw + 8)}" height="${H}" role="img" aria-label="${key} per clip">${bars.join('')}</svg>`;
}

/** Pick up to n frame indices, always keeping the frames where events happen. */
function pickFrames(T: number, events: number[], n = 8): number[] {
  const set = new Set<number>(events.filter((e) => e >= 0 && e < T).slice(0, n));
  for (let k = 0; set.size < Math.min(n, T) && k < n; k++) set.add(Math.round((k * (T - 1)) / Math.max(1, n - 1)));
  return [...set].sort((a, b) => a - b).slice(0, n);
}

async function filmstrip(s: Strip): Promise<string> {
  const { frames, analysis } = s;
  const { width: W, height: H } = frames[0];
  const scale = Math.max(1, Math.round(96 / H));
  const gap = 4;
  const evs = analysis.result.events;
  const picks = pickFrames(frames.length, evs.map((e) => e.frame));
  const sw = picks.length * (W * scale + gap) - gap;
  const sh = H * scale;
  const data = new Uint8Array(sw * sh * 3).fill(255);
  picks.forEach((t, k) => {
    const f = frames[t];
    const ox = k * (W * scale + gap);
    for (let y = 0; y < sh; y++)
      for (let x = 0; x < W * scale; x++) {
        const src = (Math.floor(y / scale) * W + Math.floor(x / scale)) * 3;
        data.set(f.data.subarray(src, src + 3), (y * sw + ox + x) * 3);
      }
  });
  const png = (await encodeImage({ width: sw, height: sh, data }, 'png')).toString('base64');
  const marks: string[] = [];
  const colorOf = new Map(analysis.result.objects.map((o) => [o.id, o.color]));
  picks.forEach((t, k) => {
    const ox = k * (W * scale + gap);
    for (const tr of analysis.tracks) {
      const p = tr.points.find((q) => q.t === t);
      if (!p) continue;
      const d = p.det;
      marks.push(`<rect x="${ox + d.x0 * scale - 1}" y="${d.y0 * scale - 1}" width="${(d.x1 - d.x0 + 1) * scale + 2}" height="${(d.y1 - d.y0 + 1) * scale + 2}" fill="none" stroke="${css(colorOf.get(tr.id) ?? 'white')}" stroke-width="1.5"/><text x="${ox + d.x0 * scale}" y="${Math.max(9, d.y0 * scale - 3)}" class="id">${tr.id}</text>`);
    }
    const here = evs.filter((e) => e.frame === t);
    if (here.length) {
      marks.push(`<rect x="${ox + 1}" y="1" width="${W * scale - 2}" height="${sh - 2}" fill="none" stroke="#e00" stroke-width="2"/>`);
      here.forEach((e, j) => marks.push(`<text x="${ox + 3}" y="${sh - 5 - 11 * j}" class="ev">${esc(e.type)}</text>`));
    }
    marks.push(`<text x="${ox + W * scale - 3}" y="11" text-anchor="end" class="t">${t}</text>`);
  });
  return `<svg width="${sw}" height="${sh}" class="strip"><image width="${sw}" height="${sh}" href="data:image/png;base64,${png}" style="image-rendering:pixelated"/>${marks.join('')}</svg>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}
.chart text{font-size:11px}.strip .id{font-size:10px;fill:#fff;paint-order:stroke;stroke:#000;stroke-width:2px}
.strip .ev{font-size:10px;fill:#fff;paint-order:stroke;stroke:#c00;stroke-width:3px}.strip .t{font-size:9px;fill:#ff0}
.up{color:#18a030}.down{color:#c02020}.clip{margin:14px 0;padding:8px;border:1px solid #eee}.ok{color:#18a030}.bad{color:#c02020}code{font-size:12px}`;

/** Render the report (all assets inline). */
export async function renderReport(r: BenchResults, strips: readonly Strip[], base?: BenchResults): Promise<string> {
  const delta = r.baseline?.delta ?? {};
  const sumRows = Object.entries(r.summary).map(([k, v]) => {
    const d = delta[k];
    const better = typeof d === 'number' && d !== 0 ? (LOWER_BETTER.has(k) ? d < 0 : d > 0) : null;
    const dcell = r.baseline ? `<td class="${better === null ? '' : better ? 'up' : 'down'}">${typeof d === 'number' ? (d > 0 ? '+' : '') + fmt(d) : '–'}</td>` : '';
    const bcell = r.baseline ? `<td>${fmt(base?.summary[k] ?? null)}</td>` : '';
    return `<tr><td class="l">${k}</td><td>${fmt(v)}</td>${bcell}${dcell}</tr>`;
  });
  const mark = (b: boolean | null) => (b === null ? '–' : b ? '<span class="ok">✓</span>' : '<span class="bad">✗</span>');
  const caseRows = r.cases.map((c, i) => `<tr><td>${i + 1}</td><td class="l">${esc(c.id)}</td><td>${c.physics.failures}</td><td>${fmt(c.physics.scores.plausibility as number, 2)}</td><td>${mark(c.checks.colour)}</td><td>${mark(c.checks.main_colour)}</td><td>${mark(c.checks.direction)}</td><td>${mark(c.checks.objects)}</td><td>${mark(c.checks.event)}</td><td>${fmt(c.temporal?.flicker as number | null, 3)}</td><td class="l">${esc(c.motions.join(', '))}</td></tr>`);
  const clips: string[] = [];
  for (const s of strips) {
    const c = r.cases.find((x) => x.id === s.id)!;
    const evs = c.physics.events.map((e) => `<li>frame ${e.frame}: <b>${esc(e.type)}</b> (object ${e.object}, confidence ${fmt(e.confidence, 2)}) — ${esc(e.detail)}</li>`).join('');
    clips.push(`<div class="clip"><b>${esc(c.id)}</b> — <i>${esc(c.prompt)}</i><br><code>${esc(c.video)}</code><br>${await filmstrip(s)}<ul>${evs || '<li>no physics failures detected</li>'}</ul></div>`);
  }
  const baseHead = r.baseline ? `<th>baseline</th><th>Δ</th>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>spacetime bench: ${esc(r.suite)}</title><style>${STYLE}</style></head><body>
<h1>spacetime bench — ${esc(r.suite)}</h1><p>${r.cases.length} cases, ${esc(r.created)}${r.baseline ? `, compared with <code>${esc(r.baseline.file)}</code>` : ''}</p>
<h2 id="summary">Summary</h2><table><tr><th class="l">metric</th><th>value</th>${baseHead}</tr>${sumRows.join('')}</table>
<h2 id="charts">Metrics</h2>${barChart(r.summary, base?.summary)}
<h3>Physics failures per clip</h3>${perClipChart(r, 'failures')}<h3>Prompt adherence per clip</h3>${perClipChart(r, 'adherence')}
<h2 id="cases">Cases</h2><table><tr><th>#</th><th class="l">case</th><th>failures</th><th>plausibility</th><th>colour</th><th>main colour</th><th>direction</th><th>count</th><th>event</th><th>flicker</th><th class="l">motions seen</th></tr>${caseRows.join('')}</table>
<h2 id="clips">Clips</h2>${clips.join('\n')}
</body></html>
`;
}
