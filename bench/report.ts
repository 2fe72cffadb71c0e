/**
 * The HTML report (`index.html` beside the charts): summary table, the crossover verdict, every chart, the
 * scaling fits with the theory check, cells that did not run, and the run metadata.
 *
 * It must open from disk with no network: charts are inlined as the SVG Vega rendered, styles are inline, and
 * a Content-Security-Policy of `default-src 'none'` forbids any fetch even if something slipped through. Its one
 * script is the what-if panel's (what-if.ts), allowed by its SHA-256 in the policy, so no other script — an
 * injected one included — can run; the panel's data is JSON in a non-executable element. Every string from the results file (method, workload, file names, error reasons)
 * is HTML-escaped; the inlined SVG is checked to contain no script, event handler or foreign content.
 */
import { createHash } from 'node:crypto';
import type { ChartDef } from './charts/common.ts';
import { whatIfData, whatIfPanel } from './what-if.ts';
import { quadraticBreakEven } from '../oracles/index.ts';
import { crossoverAnalysis, formatPow2, formatSeconds, NOISELESS_NOTE, REFERENCE_N } from './charts/crossover-analysis.ts';
import { formatCount, formatMs, formatN, formatSci } from './format.ts';
import type { BenchRecord, OkRecord, ResultsDoc } from './results.ts';
import { metricName } from './summary.ts';
import { theoryChecks } from './theory.ts';

/**
 * What the report needs of a rendered chart. Declared here rather than importing render.ts's RenderedChart
 * (which satisfies it): render.ts calls buildReport, so the import would make the two files a cycle.
 */
export interface ReportChart {
  /** What the figure shows of its chart (the downstream report's charts are built from eval.json, not results). */
  readonly def: Pick<ChartDef, 'id' | 'title' | 'caption'>;
  readonly svg: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text → HTML text or attribute value (both quote styles escaped). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A table; every cell is text and gets escaped. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], cls = ''): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

/**
 * Throws (a qattn bug) if Vega's SVG holds anything active. Attribute values are blanked first, so escaped text
 * such as an aria-label quoting a hostile method name cannot trip the check — only real markup can.
 */
export function assertInertSvg(svg: string): void {
  const tags = svg.match(/<[^>]*>/g) ?? [];
  for (const tag of tags) {
    const bare = tag.replace(/"[^"]*"|'[^']*'/g, '""');
    if (/^<\/?\s*(script|foreignobject|iframe|object|embed|image|use|a)\b/i.test(bare) || /\son[a-z]+\s*=/i.test(bare)) {
      throw new Error(`internal: rendered SVG contains active markup: ${tag.slice(0, 80)}`);
    }
  }
}

/** Prefixes SVG ids (clip paths, gradients) so several inline SVGs in one page cannot reference each other's. */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`);
}

function summaryRows(doc: ResultsDoc): string[][] {
  const keys = [...new Set(doc.records.map((r) => JSON.stringify([r.workload, r.variant])))];
  return keys.map((key) => {
    const [workload, method] = JSON.parse(key) as [string, string];
    const mine = doc.records.filter((r) => r.workload === workload && r.variant === method);
    const ok = mine.filter((r): r is OkRecord => r.status === 'ok').sort((a, b) => a.n - b.n);
    const last = ok[ok.length - 1];
    const fit = doc.fits.find((f) => f.workload === workload && f.variant === method && f.metric === 'time');
    const prepFit = doc.fits.find((f) => f.workload === workload && f.variant === method && f.metric === 'prepareTime');
    const failed = mine.length - ok.length;
    return [
      workload, method, `${ok.length}/${mine.length}${failed ? ` (${failed} not run)` : ''}`,
      last ? formatN(last.n) : '–', last ? formatMs(last.timing.medianMs) : '–', last?.prepare ? formatMs(last.prepare.timing.medianMs) : '–',
      last ? formatSci(last.fidelity.relL2) : '–',
      last?.fidelity.massRecall == null ? '–' : last.fidelity.massRecall.toFixed(3),
      last?.fidelity.accuracy == null ? '–' : last.fidelity.accuracy.toFixed(3),
      last?.cost.oracleQueries == null ? '–' : formatCount(last.cost.oracleQueries),
      fit ? `${fit.exponent.toFixed(2)} [${fit.ci95[0].toFixed(2)}, ${fit.ci95[1].toFixed(2)}]` : '–',
      prepFit ? `${prepFit.exponent.toFixed(2)} [${prepFit.ci95[0].toFixed(2)}, ${prepFit.ci95[1].toFixed(2)}]` : '–',
    ];
  });
}

function summarySection(doc: ResultsDoc): string {
  const header = ['workload', 'method', 'cells ok', 'largest n', 'query time', 'prepare time', 'relL2', 'mass recall', 'task accuracy', 'oracle calls',
    'query-time exponent [95% CI]', 'prepare-time exponent [95% CI]'];
  return '<section id="summary"><h2>Summary</h2><p>Values at the largest n each method ran; query time is one attend call over all ' +
    `queries on a prepared KV cache, prepare time the once-per-cache work before it (medians).</p>\n${table(header, summaryRows(doc), 'num')}</section>`;
}

function crossoverSection(doc: ResultsDoc): string {
  const a = crossoverAnalysis(doc);
  if (!a.method) return '<section id="crossover-table"><h2>Crossover</h2><p>No quantum mechanism with modeled QPU time ran.</p></section>';
  const gpu = a.competitors[0];
  // Babbush et al.'s generic quadratic-speedup break-even beside the attention-specific one: t_Q the modeled
  // oracle call, t_C the GPU's time per key of its scores + top-k at REFERENCE_N (its parallelism inside).
  const tC = gpu ? gpu.time(REFERENCE_N) / REFERENCE_N : null;
  const header = ['hardware profile', ...a.competitors.map((c) => `break-even n vs ${c.name}`), `modeled time per oracle call at n = ${formatN(REFERENCE_N)}`,
    ...(tC !== null ? [`generic T* = t_Q²/t_C (Babbush et al. 2021), t_C = ${formatSeconds(tC)} per key`] : [])];
  const rows = a.profiles.map((p) => [
    p.profile, ...p.breakEven.map((n) => (n === null ? 'none ≤ 2^128' : formatPow2(n))),
    p.model ? formatSeconds(p.model.perCallAt(REFERENCE_N)) : '–',
    ...(tC !== null ? [p.model ? formatSeconds(quadraticBreakEven(p.model.perCallAt(REFERENCE_N), tC).seconds) : '–'] : []),
  ]);
  const need = a.requiredPerCallAtReference;
  const verdict = need === null ? '' : `<p>To match ${escapeHtml(a.competitors[0]?.name ?? 'the GPU')} at n = ${formatN(REFERENCE_N)}, one oracle call would have to take at most <strong>${escapeHtml(formatSeconds(need))}</strong>.</p>`;
  return `<section id="crossover-table"><h2>Crossover</h2><p>${escapeHtml(a.method)} on ${escapeHtml(a.workload ?? '')}: break-even context lengths, extrapolated (see the crossover chart for the assumptions), <strong>${escapeHtml(NOISELESS_NOTE)}</strong>.</p>${verdict}\n${table(header, rows)}</section>`;
}

export function chartSection(c: ReportChart): string {
  assertInertSvg(c.svg);
  const id = escapeHtml(c.def.id);
  const links = ['vl.json', 'svg', 'png'].map((ext) => `<a href="${id}.${ext}">${ext}</a>`).join(' · ');
  return `<figure class="chart" id="chart-${id}" data-chart="${id}">\n<h2>${escapeHtml(c.def.title)}</h2>\n` +
    `<div class="svg">${scopeSvgIds(c.svg, `c-${c.def.id.replace(/[^a-z0-9-]/gi, '')}`)}</div>\n` +
    `<figcaption>${escapeHtml(c.def.caption)} <span class="files">(${links})</span></figcaption>\n</figure>`;
}

function fitsSection(doc: ResultsDoc): string {
  const rows = doc.fits.map((f) => [f.variant, f.workload, f.mode, metricName(f.metric), f.exponent.toFixed(3),
    `[${f.ci95[0].toFixed(3)}, ${f.ci95[1].toFixed(3)}]`, f.r2 === null ? '–' : f.r2.toFixed(3), `${formatN(f.nMin)}…${formatN(f.nMax)}`, String(f.points)]);
  const theory = theoryChecks(doc.fits).map((c) => [`${c.expectation.method} ${c.expectation.metric}`, c.expected.toFixed(2),
    c.fit ? c.fit.exponent.toFixed(3) : '–', c.status === 'n/a' ? `n/a: ${c.note ?? ''}` : c.status, c.expectation.why]);
  // The n range decides the exponent (small n carries fixed overheads), so the paragraph says which lengths count.
  return `<section id="fits"><h2>Scaling fits</h2><p>metric ∝ n^exponent, least squares in log–log over n ≥ ${escapeHtml(formatN(doc.meta.config.fitMinN))} ` +
    'when at least three lengths reach it, else over every length (the n range column says which). The crossover ' +
    'chart fits oracle calls over the same range, so its fitted exponent is the oracleQueries one here; it caps ' +
    'that at ½ for extrapolation.</p>\n' +
    `${table(['method', 'workload', 'mode', 'metric', 'exponent', '95% CI', 'R²', 'n range', 'points'], rows, 'num')}\n` +
    `<h3>Theory check</h3>\n${table(['check', 'expected', 'fitted', 'result', 'why'], theory)}</section>`;
}

function failuresSection(records: readonly BenchRecord[]): string {
  const bad = records.filter((r) => r.status !== 'ok');
  if (!bad.length) return '';
  const rows = bad.map((r) => [r.workload, r.variant, formatN(r.n), r.status, r.reason ?? '']);
  return `<section id="failures"><h2>Cells that did not run (${bad.length})</h2>\n${table(['workload', 'method', 'n', 'status', 'reason'], rows)}</section>`;
}

function metaSection(doc: ResultsDoc): string {
  const m = doc.meta;
  const gib = (b: number | null): string => (b === null ? '–' : `${(b / 2 ** 30).toFixed(2)} GiB`);
  const rows: string[][] = [
    ['created', m.createdAt], ['finished', m.finishedAt ?? 'not finished'],
    ['duration', m.durationMs === null ? '–' : formatMs(m.durationMs)], ['qattn', m.qattnVersion],
    ['git commit', `${m.gitCommit ?? 'not a checkout'}${m.gitDirty ? ' (uncommitted changes)' : ''}`],
    ['node', m.node], ['platform', m.platform], ['cpu', `${m.cpu} (${m.cores} cores)`],
    ['memory', gib(m.totalMemoryBytes)], ['peak RSS', gib(m.peakRssBytes)], ['memory limit', gib(m.memoryLimitBytes)], ['seed', String(m.seed)],
    ['command', `qattn bench ${m.argv.join(' ')}`], ['resumed cells', String(m.resumedCells)],
  ];
  return `<section id="meta"><h2>Run metadata</h2>\n${table(['field', 'value'], rows)}\n` +
    `<h3>Configuration</h3><pre>${escapeHtml(JSON.stringify(m.config, null, 2))}</pre></section>`;
}

export const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222;line-height:1.45}
form.what-if label{display:inline-block;margin:0 1.4rem .6rem 0}form.what-if input{width:7rem}#wi-result{font-weight:600}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}table.num td:nth-child(n+3){text-align:right;font-variant-numeric:tabular-nums}
figure.chart{margin:1.5rem 0}figure.chart .svg svg{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.92rem;max-width:900px}.files{color:#777}pre{background:#f6f6f6;padding:.8rem;overflow:auto;font-size:.85rem}
nav a{margin-right:.8rem}`;

/** The complete, self-contained index.html for a results document and its rendered charts. */
export function buildReport(doc: ResultsDoc, charts: readonly ReportChart[]): string {
  const panel = whatIfPanel(whatIfData(doc), escapeHtml, (text) => createHash('sha256').update(text, 'utf8').digest('base64'));
  const scripts = panel ? ` script-src '${panel.scriptHash}';` : '';
  const nav = [['summary', 'Summary'], ['crossover-table', 'Crossover'], ...(panel ? [['what-if', 'What if']] : []), ...charts.map((c) => [`chart-${c.def.id}`, c.def.title]), ['fits', 'Fits'], ['meta', 'Run metadata']]
    .map(([id, t]) => `<a href="#${escapeHtml(id!)}">${escapeHtml(t!)}</a>`).join('');
  const c = doc.meta.config;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:;${scripts}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qattn benchmark report — ${escapeHtml(doc.meta.createdAt)}</title>
<style>${STYLE}</style></head><body>
<h1>qattn benchmark report</h1>
<p>${escapeHtml(`${c.mode} mode, ${c.workloads.join(', ')}; n = ${c.lengths.map(formatN).join(', ')}; ${doc.records.length} cells; run ${doc.meta.createdAt}`)}</p>
<nav>${nav}</nav>
${summarySection(doc)}
${crossoverSection(doc)}
${panel ? panel.html : ''}
${charts.map(chartSection).join('\n')}
${fitsSection(doc)}
${failuresSection(doc.records)}
${metaSection(doc)}
</body></html>
`;
}
