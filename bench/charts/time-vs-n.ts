/**
 * Median wall time per cell against context length n, log–log, one line per mechanism, one panel per workload.
 * On log–log axes a power law t ∝ n^b is a straight line of slope b; the legend carries the fitted b from
 * results.json (bench/fits.ts), so the slope a reader sees is the number the run reports.
 */
import type { ResultsDoc } from '../results.ts';
import { asSpec, bottomLegend, emptyChart, workloadFacet, findFit, formatExponent, mechanismColor, methodsOf, nEncoding, okRecords, runShape, workloadsOf, type ChartDef, type ChartSpec } from './common.ts';

export interface TimeRow {
  readonly workload: string;
  readonly method: string;
  readonly label: string;
  readonly n: number;
  readonly medianMs: number;
  readonly p99Ms: number;
}

/** "exact (t ∝ n^0.98)", with one exponent per workload when the run had several. */
export function timeLabel(doc: ResultsDoc, method: string): string {
  const workloads = workloadsOf(doc);
  const parts = workloads.flatMap((w) => {
    const f = findFit(doc.fits, method, w, 'time');
    if (!f) return [];
    return [workloads.length > 1 ? `${w} n^${formatExponent(f.exponent)}` : `t ∝ n^${formatExponent(f.exponent)}`];
  });
  return parts.length ? `${method} (${parts.join(', ')})` : `${method} (no fit)`;
}

export function timeRows(doc: ResultsDoc): TimeRow[] {
  const labels = new Map(methodsOf(doc).map((m) => [m, timeLabel(doc, m)]));
  return okRecords(doc).map((r) => ({
    workload: r.workload, method: r.method, label: labels.get(r.method) ?? r.method,
    n: r.n, medianMs: r.timing.medianMs, p99Ms: r.timing.p99Ms,
  }));
}

const WIDTH = 360;

export function timeVsNSpec(doc: ResultsDoc): ChartSpec {
  const rows = timeRows(doc);
  if (!rows.length) return emptyChart('Time vs context length', 'no cell of this run finished: nothing to draw');
  const drawn = methodsOf(doc).filter((m) => rows.some((r) => r.method === m));
  const labels = drawn.map((m) => timeLabel(doc, m));
  // Colour by method on the shared mechanism scale; the legend shows each method's fitted-exponent label.
  const labelOf = `${JSON.stringify(Object.fromEntries(drawn.map((m, i) => [m, labels[i]])))}[datum.label]`;
  return asSpec({
    title: {
      text: 'Time vs context length',
      subtitle: [`median wall time of one call (all queries), log–log; ${runShape(doc)}`,
        'legend: fitted exponent b of time ∝ n^b (least squares in log–log; see the fits table)'],
    },
    data: { values: rows },
    facet: workloadFacet(doc), columns: 2,
    spec: {
      width: WIDTH, height: 280,
      mark: { type: 'line', point: { size: 50 } },
      encoding: {
        x: nEncoding(rows.map((r) => r.n), WIDTH),
        y: { field: 'medianMs', type: 'quantitative', title: 'median time (ms)', scale: { type: 'log' }, axis: { format: '~g' } },
        color: mechanismColor(doc, drawn, 'method', { title: 'method (fitted exponent)', labelExpr: labelOf, ...bottomLegend(labels) }),
      },
    },
  });
}

export const timeVsNChart: ChartDef = {
  id: 'time-vs-n',
  title: 'Time vs context length',
  caption: 'Median wall time of one mechanism call (all queries of the cell) against n on log–log axes; a straight ' +
    'line of slope b means time ∝ n^b. The legend gives the exponent fitted to the run (n ≥ the fit minimum when three ' +
    'lengths reach it). Quantum mechanisms are simulated here: their wall time is simulator time, not QPU time.',
  build: timeVsNSpec,
};
