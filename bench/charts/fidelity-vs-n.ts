/**
 * Fidelity against n, one line per mechanism: the relative L2 error of the output against exact attention
 * (log axis), and the exact softmax mass on the keys a selecting mechanism kept ("mass recall", linear 0–1;
 * bench/score.ts). Mass recall explains relL2 for top-k style methods: the error is the mass left out.
 */
import type { ResultsDoc } from '../results.ts';
import { asSpec, emptyChart, workloadFacet, floorForLog, mechanismColor, methodsOf, nEncoding, okRecords, runShape, workloadsOf, type ChartDef, type ChartSpec } from './common.ts';

/** Errors below this are drawn at it: float32 rounding of an exact method can be ~1e-8, or exactly 0. */
export const REL_L2_FLOOR = 1e-9;

export interface FidelityRow {
  readonly workload: string;
  readonly method: string;
  readonly n: number;
  readonly relL2: number;
  /** relL2 floored at REL_L2_FLOOR for the log axis. */
  readonly relL2Plot: number;
  readonly massRecall: number | null;
}

export function fidelityRows(doc: ResultsDoc): FidelityRow[] {
  return okRecords(doc).map((r) => ({
    workload: r.workload, method: r.method, n: r.n,
    relL2: r.fidelity.relL2, relL2Plot: floorForLog(r.fidelity.relL2, REL_L2_FLOOR), massRecall: r.fidelity.massRecall,
  }));
}

const WIDTH = 360;

function panel(doc: ResultsDoc, rows: readonly FidelityRow[], field: 'relL2Plot' | 'massRecall'): Record<string, unknown> {
  const y = field === 'relL2Plot'
    ? { field, type: 'quantitative', title: `relative L2 error (floor ${REL_L2_FLOOR})`, scale: { type: 'log' }, axis: { format: '.0e' } }
    : { field, type: 'quantitative', title: 'mass recall (softmax mass kept)', scale: { domain: [0, 1] } };
  return {
    ...(field === 'massRecall' ? { transform: [{ filter: 'isValid(datum.massRecall)' }] } : {}),
    facet: workloadFacet(doc), columns: 2,
    spec: {
      width: WIDTH, height: 240,
      mark: { type: 'line', point: { size: 50 } },
      encoding: {
        x: nEncoding(rows.map((r) => r.n), WIDTH), y,
        color: mechanismColor(doc, methodsOf(doc).filter((m) => rows.some((r) => r.method === m))),
      },
    },
  };
}

export function fidelityVsNSpec(doc: ResultsDoc): ChartSpec {
  const rows = fidelityRows(doc);
  if (!rows.length) return emptyChart('Fidelity vs context length', 'no cell of this run finished: nothing to draw');
  return asSpec({
    title: {
      text: 'Fidelity vs context length',
      subtitle: [`against exact float64 attention; ${runShape(doc)}`,
        'top: relative L2 error of the output (lower is better)',
        'bottom: softmax mass on the keys a selecting method kept (higher is better)'],
    },
    data: { values: rows },
    vconcat: [panel(doc, rows, 'relL2Plot'), panel(doc, rows, 'massRecall')],
    resolve: { scale: { color: 'shared' } },
  });
}

export const fidelityVsNChart: ChartDef = {
  id: 'fidelity-vs-n',
  title: 'Fidelity vs context length',
  caption: 'Top: relative L2 error ‖o − o*‖/‖o*‖ of each mechanism’s output against exact float64 attention (errors ' +
    `below ${REL_L2_FLOOR} are drawn at ${REL_L2_FLOOR}). Bottom: mass recall, the exact softmax mass on the keys a ` +
    'selecting mechanism kept — for top-k style methods the error is essentially the mass left out.',
  build: fidelityVsNSpec,
};
