/**
 * Hardware-independent cost counts per query against n — score evaluations (classical and dequantized work),
 * oracle calls (quantum) and samples (sampling methods) — with the reference curves the algorithms promise:
 * n (dense scan), √n (Grover search, Grover quant-ph/9605043), √(kn) (quantum top-k, Dürr, Heiligman, Høyer,
 * Mhalla quant-ph/0401091) and log₂ n. Reference curves have constant 1: on log–log axes only their slope
 * matters, so a measured line parallel to a curve scales like it.
 */
import type { CostFields, ResultsDoc } from '../results.ts';
import { asSpec, coincidingLines, COINCIDING_HEADING, emptyChart, distinct, formatGroups, mechanismColor, methodsOf, nEncoding, okRecords, runShape, workloadsOf, type ChartDef, type ChartSpec } from './common.ts';

export type CostMetric = 'scoreEvaluations' | 'oracleQueries' | 'samples';

export const COST_METRICS: ReadonlyArray<{ readonly metric: CostMetric; readonly title: string }> = [
  { metric: 'scoreEvaluations', title: 'score evaluations / query' },
  { metric: 'oracleQueries', title: 'oracle calls / query' },
  { metric: 'samples', title: 'samples / query' },
];

export interface CostRow {
  readonly kind: 'measured' | 'theory';
  readonly workload: string;
  readonly panel: string;
  /** Method name, or the reference curve's name. */
  readonly series: string;
  readonly n: number;
  /** Per query: the record's total count / m (counts are summed over queries in results.json). */
  readonly value: number;
  /** Theory rows at the panel's largest n carry the curve's label. */
  readonly end: boolean;
}

/** k of the top-k reference curve: the quantum top-k's k option (else any method's k), or null. */
export function topK(doc: ResultsDoc): number | null {
  const ks = okRecords(doc)
    .sort((a, b) => Number(b.family === 'quantum') - Number(a.family === 'quantum'))
    .map((r) => r.options['k'])
    .filter((k): k is number => typeof k === 'number' && k >= 1);
  return ks[0] ?? null;
}

export function theoryCurves(k: number | null): Array<{ readonly name: string; readonly f: (n: number) => number }> {
  const curves = [
    { name: 'n', f: (n: number) => n },
    { name: '√n', f: (n: number) => Math.sqrt(n) },
    { name: 'log₂ n', f: (n: number) => Math.log2(n) },
  ];
  if (k !== null) curves.splice(1, 0, { name: `√(kn), k=${k}`, f: (n: number) => Math.sqrt(k * n) });
  return curves;
}

export function costRows(doc: ResultsDoc): CostRow[] {
  const ok = okRecords(doc);
  const rows: CostRow[] = [];
  for (const { metric, title } of COST_METRICS) {
    for (const r of ok) {
      const v = (r.cost as CostFields)[metric];
      if (v !== null && v > 0) rows.push({ kind: 'measured', workload: r.workload, panel: title, series: r.variant, n: r.n, value: v / r.m, end: false });
    }
  }
  // Every (workload, panel) cell gets the reference curves, so no facet cell is empty: Vega-Lite lays out only
  // the cells that have data, and a missing one would shift its neighbours under the wrong headers.
  const curves = theoryCurves(topK(doc));
  const panels = distinct(rows.map((r) => r.panel));
  for (const workload of workloadsOf(doc)) {
    const ns = distinct(ok.filter((r) => r.workload === workload).map((r) => r.n)).sort((a, b) => a - b);
    for (const panel of panels) {
      for (const c of curves) {
        for (const n of ns) rows.push({ kind: 'theory', workload, panel, series: c.name, n, value: c.f(n), end: n === ns[ns.length - 1] });
      }
    }
  }
  return rows;
}

/**
 * Subtitle lines naming measured lines that coincide (every n within 1 %) in one (workload, panel) cell, e.g.
 * exact, topk-exact and dequantized-topk all evaluating n scores per query: drawn on top of one another, only the
 * last would be visible. One line per panel, listed in panel then workload order; identical lines are said once.
 */
export function overlapNotes(rows: readonly CostRow[]): string[] {
  const measured = rows.filter((r) => r.kind === 'measured');
  const panels = distinct(measured.map((r) => r.panel));
  const workloads = distinct(measured.map((r) => r.workload));
  const cells = coincidingLines(measured, {
    method: (r) => r.series, cell: (r) => JSON.stringify([r.panel, r.workload]), n: (r) => r.n, value: (r) => r.value,
  }).sort((a, b) => panels.indexOf(a.row.panel) - panels.indexOf(b.row.panel) || workloads.indexOf(a.row.workload) - workloads.indexOf(b.row.workload));
  const notes = new Set(cells.map((c) => `${c.row.panel}: ${formatGroups(c.groups)}`));
  return notes.size ? [COINCIDING_HEADING, ...notes] : [];
}

const WIDTH = 260;

export function costVsNSpec(doc: ResultsDoc): ChartSpec {
  const rows = costRows(doc);
  if (!rows.length) return emptyChart('Cost counts vs context length', 'no method of this run reported score evaluations, oracle calls or samples');
  const panels = COST_METRICS.map((m) => m.title).filter((t) => rows.some((r) => r.panel === t));
  const drawn = methodsOf(doc).filter((m) => rows.some((r) => r.kind === 'measured' && r.series === m));
  return asSpec({
    title: {
      text: 'Cost counts vs context length',
      subtitle: [`hardware-independent counts per query, log–log; ${runShape(doc)}`,
        'grey dashed: reference curves n, √(kn), √n, log₂ n (constant 1; compare slopes)', ...overlapNotes(rows)],
    },
    data: { values: rows },
    facet: {
      row: { field: 'workload', type: 'nominal', title: null, sort: workloadsOf(doc) },
      column: { field: 'panel', type: 'nominal', title: null, sort: panels },
    },
    spec: {
      width: WIDTH, height: 220,
      encoding: {
        x: nEncoding(rows.map((r) => r.n), WIDTH),
        y: { field: 'value', type: 'quantitative', title: 'count per query', scale: { type: 'log' }, axis: { format: '~s' } },
      },
      layer: [
        {
          transform: [{ filter: "datum.kind === 'theory'" }],
          mark: { type: 'line', color: '#9a9a9a', strokeDash: [5, 4], strokeWidth: 1.5 },
          encoding: { detail: { field: 'series', type: 'nominal' } },
        },
        {
          transform: [{ filter: "datum.kind === 'theory' && datum.end" }],
          // Inside the plot (right-aligned above the curve's end): labels past the edge would widen every cell.
          mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -2, dy: -3, fontSize: 11, color: '#666' },
          encoding: { text: { field: 'series', type: 'nominal' } },
        },
        {
          transform: [{ filter: "datum.kind === 'measured'" }],
          mark: { type: 'line', point: { size: 45 } },
          encoding: {
            color: mechanismColor(doc, drawn, 'series'),
          },
        },
      ],
    },
  });
}

export const costVsNChart: ChartDef = {
  id: 'cost-vs-n',
  title: 'Cost counts vs context length',
  caption: 'Counts every mechanism reports, per query (results.json sums them over queries): score evaluations, ' +
    'oracle calls (quantum search) and samples (sampling methods). Grey dashed lines are the scalings the ' +
    'algorithms promise — n for a dense scan, √(kn) for quantum top-k (Dürr et al., quant-ph/0401091), √n for ' +
    'Grover search, log₂ n — drawn with constant 1, so compare slopes, not heights. Lines that coincide ' +
    'are named in the subtitle ("a = b").',
  build: costVsNSpec,
};
