/**
 * Fidelity against cost at the largest n of each workload: a scatter of relative L2 error against (a) measured
 * time per query and (b) classical work per query (d-dimensional dot products), with the Pareto front —
 * the points no other point beats on both axes — as a staircase. A method off the front is dominated: some
 * other method is at least as cheap and at least as accurate on this input.
 */
import type { OkRecord, ResultsDoc } from '../results.ts';
import { asSpec, emptyChart, workloadFacet, floorForLog, mechanismColor, methodsOf, okRecords, runShape, workloadsOf, type ChartDef, type ChartSpec } from './common.ts';
import { REL_L2_FLOOR } from './fidelity-vs-n.ts';

export interface ParetoRow {
  readonly workload: string;
  readonly method: string;
  /** The registered mechanism of the variant. */
  readonly mechanism: string;
  readonly family: string;
  readonly n: number;
  readonly relL2: number;
  readonly relL2Plot: number;
  readonly msPerQuery: number;
  /**
   * Classical dot products per query; null when the method reports none, and for quantum mechanisms, whose
   * oracle calls are not classical work (each is a QRAM read and a q·k circuit: tens of thousands of gate
   * layers at n = 2^20 in oracles/cost-model.ts) — their QPU time is the crossover chart's.
   */
  readonly workPerQuery: number | null;
  readonly frontTime: boolean;
  readonly frontWork: boolean;
}

/** Indices of the points not dominated (x ≤ and y ≤, one strictly) by another point; ties both kept. */
export function paretoFront(points: ReadonlyArray<{ readonly x: number; readonly y: number }>): Set<number> {
  const order = points.map((_, i) => i).sort((a, b) => points[a]!.x - points[b]!.x || points[a]!.y - points[b]!.y);
  const front = new Set<number>();
  let bestY = Infinity, bestX = -Infinity;
  for (const i of order) {
    const p = points[i]!;
    if (p.y < bestY || (p.y === bestY && p.x === bestX)) {
      front.add(i);
      bestY = p.y;
      bestX = p.x;
    }
  }
  return front;
}

/**
 * Extra counters that are d-dimensional dot products too: LSH's hyperplane projections and Performer's random
 * feature projections. Samples are not added: each sample's cost is the score evaluation it needs, counted already.
 */
export const DOT_PRODUCT_EXTRAS = ['hashEvaluations', 'featureEvaluations'] as const;

/**
 * Classical dot products per query, or null when a mechanism reports none — and null for quantum mechanisms:
 * counting an oracle call as one unit of work equal to a dot product (as this chart once did) put grover-topk
 * on the front (issue 13, finding 1), and its host-side dot products alone would hide the oracle calls.
 */
export function workPerQuery(r: OkRecord): number | null {
  if (r.family === 'quantum') return null;
  const extras = DOT_PRODUCT_EXTRAS.map((k) => r.cost.extra[k] ?? 0);
  const parts = [r.cost.scoreEvaluations, ...extras].filter((x): x is number => x !== null);
  const total = parts.reduce((s, x) => s + x, 0);
  return total > 0 ? total / r.m : null; // 0 reported work has no place on a log axis
}

/** The records at the largest n (with an ok record) of each workload. */
export function largestNRecords(doc: ResultsDoc): OkRecord[] {
  const ok = okRecords(doc);
  return workloadsOf(doc).flatMap((w) => {
    const mine = ok.filter((r) => r.workload === w);
    const maxN = Math.max(...mine.map((r) => r.n));
    return mine.filter((r) => r.n === maxN);
  });
}

export function paretoRows(doc: ResultsDoc): ParetoRow[] {
  return workloadsOf(doc).flatMap((w) => {
    const recs = largestNRecords(doc).filter((r) => r.workload === w);
    const base = recs.map((r) => ({
      workload: w, method: r.variant, mechanism: r.method, family: r.family, n: r.n, relL2: r.fidelity.relL2,
      relL2Plot: floorForLog(r.fidelity.relL2, REL_L2_FLOOR), msPerQuery: r.timing.medianMs / r.m, workPerQuery: workPerQuery(r),
    }));
    const byTime = paretoFront(base.map((b) => ({ x: b.msPerQuery, y: b.relL2 })));
    const withWork = base.flatMap((b, i) => (b.workPerQuery === null ? [] : [{ i, x: b.workPerQuery, y: b.relL2 }]));
    const byWork = new Set([...paretoFront(withWork)].map((j) => withWork[j]!.i));
    return base.map((b, i) => ({ ...b, frontTime: byTime.has(i), frontWork: byWork.has(i) }));
  });
}

function panel(doc: ResultsDoc, rows: readonly ParetoRow[], x: 'msPerQuery' | 'workPerQuery', front: 'frontTime' | 'frontWork', title: string): Record<string, unknown> {
  const xEnc = { field: x, type: 'quantitative', title, scale: { type: 'log' }, axis: { format: '~g' } };
  const yEnc = { field: 'relL2Plot', type: 'quantitative', title: 'relative L2 error', scale: { type: 'log' }, axis: { format: '.0e' } };
  return {
    transform: [{ filter: `isValid(datum.${x}) && datum.${x} > 0` }],
    facet: workloadFacet(doc), columns: 2,
    spec: {
      width: 360, height: 260,
      encoding: { x: xEnc, y: yEnc },
      layer: [
        {
          transform: [{ filter: `datum.${front}` }],
          mark: { type: 'line', interpolate: 'step-after', color: '#888', strokeDash: [4, 3], strokeWidth: 1.5 },
          encoding: { order: { field: x, type: 'quantitative' } },
        },
        {
          // A ring around front points: a one-point front (one method dominating all) draws no staircase.
          transform: [{ filter: `datum.${front}` }],
          mark: { type: 'point', shape: 'circle', size: 360, filled: false, color: '#333', strokeWidth: 1.2 },
        },
        {
          mark: { type: 'point', size: 110, filled: true, opacity: 0.9 },
          encoding: {
            color: mechanismColor(doc, methodsOf(doc).filter((m) => rows.some((r) => r.method === m))),
            shape: { field: 'family', type: 'nominal', title: 'family', legend: { orient: 'bottom', direction: 'vertical' } },
          },
        },
      ],
    },
  };
}

export function fidelityVsCostSpec(doc: ResultsDoc): ChartSpec {
  const rows = paretoRows(doc);
  if (!rows.length) return emptyChart('Fidelity vs cost (Pareto front)', 'no cell of this run finished: nothing to draw');
  return asSpec({
    title: {
      text: 'Fidelity vs cost (Pareto front)',
      subtitle: [`at the largest n of each workload; ${runShape(doc)}`,
        'ringed, joined by a dashed staircase: the Pareto front (nothing cheaper is more accurate)',
        ...(rows.some((r) => r.family === 'quantum')
          ? ['bottom: classical work only — quantum mechanisms are left out (an oracle call is not a dot product; QPU time: crossover chart)']
          : []),
        ...(rows.some((r) => r.mechanism === 'ann-topk')
          ? ['ann-topk work counts only its exact re-scoring (usearch does not report HNSW distance computations)']
          : [])],
    },
    data: { values: rows },
    vconcat: [
      panel(doc, rows, 'msPerQuery', 'frontTime', 'median time per query (ms; quantum = simulator time)'),
      panel(doc, rows, 'workPerQuery', 'frontWork', 'classical dot products per query'),
    ],
    resolve: { scale: { color: 'shared', shape: 'shared' } },
  });
}

export const fidelityVsCostChart: ChartDef = {
  id: 'fidelity-vs-cost',
  title: 'Fidelity vs cost (Pareto front)',
  caption: 'Each point is one mechanism at the largest context length of a workload. Top: relative L2 error against ' +
    'measured time per query (for quantum mechanisms this is classical simulator time — see the crossover chart for ' +
    'modeled QPU time). Bottom: against hardware-independent classical work per query — d-dimensional dot products ' +
    '(score evaluations, LSH hash projections, Performer feature projections). Quantum mechanisms are not on it: an ' +
    'oracle call is a QRAM read and a q·k circuit, not one unit of classical work, and their classical host work alone ' +
    'would hide the oracle calls; the crossover chart models their QPU time. ann-topk ' +
    'counts only its exact re-scoring: usearch does not report the distance computations of its HNSW build and ' +
    'search, so its work is understated. Ringed points, joined by the dashed staircase, form the Pareto front; ' +
    'methods off it are dominated.',
  build: fidelityVsCostSpec,
};
