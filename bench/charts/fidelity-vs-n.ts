/**
 * Fidelity against n, one line per mechanism: the relative L2 error of the output against exact attention
 * (log axis), and the exact softmax mass on the keys a selecting mechanism kept ("mass recall", linear 0–1;
 * bench/score.ts). Mass recall explains relL2 for top-k style methods: the error is the mass left out.
 */
import type { ResultsDoc } from '../results.ts';
import { asSpec, coincidingLines, COINCIDING_HEADING, emptyChart, formatGroups, workloadFacet, floorForLog, mechanismColor, methodsOf, nEncoding, okRecords, runShape, workloadsOf, type ChartDef, type ChartSpec } from './common.ts';

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
    workload: r.workload, method: r.variant, n: r.n,
    relL2: r.fidelity.relL2, relL2Plot: floorForLog(r.fidelity.relL2, REL_L2_FLOOR), massRecall: r.fidelity.massRecall,
  }));
}

/** The two panels of the chart, top to bottom: the plotted field and the name the subtitle's notes give it. */
export const FIDELITY_PANELS = [
  { field: 'relL2Plot', title: 'relative L2 error' },
  { field: 'massRecall', title: 'mass recall' },
] as const;

/**
 * Subtitle lines naming lines drawn on top of one another (every n within 1 %) in one (panel, workload) cell —
 * e.g. grover-topk selecting exactly topk-exact's keys, so its line lies under topk-exact's. One line per panel and
 * set of groups, in panel then workload order; workloads with the same groups share a line.
 */
export function fidelityOverlapNotes(doc: ResultsDoc, rows: readonly FidelityRow[]): string[] {
  const workloads = workloadsOf(doc);
  const notes: string[] = [];
  for (const { field, title } of FIDELITY_PANELS) {
    const cells = coincidingLines(rows, { method: (r) => r.method, cell: (r) => r.workload, n: (r) => r.n, value: (r) => r[field] })
      .sort((a, b) => workloads.indexOf(a.cell) - workloads.indexOf(b.cell));
    const byGroups = new Map<string, string[]>();
    for (const c of cells) {
      const g = formatGroups(c.groups);
      byGroups.set(g, [...(byGroups.get(g) ?? []), c.cell]);
    }
    for (const [g, ws] of byGroups) notes.push(`${title}, ${ws.join(', ')}: ${g}`);
  }
  return notes.length ? [COINCIDING_HEADING, ...notes] : [];
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
        'bottom: softmax mass on the keys a selecting method kept (higher is better)', ...fidelityOverlapNotes(doc, rows)],
    },
    data: { values: rows },
    vconcat: FIDELITY_PANELS.map((p) => panel(doc, rows, p.field)),
    resolve: { scale: { color: 'shared' } },
  });
}

export const fidelityVsNChart: ChartDef = {
  id: 'fidelity-vs-n',
  title: 'Fidelity vs context length',
  caption: 'Top: relative L2 error ‖o − o*‖/‖o*‖ of each mechanism’s output against exact float64 attention (errors ' +
    `below ${REL_L2_FLOOR} are drawn at ${REL_L2_FLOOR}). Bottom: mass recall, the exact softmax mass on the keys a ` +
    'selecting mechanism kept — for top-k style methods the error is essentially the mass left out. Lines that ' +
    'coincide (within 1 % at every n, so drawn on top of one another) are named in the subtitle ("a = b").',
  build: fidelityVsNSpec,
};
