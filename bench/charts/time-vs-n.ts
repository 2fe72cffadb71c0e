/**
 * Wall time against context length n, log–log, one line per mechanism, one column per workload, two panels:
 * query time (one attend call, all m queries, on a prepared cache) on top, and the once-per-cache prepare time
 * below — so an index build never hides inside a query time, and a cheap query on an expensive index reads as
 * both. On log–log axes a power law t ∝ n^b is a straight line of slope b; the legend carries the fitted b of
 * both from results.json (bench/fits.ts), so the slope a reader sees is the number the run reports.
 */
import type { ResultsDoc } from '../results.ts';
import { asSpec, bottomLegend, emptyChart, workloadFacet, findFit, floorForLog, formatExponent, mechanismColor, methodsOf, nEncoding, okRecords, runShape, workloadsOf, type ChartDef, type ChartSpec } from './common.ts';

/** Times below this (ms) are drawn at it: a prepare that only keeps K and V takes microseconds, or reads 0. */
export const TIME_FLOOR_MS = 1e-3;

export type TimePanel = 'query' | 'prepare';

export interface TimeRow {
  readonly workload: string;
  readonly panel: TimePanel;
  readonly method: string;
  readonly label: string;
  readonly n: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  /** medianMs floored at TIME_FLOOR_MS for the log axis. */
  readonly plotMs: number;
}

/** The fitted exponents of one metric, one per workload in run order ('–' where that workload has no fit). */
function exponents(doc: ResultsDoc, method: string, metric: 'time' | 'prepareTime'): string[] | null {
  const xs = workloadsOf(doc).map((w) => findFit(doc.fits, method, w, metric));
  return xs.some((f) => f) ? xs.map((f) => (f ? `n^${formatExponent(f.exponent)}` : '–')) : null;
}

/**
 * "exact (t ∝ n^0.98; prepare n^1.00)": query-time then prepare-time exponents, each one per workload in run
 * order when the run had several (the legend title names the order).
 */
export function timeLabel(doc: ResultsDoc, method: string): string {
  const query = exponents(doc, method, 'time'), prepare = exponents(doc, method, 'prepareTime');
  if (!query && !prepare) return `${method} (no fit)`;
  const q = query ? `t ∝ ${query.join(', ')}` : 'query: no fit';
  return `${method} (${q}${prepare ? `; prepare ${prepare.join(', ')}` : ''})`;
}

export function timeRows(doc: ResultsDoc): TimeRow[] {
  const labels = new Map(methodsOf(doc).map((m) => [m, timeLabel(doc, m)]));
  return okRecords(doc).flatMap((r) => {
    const base = { workload: r.workload, method: r.variant, label: labels.get(r.variant) ?? r.variant, n: r.n };
    const rows: TimeRow[] = [{ ...base, panel: 'query', medianMs: r.timing.medianMs, p99Ms: r.timing.p99Ms, plotMs: floorForLog(r.timing.medianMs, TIME_FLOOR_MS) }];
    const p = r.prepare?.timing;
    if (p) rows.push({ ...base, panel: 'prepare', medianMs: p.medianMs, p99Ms: p.p99Ms, plotMs: floorForLog(p.medianMs, TIME_FLOOR_MS) });
    return rows;
  });
}

const WIDTH = 360;

function panel(doc: ResultsDoc, rows: readonly TimeRow[], which: TimePanel, color: Record<string, unknown>): Record<string, unknown> {
  const title = which === 'query' ? 'query time, one attend call (ms)' : 'prepare time, once per KV cache (ms)';
  return {
    transform: [{ filter: `datum.panel === '${which}'` }],
    facet: workloadFacet(doc), columns: 2,
    spec: {
      width: WIDTH, height: which === 'query' ? 280 : 220,
      mark: { type: 'line', point: { size: 50 } },
      encoding: {
        x: nEncoding(rows.map((r) => r.n), WIDTH),
        y: { field: 'plotMs', type: 'quantitative', title, scale: { type: 'log' }, axis: { format: '~g' } },
        color,
      },
    },
  };
}

export function timeVsNSpec(doc: ResultsDoc): ChartSpec {
  const rows = timeRows(doc);
  if (!rows.length) return emptyChart('Time vs context length', 'no cell of this run finished: nothing to draw');
  const drawn = methodsOf(doc).filter((m) => rows.some((r) => r.method === m));
  const labels = drawn.map((m) => timeLabel(doc, m));
  // Colour by method on the shared mechanism scale; the legend shows each method's fitted-exponent label.
  const labelOf = `${JSON.stringify(Object.fromEntries(drawn.map((m, i) => [m, labels[i]])))}[datum.label]`;
  const workloads = workloadsOf(doc);
  const order = workloads.length > 1 ? `, one per workload (${workloads.join(', ')})` : '';
  const color = mechanismColor(doc, drawn, 'method', { title: 'method (fitted exponents)', labelExpr: labelOf, ...bottomLegend(labels) });
  const panels: TimePanel[] = rows.some((r) => r.panel === 'prepare') ? ['query', 'prepare'] : ['query'];
  return asSpec({
    title: {
      text: 'Time vs context length',
      subtitle: [`median wall time, log–log; ${runShape(doc)}`,
        'top: one attend call (all queries) on the prepared KV cache; bottom: preparing that cache, once',
        `legend: fitted exponents b of time ∝ n^b, query then prepare${order}`,
        `(least squares in log–log; see the fits table); times below ${TIME_FLOOR_MS} ms are drawn at it`],
    },
    data: { values: rows },
    vconcat: panels.map((p) => panel(doc, rows, p, color)),
    resolve: { scale: { color: 'shared' } },
  });
}

export const timeVsNChart: ChartDef = {
  id: 'time-vs-n',
  title: 'Time vs context length',
  caption: 'Median wall time against n on log–log axes: top, one attend call (all queries of the cell) on a KV cache ' +
    'prepared beforehand; bottom, preparing that cache (sessions, hash tables, indexes, trees, key features), which a ' +
    'decode loop pays once per cache. A straight line of slope b means time ∝ n^b; the legend gives the exponents fitted ' +
    'to the run (n ≥ the fit minimum when three lengths reach it). Quantum mechanisms are simulated here: their wall ' +
    'time is simulator time, not QPU time.',
  build: timeVsNSpec,
};
