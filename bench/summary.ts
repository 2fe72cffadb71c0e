/**
 * The end-of-run summary printed by `qattn bench`: per (workload, mode), tables of method × n for median query
 * time (one attend call on a prepared cache), median prepare time (once per cache), relative L2 error, mass
 * recall, oracle calls and modeled QPU time; then cells that did not run, the scaling fits (query and prepare
 * time apart), and the theory check.
 */
import { formatCount, formatMs, formatN, formatSci, table } from './format.ts';
import type { BenchRecord, FitEntry, OkRecord } from './results.ts';
import { theoryChecks, THEORY_TOLERANCE, type TheoryCheck } from './theory.ts';

interface Metric {
  readonly title: string;
  readonly value: (r: OkRecord) => number | null;
  readonly format: (x: number) => string;
}

const METRICS: readonly Metric[] = [
  { title: 'query time (median of attend calls on the prepared cache, all queries)', value: (r) => r.timing.medianMs, format: formatMs },
  // The once-per-cache work (sessions, hash tables, an index, trees, key features), apart from the queries.
  { title: 'prepare time (median; once per KV cache)', value: (r) => r.prepare?.timing.medianMs ?? null, format: formatMs },
  { title: 'relL2 vs exact', value: (r) => r.fidelity.relL2, format: formatSci },
  { title: 'mass recall', value: (r) => r.fidelity.massRecall, format: (x) => x.toFixed(3) },
  { title: 'task accuracy (fraction of queries answered; task workloads)', value: (r) => r.fidelity.accuracy, format: (x) => x.toFixed(3) },
  { title: 'oracle calls', value: (r) => r.cost.oracleQueries, format: formatCount },
];

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) out.set(key(x), [...(out.get(key(x)) ?? []), x]);
  return out;
}

/** One method × n table of a metric, or null when no method has it. */
function metricTable(records: readonly BenchRecord[], metric: Metric): string | null {
  const ns = [...new Set(records.map((r) => r.n))].sort((a, b) => a - b);
  const methods = [...new Set(records.map((r) => r.variant))];
  let any = false;
  const rows = methods.map((method) => [
    method,
    ...ns.map((n) => {
      const r = records.find((x) => x.variant === method && x.n === n);
      if (!r) return '';
      if (r.status !== 'ok') return r.status;
      const v = metric.value(r);
      if (v === null) return '–';
      any = true;
      return metric.format(v);
    }),
  ]);
  return any ? `${metric.title}:\n${table(['method', ...ns.map(formatN)], rows)}` : null;
}

/**
 * Modeled QPU seconds of quantum mechanisms, one row per (method, hardware profile): the third speed number,
 * printed apart from the simulator's wall time above so the two are never read as one.
 */
function qpuTable(records: readonly BenchRecord[]): string | null {
  const quantum = records.filter((r): r is OkRecord => r.status === 'ok' && r.modeledQpuSeconds !== null);
  if (!quantum.length) return null;
  const ns = [...new Set(records.map((r) => r.n))].sort((a, b) => a - b);
  const rows: string[][] = [];
  for (const method of new Set(quantum.map((r) => r.variant))) {
    const mine = quantum.filter((r) => r.variant === method);
    for (const profile of new Set(mine.flatMap((r) => Object.keys(r.modeledQpuSeconds ?? {})))) {
      const cell = (n: number): string => {
        const v = mine.find((r) => r.n === n)?.modeledQpuSeconds?.[profile];
        return v === undefined ? '' : formatMs(v * 1000);
      };
      rows.push([`${method} @ ${profile}`, ...ns.map(cell)]);
    }
  }
  const title = 'modeled QPU time of one call, all m queries (hardware model incl. QRAM loading; not the simulator time above):';
  return `${title}\n${table(['method @ profile', ...ns.map(formatN)], rows)}`;
}

function failures(records: readonly BenchRecord[]): string | null {
  const bad = records.filter((r) => r.status !== 'ok');
  if (!bad.length) return null;
  const byReason = groupBy(bad, (r) => `${r.variant}: ${r.status} — ${r.reason}`);
  const lines = [...byReason].map(([reason, rs]) => `  ${reason} (n=${rs.map((r) => formatN(r.n)).join(', ')})`);
  return `cells that did not run (${bad.length}):\n${lines.join('\n')}`;
}

/** How a fit metric is named in tables: the two times by what they time, counts by their field. */
export function metricName(metric: FitEntry['metric']): string {
  return metric === 'time' ? 'query time' : metric === 'prepareTime' ? 'prepare time' : metric;
}

function fitsTable(fits: readonly FitEntry[]): string {
  const rows = fits.map((f) => [
    f.variant, `${f.workload} ${f.mode}`, metricName(f.metric), f.exponent.toFixed(3),
    `[${f.ci95[0].toFixed(3)}, ${f.ci95[1].toFixed(3)}]`, `${formatN(f.nMin)}…${formatN(f.nMax)} (${f.points})`,
  ]);
  return `scaling fits, metric ∝ n^exponent:\n${table(['method', 'workload', 'metric', 'exponent', '95% CI', 'n range (points)'], rows, [1, 2])}`;
}

export function formatTheory(checks: readonly TheoryCheck[]): string {
  const rows = checks.map((c) => [
    `${c.expectation.method} ${c.expectation.metric}`,
    c.fit ? c.fit.exponent.toFixed(3) : '–',
    c.fit ? `[${c.fit.ci95[0].toFixed(3)}, ${c.fit.ci95[1].toFixed(3)}]` : '–',
    c.expected.toFixed(2),
    c.status === 'n/a' ? `n/a: ${c.note}` : c.status.toUpperCase(),
  ]);
  const head = `theory check (gaussian decode, |exponent − expected| ≤ ${THEORY_TOLERANCE}):`;
  return `${head}\n${table(['metric', 'fitted', '95% CI', 'expected', 'result'], rows, [4])}`;
}

export function formatSummary(records: readonly BenchRecord[], fits: readonly FitEntry[]): string {
  const parts: string[] = [];
  for (const [key, rs] of groupBy(records, (r) => `${r.workload} ${r.mode}${r.causal ? ' causal' : ''}`)) {
    const first = rs[0]!;
    parts.push(`== ${key} (m=${first.mode === 'prefill' ? 'n' : first.m}, d=${first.d}) ==`);
    for (const m of METRICS) {
      const t = metricTable(rs, m);
      if (t) parts.push(t);
    }
    const q = qpuTable(rs);
    if (q) parts.push(q);
  }
  const f = failures(records);
  if (f) parts.push(f);
  if (fits.length) parts.push(fitsTable(fits));
  parts.push(formatTheory(theoryChecks(fits)));
  return parts.join('\n\n');
}
