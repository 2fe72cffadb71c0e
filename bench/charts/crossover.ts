/**
 * The crossover chart: at what context length, and at what QPU speed, would Grover top-k beat a classical
 * scan? Top: seconds per query against n — modeled QPU time per hardware profile (oracles/qpu-time.ts),
 * classical time measured here, and the cited H200 figures — with each profile's break-even n against the
 * H200 marked. Bottom: the oracle-call latency a QPU would need to match a classical top-k against the latency
 * each profile models; a profile breaks even where its line drops below a "needed" line.
 */
import type { ResultsDoc } from '../results.ts';
import { asSpec, bottomLegend, findFit, nEncoding, runShape, wrapParts, type ChartDef, type ChartSpec } from './common.ts';
import { crossoverAnalysis, formatPow2, formatSeconds, NOISELESS_LINES, REFERENCE_N, type CrossoverAnalysis } from './crossover-analysis.ts';
import { logGrid, MAX_LOG2_N } from './crossover-model.ts';
import { GPU_REFERENCE_DIM, GPU_REFERENCE_SOURCE } from './gpu-reference.ts';

export interface CrossoverRow {
  readonly panel: 'time' | 'latency';
  readonly series: string;
  /** modeled/measured/reference: data points; extrapolated/curve: drawn lines; break-even/mark: annotations. */
  readonly kind: 'modeled' | 'measured' | 'reference' | 'extrapolated' | 'curve' | 'break-even' | 'mark';
  readonly n: number;
  readonly seconds: number;
  readonly label: string | null;
}

export const qpuSeries = (profile: string): string => `QPU ${profile}`;
export const neededSeries = (competitor: string): string => `needed vs ${competitor}`;

const PROFILE_COLORS: Readonly<Record<string, string>> = {
  superconducting: '#4c78a8', 'trapped-ion': '#b279a2', 'neutral-atom': '#72b7b2', 'fault-tolerant': '#54a24b',
};
const OTHER_PROFILE_COLORS = ['#9d755d', '#eeca3b', '#ff9da6', '#79706e'];

/** x from the smallest measured n to past the last break-even with the H200 (at least 2^24, the GPU data). */
function domain(a: CrossoverAnalysis): [number, number] {
  const ns = [...a.competitors.flatMap((c) => c.points.map((p) => p.n)), ...a.profiles.flatMap((p) => p.points.map((q) => q.n))];
  const even = a.profiles.map((p) => p.breakEven[0]).filter((n): n is number => n !== null && n !== undefined);
  const hi = Math.max(2 ** 24, ...ns, ...even.map((n) => n * 4));
  return [Math.min(...ns), Math.min(2 ** MAX_LOG2_N, 2 ** Math.ceil(Math.log2(hi)))];
}

type RowOf = (series: string, kind: CrossoverRow['kind'], n: number, seconds: number, label?: string | null) => CrossoverRow;
const rowOf = (panel: CrossoverRow['panel']): RowOf => (series, kind, n, seconds, label = null) => ({ panel, series, kind, n, seconds, label });

function timeRows(a: CrossoverAnalysis, grid: readonly number[]): CrossoverRow[] {
  const row = rowOf('time');
  const rows: CrossoverRow[] = [];
  for (const c of a.competitors) {
    for (const p of c.points) rows.push(row(c.name, c.source === 'measured' ? 'measured' : 'reference', p.n, p.y));
    for (const n of grid) rows.push(row(c.name, 'extrapolated', n, c.time(n)));
  }
  for (const p of a.profiles) {
    for (const q of p.points) rows.push(row(qpuSeries(p.profile), 'modeled', q.n, q.seconds));
    if (!p.model) continue;
    for (const n of grid) rows.push(row(qpuSeries(p.profile), 'extrapolated', n, p.model.timeAt(n)));
    const n0 = p.breakEven[0];
    if (n0 != null) rows.push(row(qpuSeries(p.profile), 'break-even', n0, p.model.timeAt(n0), `${p.profile}: n ≈ ${formatPow2(n0)}`));
  }
  return rows;
}

function latencyRows(a: CrossoverAnalysis, grid: readonly number[]): CrossoverRow[] {
  const model = a.profiles.find((p) => p.model)?.model;
  if (!model) return [];
  const row = rowOf('latency');
  const rows: CrossoverRow[] = [];
  for (const c of a.competitors.filter((c) => c.task === 'topk')) {
    for (const n of grid) rows.push(row(neededSeries(c.name), 'curve', n, c.time(n) / model.callsAt(n)));
  }
  for (const p of a.profiles) {
    if (!p.model) continue;
    for (const n of grid) rows.push(row(qpuSeries(p.profile), 'curve', n, p.model.perCallAt(n)));
    const n0 = p.breakEven[0];
    if (n0 != null) rows.push(row(qpuSeries(p.profile), 'break-even', n0, p.model.perCallAt(n0), null));
  }
  const need = a.requiredPerCallAtReference;
  const gpu = a.competitors[0];
  if (need !== null && gpu) rows.push(row(neededSeries(gpu.name), 'mark', REFERENCE_N, need, `n = 2^20: ≤ ${formatSeconds(need)} per call`));
  return rows;
}

export function crossoverRows(a: CrossoverAnalysis): CrossoverRow[] {
  const [lo, hi] = domain(a);
  const grid = logGrid(lo, hi);
  return [...timeRows(a, grid), ...latencyRows(a, grid)];
}

/**
 * Series → colour, line dash and point shape. Colours encode the hardware, not the mechanism (profiles by
 * hardware, GPU reds, CPU greys, "needed" lines dark), so this chart does not use the mechanism palette.
 * Exact attention is dash-dotted with squares and top-k dashed with circles: the H200 top-32 and exact-decode
 * lines lie within a small factor of each other, and red beside orange alone did not tell them apart.
 */
export function seriesStyles(rows: readonly CrossoverRow[], a: CrossoverAnalysis): { domain: string[]; color: string[]; exact: string[]; shape: string[] } {
  const domain = [...new Set(rows.map((r) => r.series))];
  const exact = new Set(a.competitors.filter((c) => c.task === 'exact').map((c) => c.name));
  let other = 0;
  const color = domain.map((s) => {
    const profile = /^QPU (.*)$/.exec(s)?.[1];
    if (profile !== undefined) return PROFILE_COLORS[profile] ?? OTHER_PROFILE_COLORS[other++ % OTHER_PROFILE_COLORS.length]!;
    if (s.startsWith('needed')) return s.includes('H200') ? '#9e1b24' : '#333333';
    if (s.includes('H200')) return s.includes('top-') ? '#e45756' : '#f58518';
    return s.includes('topk') ? '#7f7f7f' : '#bab0ac';
  });
  return { domain, color, exact: domain.filter((s) => exact.has(s)), shape: domain.map((s) => (exact.has(s) ? 'square' : 'circle')) };
}

/** Extrapolated lines: exact attention dash-dotted, everything else (top-k, QPU profiles) dashed. */
export const EXTRAPOLATED_DASHES = [{ exact: false, dash: [5, 4] }, { exact: true, dash: [9, 3, 2, 3] }] as const;

/** Classical lines never further apart than this on the time panel are named in the subtitle as nearly coinciding. */
export const CLOSE_PX = 10;

/**
 * "H200 top-32 (ref.) and H200 exact decode (ref.) within 3.1×" for each pair of competitors whose time lines stay
 * within CLOSE_PX of each other at every n of the chart. Pixels, not a fixed ratio: the time axis spans ~25
 * decades, so a 3× gap is a few pixels and reads as one line.
 */
export function closeCompetitors(a: CrossoverAnalysis, rows: readonly CrossoverRow[]): string[] {
  const grid = [...new Set(rows.filter((r) => r.kind === 'extrapolated').map((r) => r.n))];
  const ys = rows.filter((r) => r.panel === 'time' && r.seconds > 0).map((r) => Math.log10(r.seconds));
  if (!grid.length || !ys.length) return [];
  const pxPerDecade = PANEL_HEIGHT / Math.max(1, Math.ceil(Math.max(...ys)) - Math.floor(Math.min(...ys)));
  const out: string[] = [];
  a.competitors.forEach((c, i) => a.competitors.slice(i + 1).forEach((d) => {
    const ratio = Math.max(...grid.map((n) => Math.max(c.time(n) / d.time(n), d.time(n) / c.time(n))));
    if (Math.log10(ratio) * pxPerDecade <= CLOSE_PX) out.push(`${c.name} and ${d.name} within ${ratio.toFixed(1)}×`);
  }));
  return out;
}

/**
 * The oracle-call exponent and where it comes from, as subtitle parts: "…∝ n^0.50", "(fit 0.56 over n = 2^12…2^16,
 * as in the fits table; capped at ½)". The fit uses the n range of the fits table's oracleQueries fit
 * (crossover-model.ts) so both show one number; the range is printed because a fit over all measured n is
 * steeper (BBHT overheads at small n) and would read as a second, unexplained exponent.
 */
export function alphaParts(doc: ResultsDoc, a: CrossoverAnalysis): string[] {
  const m = a.profiles.find((p) => p.model)?.model;
  const head = 'dashed: extrapolated — classical ∝ n, oracle calls ∝ n^';
  if (!m) return [`${head}?`];
  const inTable = a.method !== null && a.workload !== null && findFit(doc.fits, a.method, a.workload, 'oracleQueries') !== undefined;
  const notes = [
    `fit ${m.fittedAlpha.toFixed(2)} over n = ${formatPow2(m.fitRange[0])}…${formatPow2(m.fitRange[1])}${inTable ? ', as in the fits table' : ''}`,
    ...(m.alpha === m.fittedAlpha ? [] : ['capped at ½, the √(kn) theory']),
  ];
  return [`${head}${m.alpha.toFixed(2)}`, `(${notes.join('; ')})`];
}

export function crossoverSubtitle(doc: ResultsDoc, a: CrossoverAnalysis): string[] {
  const close = closeCompetitors(a, crossoverRows(a));
  // One part per pair, so two or more close pairs wrap instead of running past the chart's width.
  const closeLines = wrapParts(['dash-dot and squares: exact attention', ...close.map((c, i) => (i === 0 ? `nearly coinciding: ${c}` : c))]);
  if (!a.method) {
    return ['no quantum records with modeled QPU time in this run: only the classical side is drawn',
      `(${runShape(doc)})`, 'run e.g. qattn bench --methods grover-topk,topk-exact,exact', ...closeLines, `GPU: ${GPU_REFERENCE_SOURCE}`];
  }
  const evens = a.profiles.map((p) => `${p.profile} ${p.breakEven[0] == null ? `none ≤ 2^${MAX_LOG2_N}` : formatPow2(p.breakEven[0])}`);
  const per = a.profiles.flatMap((p) => (p.model ? [`${p.profile} ${formatSeconds(p.model.perCallAt(REFERENCE_N))}`] : []));
  const need = a.requiredPerCallAtReference;
  return [
    `${a.method} on ${a.workload}, ${runShape(doc)}; per query`,
    ...wrapParts(alphaParts(doc, a), 88, ' '),
    ...closeLines,
    ...wrapParts([`break-even n with ${a.competitors[0]?.name ?? 'the GPU'}: ${evens[0] ?? ''}`, ...evens.slice(1)]),
    ...NOISELESS_LINES,
    ...(doc.meta.config.dim !== GPU_REFERENCE_DIM
      ? [`the GPU figures are at d = ${GPU_REFERENCE_DIM}, this run at d = ${doc.meta.config.dim} (no GPU data at d = ${doc.meta.config.dim}; not rescaled)`]
      : []),
    ...(need === null ? ['fewer than two lengths: no extrapolation']
      : wrapParts([`to match it at n = 2^20 an oracle call must take ≤ ${formatSeconds(need)}; modeled: ${per[0] ?? ''}`, ...per.slice(1)], 88, ', ')),
    `GPU: ${GPU_REFERENCE_SOURCE}`,
  ];
}

/** Seconds as 100µs, 10ms, 1 s, 1000 s, 1e+6 s (SI prefixes on "s" read badly above 1 s: "1ks", "1Ys"). */
const SECONDS_LABEL = "datum.value < 1 ? format(datum.value, '~s') + 's' : datum.value < 1e4 ? format(datum.value, '~g') + ' s' : format(datum.value, '.0e') + ' s'";

/** Horizontal rules that give huge modeled times a scale (Planck 2018: the universe is 13.8 Gyr ≈ 4.35e17 s). */
const TIME_SCALES = [
  { seconds: 86400, label: '1 day' },
  { seconds: 3.156e7, label: '1 year' },
  { seconds: 4.35e17, label: 'age of the universe' },
];

function scaleRules(rows: readonly CrossoverRow[]): Array<Record<string, unknown>> {
  const max = Math.max(...rows.filter((r) => r.panel === 'time').map((r) => r.seconds));
  const scales = TIME_SCALES.filter((t) => t.seconds <= max);
  if (!scales.length) return [];
  return [
    { data: { values: scales }, mark: { type: 'rule', color: '#999', strokeDash: [2, 2] }, encoding: { x: null, y: { field: 'seconds', type: 'quantitative' } } },
    {
      data: { values: scales }, mark: { type: 'text', align: 'left', baseline: 'bottom', x: 4, dy: -2, fontSize: 11, color: '#666' },
      encoding: { x: null, y: { field: 'seconds', type: 'quantitative' }, text: { field: 'label' } },
    },
  ];
}

const WIDTH = 640;
const PANEL_HEIGHT = 260;

function panel(rows: readonly CrossoverRow[], a: CrossoverAnalysis, name: CrossoverRow['panel'], title: string, yTitle: string): Record<string, unknown> {
  const mine = rows.filter((r) => r.panel === name);
  const has = (...kinds: string[]): boolean => mine.some((r) => kinds.includes(r.kind));
  const only = (...kinds: string[]): { filter: string } => ({ filter: `datum.panel === '${name}' && indexof(${JSON.stringify(kinds)}, datum.kind) >= 0` });
  const style = seriesStyles(rows, a);
  // Colour and shape share one domain, so Vega-Lite merges them into one legend (its symbols show the shape).
  const channel = (range: unknown[]): Record<string, unknown> => ({ field: 'series', type: 'nominal', title: null, scale: { domain: style.domain, range }, legend: bottomLegend(style.domain) });
  const color = channel(style.color);
  // A layer without data makes Vega warn about an infinite extent: only layers that have rows are emitted.
  const layers = [
    // Dash as a mark property, one layer per dash, not a channel: a dash legend would merge into the colour
    // one and blur its symbols; the subtitle says which dash is which.
    ...EXTRAPOLATED_DASHES.map(({ exact, dash }) => mine.some((r) => r.kind === 'extrapolated' && style.exact.includes(r.series) === exact) && {
      transform: [only('extrapolated'), { filter: `${exact ? '' : '!'}(indexof(${JSON.stringify(style.exact)}, datum.series) >= 0)` }],
      mark: { type: 'line', strokeWidth: 1.5, strokeDash: dash }, encoding: { color },
    }),
    has('curve') && { transform: [only('curve')], mark: { type: 'line', strokeWidth: 2 }, encoding: { color } },
    has('modeled', 'measured', 'reference') && { transform: [only('modeled', 'measured', 'reference')], mark: { type: 'point', filled: true, size: 70 }, encoding: { color, shape: channel(style.shape) } },
    has('break-even') && { transform: [only('break-even')], mark: { type: 'rule', strokeDash: [1, 3], strokeWidth: 1.5 }, encoding: { color, y: null } },
    has('break-even', 'mark') && { transform: [only('break-even', 'mark')], mark: { type: 'point', shape: 'diamond', size: 170, filled: true, stroke: 'black' }, encoding: { color } },
    has('mark') && {
      transform: [only('mark')],
      mark: { type: 'text', align: 'left', dx: 10, dy: -12, fontSize: 12, fontWeight: 'bold', color: '#9e1b24' }, encoding: { text: { field: 'label' } },
    },
    ...(name === 'time' ? scaleRules(rows) : []),
  ].filter(Boolean);
  return {
    title: { text: title, fontSize: 13, anchor: 'start' },
    width: WIDTH, height: PANEL_HEIGHT,
    encoding: {
      x: nEncoding(rows.map((r) => r.n), WIDTH),
      y: { field: 'seconds', type: 'quantitative', title: yTitle, scale: { type: 'log' }, axis: { labelExpr: SECONDS_LABEL } },
    },
    layer: layers,
  };
}

export function crossoverSpec(doc: ResultsDoc): ChartSpec {
  const a = crossoverAnalysis(doc);
  const rows = crossoverRows(a);
  const panels = [panel(rows, a, 'time', 'Seconds per query (diamonds and dotted rules: break-even with the H200 top-32)', 'seconds per query')];
  if (rows.some((r) => r.panel === 'latency')) {
    panels.push(panel(rows, a, 'latency', 'Seconds per oracle call: needed to match a classical top-k, and modeled', 'seconds per oracle call'));
  }
  return asSpec({
    title: { text: 'Crossover: modeled QPU vs classical attention', subtitle: crossoverSubtitle(doc, a) },
    data: { values: rows },
    vconcat: panels,
    resolve: { scale: { color: 'shared', x: 'shared' } },
  });
}

export const crossoverChart: ChartDef = {
  id: 'crossover',
  title: 'Crossover: modeled QPU vs classical',
  caption: 'Top: seconds per query for the quantum top-k under each hardware profile (modeled from the run’s oracle ' +
    'calls, QRAM loading included; oracles/qpu-time.ts) against classical top-k and exact decode — measured here on ' +
    'the CPU, and the cited H200 figures (bench/reference-data/). Diamonds mark the n where a profile would break even ' +
    'with the H200 scores + top-32. Bottom: how fast one oracle call would have to be to match a classical top-k ' +
    '(oracle calls fitted as C·n^α over the n range of the fits table, so α is the fitted oracleQueries exponent there, ' +
    'capped at ½), against the per-call time each profile models. Beyond measured n, classical time ' +
    'is extrapolated ∝ n and quantum calls ∝ n^α — optimistic for the QPU; qubit counts (O(n) QRAM routers) are not ' +
    'treated as a limit here.',
  build: crossoverSpec,
};
