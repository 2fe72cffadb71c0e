/**
 * `results.csv`: the records flattened to one row each, with the same fields as results.json in dotted column
 * names (`timing.medianMs` — query time —, `prepare.timing.medianMs`, `fidelity.relL2`, `rss.peakBytes`,
 * `modeledQpuSeconds.<profile>`, …) for spreadsheets and pandas. Objects without fixed keys (options,
 * workloadOptions, cost.extra, prepare.cost.extra) are one JSON-text column each.
 */
import type { BenchRecord } from './results.ts';

type Cell = string | number | boolean | null | undefined;

const FIXED: ReadonlyArray<readonly [string, (r: BenchRecord) => Cell]> = [
  ['method', (r) => r.method],
  ['variant', (r) => r.variant],
  ['budget', (r) => r.budget],
  ['family', (r) => r.family],
  ['options', (r) => JSON.stringify(r.options)],
  ['workload', (r) => r.workload],
  ['workloadOptions', (r) => JSON.stringify(r.workloadOptions)],
  ['mode', (r) => r.mode],
  ['causal', (r) => r.causal],
  ['n', (r) => r.n],
  ['m', (r) => r.m],
  ['d', (r) => r.d],
  ['dv', (r) => r.dv],
  ['seed', (r) => r.seed],
  ['status', (r) => r.status],
  ['reason', (r) => r.reason],
  ['path', (r) => r.path],
  ['timing.medianMs', (r) => r.timing?.medianMs],
  ['timing.p99Ms', (r) => r.timing?.p99Ms],
  ['timing.rme', (r) => r.timing?.rme],
  ['timing.samples', (r) => r.timing?.samples],
  ['timing.warmupMs', (r) => r.timing?.warmupMs],
  ['cost.scoreEvaluations', (r) => r.cost?.scoreEvaluations],
  ['cost.oracleQueries', (r) => r.cost?.oracleQueries],
  ['cost.groverIterations', (r) => r.cost?.groverIterations],
  ['cost.samples', (r) => r.cost?.samples],
  ['cost.selectedPerQuery', (r) => r.cost?.selectedPerQuery],
  ['cost.extra', (r) => (r.cost ? JSON.stringify(r.cost.extra) : null)],
  ['prepare.timing.medianMs', (r) => r.prepare?.timing.medianMs],
  ['prepare.timing.p99Ms', (r) => r.prepare?.timing.p99Ms],
  ['prepare.timing.rme', (r) => r.prepare?.timing.rme],
  ['prepare.timing.samples', (r) => r.prepare?.timing.samples],
  ['prepare.timing.warmupMs', (r) => r.prepare?.timing.warmupMs],
  ['prepare.cost.scoreEvaluations', (r) => r.prepare?.cost.scoreEvaluations],
  ['prepare.cost.extra', (r) => (r.prepare ? JSON.stringify(r.prepare.cost.extra) : null)],
  ['fidelity.reference', (r) => r.fidelity?.reference],
  ['fidelity.relL2', (r) => r.fidelity?.relL2],
  ['fidelity.maxAbs', (r) => r.fidelity?.maxAbs],
  ['fidelity.cosine', (r) => r.fidelity?.cosine],
  ['fidelity.massRecall', (r) => r.fidelity?.massRecall],
  ['fidelity.topkRecall', (r) => r.fidelity?.topkRecall],
  ['fidelity.accuracy', (r) => r.fidelity?.accuracy],
  ['rss.peakBytes', (r) => r.rss?.peakBytes],
  ['rss.startBytes', (r) => r.rss?.startBytes],
  ['rss.cellPeakBytes', (r) => r.rss?.cellPeakBytes],
];

/** RFC 4180 field: quoted when it holds a comma, quote or line break; null/undefined are empty. */
export function csvField(x: Cell): string {
  if (x === null || x === undefined) return '';
  const s = String(x);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Every hardware profile that appears in any record, sorted (one column each). */
function profiles(records: readonly BenchRecord[]): string[] {
  const names = new Set<string>();
  for (const r of records) for (const p of Object.keys(r.modeledQpuSeconds ?? {})) names.add(p);
  return [...names].sort();
}

export function toCsv(records: readonly BenchRecord[]): string {
  const qpu = profiles(records);
  const header = [...FIXED.map(([name]) => name), ...qpu.map((p) => `modeledQpuSeconds.${p}`)];
  const rows = records.map((r) => [
    ...FIXED.map(([, get]) => get(r)),
    ...qpu.map((p) => r.modeledQpuSeconds?.[p]),
  ]);
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
