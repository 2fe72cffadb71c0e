/**
 * What every chart spec builder shares: the spec type, a legible default style, the log₂ axis for context
 * length n, and readers over a results document (ok records, workloads in run order, fitted exponents).
 *
 * Specs are plain Vega-Lite (https://vega.github.io/vega-lite/) with their data inlined (`data.values`), so a
 * `.vl.json` file is self-contained: it opens in the Vega editor, and tests can compare its data against the
 * results file it came from.
 */
import type { TopLevelSpec } from 'vega-lite';
import { mechanismNames } from '../../attention/registry.ts';
import type { FitEntry, FitMetric, OkRecord, ResultsDoc } from '../results.ts';

export type ChartSpec = TopLevelSpec;

/** An identifier only: nothing fetches it (rendering and the report are offline). */
export const VL_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Larger type than Vega-Lite's 10–11 px defaults: the PNGs are read at their default size in a README or a
 * report, where 10 px text is too small. White background: the SVG/PNG must not be transparent on dark pages.
 */
export const CHART_CONFIG = {
  background: 'white',
  padding: 12,
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: '#444', anchor: 'start', offset: 12 },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', gridColor: '#e8e8e8' },
  // Vega's Node text metrics (no canvas) overestimate widths; generous limits keep labels from being cut.
  legend: { labelFontSize: 12, titleFontSize: 13, labelLimit: 640, titleLimit: 640, symbolSize: 110 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  view: { stroke: '#bbbbbb' },
  line: { strokeWidth: 2 },
} as const;

/** A chart of the report: how it is named on disk and in the HTML, and how its spec is built. */
export interface ChartDef {
  /** File stem: `<id>.vl.json`, `<id>.svg`, `<id>.png`. */
  readonly id: string;
  readonly title: string;
  /** One paragraph under the chart in the report: how to read it. */
  readonly caption: string;
  build(doc: ResultsDoc): ChartSpec;
  /** Whether the chart has anything to show for `doc` (absent: always); render.ts and the report leave it out otherwise. */
  applies?(doc: ResultsDoc): boolean;
}

/**
 * The one cast from a plain object to Vega-Lite's spec type. Builders assemble specs from small untyped parts
 * (Vega-Lite's TypeScript types do not compose well piecewise); validity is checked where it is certain —
 * by compiling: render.ts fails on any Vega-Lite warning, and the tests render every chart.
 */
export function asSpec(spec: Record<string, unknown>): ChartSpec {
  return { $schema: VL_SCHEMA, ...spec, config: CHART_CONFIG } as unknown as ChartSpec;
}

/** A chart that says why it has nothing to draw (every cell skipped, or no method reports the metric). */
export function emptyChart(title: string, message: string): ChartSpec {
  return asSpec({
    title: { text: title },
    data: { values: [{ message }] },
    width: 520, height: 60,
    mark: { type: 'text', fontSize: 14, color: '#555', align: 'left', x: 0, y: 30 },
    encoding: { text: { field: 'message' } },
  });
}

export function okRecords(doc: ResultsDoc): OkRecord[] {
  return doc.records.filter((r): r is OkRecord => r.status === 'ok');
}

/** Distinct values in first-seen order. */
export function distinct<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/** Workloads in the order the run listed them, then any others the records hold. */
export function workloadsOf(doc: ResultsDoc): string[] {
  return distinct([...doc.meta.config.workloads, ...doc.records.map((r) => r.workload)])
    .filter((w) => doc.records.some((r) => r.workload === w));
}

/** Variants (a method's name when it ran one setting) in run order, then any others the records hold. */
export function methodsOf(doc: ResultsDoc): string[] {
  return distinct([...doc.meta.config.methods, ...doc.records.map((r) => r.variant)])
    .filter((m) => doc.records.some((r) => r.variant === m));
}

export function findFit(fits: readonly FitEntry[], variant: string, workload: string, metric: FitMetric): FitEntry | undefined {
  return fits.find((f) => f.variant === variant && f.workload === workload && f.metric === metric);
}

/** "0.98" style exponent, always two decimals (−0.00 printed as 0.00). */
export function formatExponent(x: number): string {
  const s = x.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

/** A power of two is labelled 2^k; any other n (an npy workload's length) as the number itself. */
const N_LABEL = "abs(log(datum.value) / LN2 - round(log(datum.value) / LN2)) < 1e-9 ? '2^' + round(log(datum.value) / LN2) : format(datum.value, ',')";

/** N_LABEL in TypeScript, to size ticks. */
export function nLabel(n: number): string {
  const k = Math.log2(n);
  return Math.abs(k - Math.round(k)) < 1e-9 ? `2^${Math.round(k)}` : n.toLocaleString('en-US');
}

/**
 * Tick values for an n axis `width` px wide over [lo, hi]: hi itself (the largest measured n is the tick a reader
 * looks for), then every `step`-th power of two below it, then lo if it has room. Vega's default overlap removal
 * hid the last label: drawn flush right (ending at hi) it collides with its neighbour first, and the greedy
 * pass keeps the earlier label. So ticks are spaced here for a flush label beside a centred one (1.5 labels,
 * at Vega's Node estimate of 0.8 em per character) and the axis turns overlap removal off.
 */
export function nTicks(lo: number, hi: number, width: number): number[] {
  const top = Math.log2(hi), bottom = Math.log2(lo);
  const labelPx = Math.max(nLabel(hi).length, nLabel(lo).length, `2^${Math.ceil(top)}`.length) * 0.8 * CHART_CONFIG.axis.labelFontSize;
  const pxPerOctave = width / Math.max(top - bottom, 1e-9);
  const minStep = Math.max(1, Math.ceil((1.5 * labelPx + 6) / pxPerOctave));
  // A step up to twice as wide that divides the span puts a tick on lo too.
  const span = top - bottom;
  const step = [...Array(minStep + 1).keys()].map((i) => minStep + i).find((s) => Number.isInteger(span) && span % s === 0) ?? minStep;
  const ks = [top];
  for (let k = Math.floor(top - step + 1e-9); k >= bottom - 1e-9; k -= step) ks.push(k);
  if (ks[ks.length - 1]! - bottom >= step) ks.push(bottom);
  // A centred label within half a label of the left edge would spill over the y axis (the edge one is flush).
  return ks.filter((k) => { const px = (k - bottom) * pxPerOctave; return px < 1e-6 || px >= labelPx / 2 + 3; })
    .map((k) => (k === top ? hi : k === bottom ? lo : 2 ** k)).reverse();
}

/** The x encoding of context length n: log₂ scale; ticks labelled 2^k, the largest n always among them. */
export function nEncoding(ns: readonly number[], width: number, title = 'context length n (keys)', field = 'n'): Record<string, unknown> {
  const lo = ns.length ? Math.min(...ns) : 1;
  const hi = ns.length ? Math.max(...ns) : 2;
  const top = Math.max(hi, lo * 2);
  return {
    field, type: 'quantitative', title,
    scale: { type: 'log', base: 2, domain: [lo, top], nice: false },
    axis: { values: nTicks(lo, top, width), labelExpr: N_LABEL, labelOverlap: false, labelFlush: true, grid: true },
  };
}

/** Values ≤ floor are drawn at floor on a log axis (log 0 is undefined); the true value stays in the data. */
export function floorForLog(x: number, floor: number): number {
  return Number.isFinite(x) && x > floor ? x : floor;
}

/** One panel per workload, in run order, wrapped two to a row (with `columns: 2`) so width stays readable. */
export function workloadFacet(doc: ResultsDoc): Record<string, unknown> {
  return { field: 'workload', type: 'nominal', title: null, sort: workloadsOf(doc) };
}

/**
 * Packs parts into lines of at most `max` characters, joined by `sep`. Subtitles are wrapped by hand: Vega in
 * Node has no canvas to measure text and estimates 0.8 em per character, so one long line makes the whole
 * chart (and the README's scaled-down PNG) far wider than the text.
 */
export function wrapParts(parts: readonly string[], max = 88, sep = '; '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const p of parts) {
    if (line && line.length + sep.length + p.length > max) {
      lines.push(`${line}${sep.trim()}`);
      line = p;
    } else line = line ? `${line}${sep}${p}` : p;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A bottom legend with as many columns (1–4) as fit in ~860 px, estimating label width the way Vega does in
 * Node (0.8 em per character): long labels get one column instead of widening the whole chart.
 */
export function bottomLegend(labels: readonly string[]): Record<string, unknown> {
  const longest = Math.max(8, ...labels.map((l) => l.length));
  const columns = Math.max(1, Math.min(4, Math.floor(860 / (longest * 0.8 * 12 + 40))));
  return { orient: 'bottom', columns };
}

/**
 * The colours of mechanisms, declared once: Vega's default scheme (tableau10) in registry order. A chart that
 * let Vega assign colours by the order of its own data shifted every later method whenever one was missing
 * (cost-vs-n has no line for performer, which reports no counts); a fixed domain keeps a method's colour the
 * same in every chart and every run.
 */
export const MECHANISM_PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac',
  // tableau20's darker and lighter partners, for the variants a run adds after the registered names.
  '#1f4e79', '#b35806', '#9e2a2b', '#2f7f7a', '#2d6a27', '#a88b00', '#6e3f6b', '#c2577a', '#5e4630', '#6f6a65'] as const;

/**
 * The mechanism colour scale of `doc`: every registered name in registry order, then any unregistered method
 * the file holds (a results file from another version), so the domain is the same in each chart of one file.
 */
export function mechanismColorScale(doc: ResultsDoc): { domain: string[]; range: string[] } {
  const domain = distinct([...mechanismNames, ...methodsOf(doc)]);
  return { domain, range: domain.map((_, i) => MECHANISM_PALETTE[i % MECHANISM_PALETTE.length]!) };
}

/**
 * A colour encoding of the mechanism name in `field`, on the fixed scale. The legend lists only `drawn` (the
 * methods this chart has marks for), in run order — a fixed domain alone would list every registered name.
 */
export function mechanismColor(doc: ResultsDoc, drawn: readonly string[], field = 'method', legend: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    field, type: 'nominal', title: 'method', scale: mechanismColorScale(doc),
    legend: { ...bottomLegend(drawn), values: [...drawn], ...legend },
  };
}

/** "decode, m = 16 queries, d = 64" — the run shape every subtitle states. */
export function runShape(doc: ResultsDoc): string {
  const c = doc.meta.config;
  const queries = c.mode === 'prefill' ? 'm = n queries' : `m = ${c.queries} queries`;
  return `${c.mode}${c.causal ? ' (causal)' : ''}, ${queries}, d = ${c.dim}${c.quick ? ', --quick run' : ''}`;
}

/** How coincidingLines reads a chart's rows: which line (method) and which facet/panel cell a row is in, and its point. */
export interface LineKeys<R> {
  /** The line's name: the method (or series) a row belongs to. */
  readonly method: (r: R) => string;
  /** The facet/panel cell the row is drawn in (e.g. workload and panel joined); lines coincide only within one. */
  readonly cell: (r: R) => string;
  readonly n: (r: R) => number;
  /** The plotted value; null (or non-finite) for a row that draws no point. */
  readonly value: (r: R) => number | null;
  /** Two values coincide when |a − b| ≤ relTol · max(|a|, |b|); default 1 %. */
  readonly relTol?: number;
}

/** The coinciding lines of one cell: each group lists ≥ 2 methods in first-seen order; `row` is the cell's first row. */
export interface CoincidingCell<R> {
  readonly cell: string;
  readonly row: R;
  readonly groups: string[][];
}

/**
 * Lines drawn on top of one another: per cell (in first-seen order), the methods whose lines have points at the
 * same n and there coincide within the relative tolerance — only the last drawn would be visible, so a chart names
 * them in its subtitle. Each method joins the first group whose first member it matches. Cells without a
 * coinciding pair are left out.
 */
export function coincidingLines<R>(rows: readonly R[], keys: LineKeys<R>): Array<CoincidingCell<R>> {
  const tol = keys.relTol ?? 0.01;
  const cells = new Map<string, { row: R; lines: Map<string, Map<number, number>> }>();
  for (const r of rows) {
    const v = keys.value(r);
    if (v === null || !Number.isFinite(v)) continue;
    const c = keys.cell(r);
    let cell = cells.get(c);
    if (!cell) cells.set(c, (cell = { row: r, lines: new Map() }));
    const m = keys.method(r);
    let line = cell.lines.get(m);
    if (!line) cell.lines.set(m, (line = new Map()));
    line.set(keys.n(r), v);
  }
  const same = (a: Map<number, number>, b: Map<number, number>): boolean =>
    a.size === b.size && [...a].every(([n, v]) => b.has(n) && Math.abs(b.get(n)! - v) <= tol * Math.max(Math.abs(v), Math.abs(b.get(n)!)));
  const out: Array<CoincidingCell<R>> = [];
  for (const [cell, { row, lines }] of cells) {
    const groups: string[][] = [];
    for (const [m, line] of lines) {
      const g = groups.find((grp) => same(lines.get(grp[0]!)!, line));
      if (g) g.push(m);
      else groups.push([m]);
    }
    const coinciding = groups.filter((g) => g.length > 1);
    if (coinciding.length) out.push({ cell, row, groups: coinciding });
  }
  return out;
}

/** The subtitle heading over the notes coincidingLines leads to. */
export const COINCIDING_HEADING = 'coinciding lines (drawn on top of one another):';

/** "a = b = c; d = e": the groups of one cell. */
export function formatGroups(groups: readonly (readonly string[])[]): string {
  return groups.map((g) => g.join(' = ')).join('; ');
}
