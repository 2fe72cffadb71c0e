/**
 * `npm run bench:mechanisms` — fidelity and cost counts of every registered mechanism on aligned planted needles
 * (the needle workload with queryNorm = 24: m = 16 queries, 4 needles per query of the background's norm √d
 * that win by direction and carry > 99 % of its softmax mass, d = dv = 64) at n = 2^12 … 2^18. A plan for the
 * runner of `qattn bench` (bench/runner.ts: float64 reference, prepared once, timed, skipped with the reason
 * when a phase would exceed 60 s) plus assertions over its records. Default options (k = 32 for grover-topk
 * and topk-exact). Wall times are simulator / CPU times: never quantum speed.
 *
 * Checks (PASS/FAIL lines; exit code 1 on any FAIL):
 *  - every query's exact mass on its needles is > 99 % (the workload regenerated from its seed, float64 weights);
 *  - grover-topk (k = 32) loses at most what topk-exact (k = 32) loses, per n: relL2 and mass recall within a
 *    tiny float tolerance — topk-exact is the ceiling of any top-k selection of the same k;
 *  - grover-topk's mean oracle calls per query grow as √n: least-squares exponent in 0.5 ± 0.1 (Θ(√(kN)) for
 *    Dürr–Heiligman–Høyer–Mhalla top-k, quant-ph/0401091, plus a log factor from certification);
 *  - dequantized-topk's rejection trials per sample stay flat: exponent ≤ 0.1 (T = ‖q‖²‖K‖_F²/‖Kq‖² is a
 *    ratio of sums over keys, Tang arXiv 1807.04271).
 */
import { massOnSelected } from '../attention/fidelity.ts';
import { referenceWeights } from '../attention/kernels/reference.ts';
import { buildConfig } from './config.ts';
import { fitLine } from './fits.ts';
import { formatCount, formatMs, formatN, formatSci, table } from './format.ts';
import { cellKey } from './journal.ts';
import { progressReporter } from './progress.ts';
import type { BenchRecord, OkRecord } from './results.ts';
import { runBench } from './runner.ts';
import { alignedNeedleInput } from './workloads/needle.ts';

const M = 16, D = 64, NEEDLES = 4, QUERY_NORM = 24;
const LENGTHS = [12, 13, 14, 15, 16, 17, 18].map((e) => 2 ** e);
/** "Loses at most": grover may exceed topk-exact's loss only by float rounding of a reordered sum. */
const LOSS_TOL = 1e-9;

let failures = 0;
function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

const cell = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : formatCount(x));

function printN(records: readonly BenchRecord[], n: number): void {
  const here = records.filter((r) => r.n === n);
  const ok = here.filter((r): r is OkRecord => r.status === 'ok');
  const header = ['mechanism', 'relL2', 'massRecall', 'scoreEvals', 'oracleCalls', 'samples', 'rejTrials', 'trials/sample', 'query ms'];
  console.log(`\n== n = ${formatN(n)}\n${table(header, ok.map((r) => [
    r.variant, r.fidelity.relL2.toExponential(2), r.fidelity.massRecall === null ? '—' : r.fidelity.massRecall.toFixed(6), cell(r.cost.scoreEvaluations),
    cell(r.cost.oracleQueries), cell(r.cost.samples), cell(r.cost.extra['rejectionTrials']), cell(r.cost.extra['trialsPerSample']), formatMs(r.timing.medianMs),
  ]))}`);
  for (const r of here) if (r.status !== 'ok') console.log(`  ${r.status} ${r.variant}: ${r.reason}`);
  for (const r of ok) {
    if (!r.modeledQpuSeconds) continue;
    const perProfile = Object.entries(r.modeledQpuSeconds).map(([p, sec]) => `${p} ${formatSci(sec)} s`).join(', ');
    console.log(`  ${r.variant} modeled QPU time (bench/qpu.ts; simulator wall time above is not quantum speed): ${perProfile}`);
  }
}

/** Minimum over queries of the exact (float64) mass on the query's needles, on the input the runner generated. */
function minNeedleMass(n: number, seed: number): number {
  const input = alignedNeedleInput({ mode: 'decode', n, m: M, d: D, causal: false, seed }, NEEDLES, QUERY_NORM, 0.15);
  return Math.min(...input.needles.map((mine, i) => massOnSelected(referenceWeights(input, i), mine)));
}

/** Least-squares exponent of y ∝ n^b over the ok records of `variant` where y is defined and positive. */
function exponent(records: readonly BenchRecord[], variant: string, value: (r: OkRecord) => number | undefined | null): number | null {
  const pts = records.filter((r): r is OkRecord => r.status === 'ok' && r.variant === variant).flatMap((r) => {
    const y = value(r);
    return y !== undefined && y !== null && y > 0 ? [[Math.log(r.n), Math.log(y)] as const] : [];
  });
  return fitLine(pts.map((p) => p[0]), pts.map((p) => p[1]))?.slope ?? null;
}

function checkAll(records: readonly BenchRecord[], seed: number): void {
  console.log('\n== checks');
  const find = (variant: string, n: number): OkRecord | undefined => records.find((r): r is OkRecord => r.status === 'ok' && r.variant === variant && r.n === n);
  for (const n of LENGTHS) {
    const mass = minNeedleMass(n, seed);
    check(mass > 0.99, `n = ${formatN(n)}: every query has > 99 % exact mass on its needles (min ${(100 * mass).toFixed(4)} %)`);
    const g = find('grover-topk', n), t = find('topk-exact', n);
    if (!g || !t) {
      check(false, `n = ${formatN(n)}: grover-topk and topk-exact both ran`);
      continue;
    }
    const ok = g.fidelity.relL2 <= t.fidelity.relL2 + LOSS_TOL && g.fidelity.massRecall! >= t.fidelity.massRecall! - LOSS_TOL;
    check(ok, `n = ${formatN(n)}: grover-topk loses ≤ topk-exact (k = 32): relL2 ${g.fidelity.relL2.toExponential(3)} vs ${t.fidelity.relL2.toExponential(3)}, ` +
      `mass recall ${g.fidelity.massRecall!.toFixed(6)} vs ${t.fidelity.massRecall!.toFixed(6)} (failed queries ${g.cost.extra['failedQueries']})`);
  }
  const perQuery = (r: OkRecord): number => (r.cost.oracleQueries ?? 0) / r.m;
  const calls = exponent(records, 'grover-topk', perQuery);
  const listed = LENGTHS.flatMap((n) => {
    const g = find('grover-topk', n);
    return g ? [`${formatN(n)} ${formatCount(perQuery(g))}`] : [];
  }).join(', ');
  check(calls !== null && Math.abs(calls - 0.5) <= 0.1, `grover-topk mean oracle calls per query ∝ n^${calls?.toFixed(3)} (want 0.5 ± 0.1): ${listed}`);
  const trials = exponent(records, 'dequantized-topk', (r) => r.cost.extra['trialsPerSample']);
  check(trials !== null && trials <= 0.1, `dequantized-topk rejection trials per sample ∝ n^${trials?.toFixed(3)} (want ≤ 0.1)`);
}

const t0 = performance.now();
const { plan } = buildConfig({
  workloads: ['needle'], opt: [`needle.queryNorm=${QUERY_NORM}`, `needle.needles=${NEEDLES}`], lengths: LENGTHS.map(String),
  queries: M, dim: D, budgetS: 60, quick: true,
});
console.log(`bench:mechanisms: ${plan.methods.length} mechanisms on aligned needles (needle.queryNorm=${QUERY_NORM}), decode m = ${M}, d = ${D}, n = ${LENGTHS.map(formatN).join(', ')}`);
const store = new Map<string, BenchRecord>();
const progress = progressReporter(process.stderr);
const records = await runBench(plan, { get: (k) => store.get(k), add: (r) => void store.set(cellKey(r), r) }, progress);
progress.end();
for (const n of LENGTHS) printN(records, n);
checkAll(records, plan.seed);
console.log(`\n${failures === 0 ? 'all checks passed' : `${failures} check(s) FAILED`} in ${formatMs(performance.now() - t0)}`);
if (failures > 0) process.exitCode = 1;
