/**
 * Equal-budget charts (`qattn bench --budget`, bench/budget.ts) and task accuracy:
 *  - fidelity-vs-budget: per workload at its largest n, relL2 (operator workloads) or task accuracy against the
 *    per-query budget — a Pareto curve per method instead of one point at its defaults (Sparse Frontier,
 *    arXiv 2504.17768);
 *  - budget-to-target: the smallest budget swept that reaches relL2 ≤ 0.01 (or accuracy ≥ 0.9) against n;
 *  - accuracy-vs-n: task accuracy against n per variant (bench/workloads/tasks.ts).
 */
import { ACCURACY_TARGET, baseVariant, budgetReach, REL_L2_TARGET } from '../budget.ts';
import type { OkRecord, ResultsDoc } from '../results.ts';
import { asSpec, distinct, emptyChart, floorForLog, mechanismColor, methodsOf, nEncoding, okRecords, runShape, workloadFacet, workloadsOf, wrapParts, type ChartDef, type ChartSpec } from './common.ts';
import { REL_L2_FLOOR } from './fidelity-vs-n.ts';

const WIDTH = 340;

/** Base variants (labels without [budget=B]) in run order. */
function basesOf(doc: ResultsDoc, recs: readonly OkRecord[]): string[] {
  return distinct(methodsOf(doc).flatMap((v) => recs.filter((r) => r.variant === v).map(baseVariant)));
}

const budgetAxis = (title = 'per-query budget B'): Record<string, unknown> => ({
  field: 'budget', type: 'quantitative', title, scale: { type: 'log', base: 2 }, axis: { labelExpr: "'2^' + round(log(datum.value) / LN2)", grid: true },
});

const isTask = (recs: readonly OkRecord[], workload: string): boolean => recs.some((r) => r.workload === workload && r.fidelity.accuracy !== null);

export function fidelityVsBudgetSpec(doc: ResultsDoc): ChartSpec {
  const title = 'Fidelity vs budget';
  const recs = okRecords(doc).filter((r) => r.budget !== null);
  if (!recs.length) return emptyChart(title, 'no budget sweep in this run (qattn bench --budget 64,256,1024,4096)');
  const rows = workloadsOf(doc).flatMap((w) => {
    const mine = recs.filter((r) => r.workload === w);
    if (!mine.length) return [];
    const n = Math.max(...mine.map((r) => r.n));
    const task = isTask(recs, w);
    return mine.filter((r) => r.n === n).map((r) => ({
      workload: `${w} (n = 2^${Math.log2(n)}; ${task ? 'task accuracy' : 'relL2'})`, method: baseVariant(r), budget: r.budget!,
      value: task ? r.fidelity.accuracy! : floorForLog(r.fidelity.relL2, REL_L2_FLOOR), task,
    }));
  });
  const layer = (task: boolean): Record<string, unknown> => ({
    transform: [{ filter: `datum.task == ${task}` }],
    facet: { field: 'workload', type: 'nominal', title: null }, columns: 2,
    spec: {
      width: WIDTH, height: 220, mark: { type: 'line', point: { size: 50 } },
      encoding: {
        x: budgetAxis(), color: mechanismColor(doc, distinct(rows.map((r) => r.method))),
        y: task
          ? { field: 'value', type: 'quantitative', title: `task accuracy (target ≥ ${ACCURACY_TARGET})`, scale: { domain: [0, 1] } }
          : { field: 'value', type: 'quantitative', title: `relative L2 error (target ≤ ${REL_L2_TARGET})`, scale: { type: 'log' }, axis: { format: '.0e' } },
      },
    },
  });
  const kinds = distinct(rows.map((r) => r.task));
  return asSpec({
    title: { text: title, subtitle: [`each workload at its largest n; ${runShape(doc)}`, 'one curve per method: its knob set from each budget (equal compute, not its defaults)'] },
    data: { values: rows },
    vconcat: kinds.map(layer),
    resolve: { scale: { color: 'shared' } },
  });
}

export function budgetToTargetSpec(doc: ResultsDoc): ChartSpec {
  const title = 'Budget needed to reach the target vs context length';
  const reach = budgetReach(doc.records);
  if (!reach.length) return emptyChart(title, 'no budget sweep in this run (qattn bench --budget 64,256,1024,4096)');
  const rows = reach.filter((r) => r.budget !== null).map((r) => ({ workload: r.workload, method: r.base, n: r.n, budget: r.budget! }));
  const never = distinct(reach.filter((r) => r.budget === null).map((r) => `${r.base} on ${r.workload}`));
  if (!rows.length) return emptyChart(title, 'no method reached its target at any budget swept');
  return asSpec({
    title: {
      text: title,
      subtitle: [`smallest budget swept reaching relL2 ≤ ${REL_L2_TARGET} (task workloads: accuracy ≥ ${ACCURACY_TARGET}); ${runShape(doc)}`,
        'lines of methods reaching it at the same budgets lie on top of one another',
        ...(never.length ? wrapParts([`not reached at some n (no point there): ${never[0]}`, ...never.slice(1)], 100, ', ') : [])],
    },
    data: { values: rows },
    facet: workloadFacet(doc), columns: 2,
    spec: {
      width: WIDTH, height: 220, mark: { type: 'line', point: { size: 60 } },
      encoding: { x: nEncoding(rows.map((r) => r.n), WIDTH), y: budgetAxis('smallest budget reaching the target'), color: mechanismColor(doc, distinct(rows.map((r) => r.method))) },
    },
  });
}

export function accuracyVsNSpec(doc: ResultsDoc): ChartSpec {
  const title = 'Task accuracy vs context length';
  const rows = okRecords(doc).filter((r) => r.fidelity.accuracy !== null).map((r) => ({ workload: r.workload, method: r.variant, n: r.n, accuracy: r.fidelity.accuracy! }));
  if (!rows.length) return emptyChart(title, 'no task workload in this run (--workloads single-key,multi-key,multi-value,aggregation)');
  return asSpec({
    title: { text: title, subtitle: [`fraction of queries answered correctly (bench/workloads/tasks.ts); ${runShape(doc)}`] },
    data: { values: rows },
    facet: workloadFacet(doc), columns: 2,
    spec: {
      width: WIDTH, height: 220, mark: { type: 'line', point: { size: 50 } },
      encoding: {
        x: nEncoding(rows.map((r) => r.n), WIDTH),
        y: { field: 'accuracy', type: 'quantitative', title: 'task accuracy', scale: { domain: [0, 1] } },
        color: mechanismColor(doc, methodsOf(doc).filter((m) => rows.some((r) => r.method === m))),
      },
    },
  });
}

export const fidelityVsBudgetChart: ChartDef = {
  id: 'fidelity-vs-budget',
  title: 'Fidelity vs budget',
  caption: 'Each method with its knob set from each per-query budget (qattn bench --budget; `qattn list` says what a unit is for each): ' +
    'relative L2 error against exact float64 attention on operator workloads, task accuracy on task workloads, at each workload\'s largest n. ' +
    'A curve, not a point at the defaults, so a bad method is told from a badly configured one.',
  build: fidelityVsBudgetSpec,
  applies: (doc) => doc.records.some((r) => r.budget !== null),
};

export const budgetToTargetChart: ChartDef = {
  id: 'budget-to-target',
  title: 'Budget needed vs context length',
  caption: `The smallest budget swept at which a method reaches relL2 ≤ ${REL_L2_TARGET} (task workloads: accuracy ≥ ${ACCURACY_TARGET}), against n; ` +
    'a method that never reaches it at some n has no point there (named in the subtitle).',
  build: budgetToTargetSpec,
  applies: (doc) => doc.records.some((r) => r.budget !== null),
};

export const accuracyVsNChart: ChartDef = {
  id: 'accuracy-vs-n',
  title: 'Task accuracy vs context length',
  caption: 'The fraction of queries whose output answers their task: single-key and multi-key retrieval (nearest the needle\'s value), ' +
    'multi-value (nearest the mean of all its needles\' values), aggregation (within the stated relative error of the mean of many matching values).',
  build: accuracyVsNSpec,
  applies: (doc) => doc.records.some((r) => r.status === 'ok' && r.fidelity.accuracy !== null),
};
