/**
 * `npm run bench:mechanisms` — fidelity and cost counts of every registered mechanism on a planted-needle
 * workload (m = 16 queries, 4 needle keys per query carrying > 99 % of its softmax mass, d = dv = 64) at
 * n = 2^12 … 2^18, against the float64 reference. Default options, except k = 32 for grover-topk and
 * topk-exact. A mechanism is skipped at an n where its run, extrapolated from the previous n, would exceed
 * SKIP_MS (the reason is printed). Wall times are simulator / CPU times: never quantum speed.
 *
 * Checks (PASS/FAIL lines; exit code 1 on any FAIL):
 *  - every query's exact mass on its needles is > 99 % (from the float64 reference weights);
 *  - grover-topk (k = 32) loses at most what topk-exact (k = 32) loses, per n: relL2 and mass recall within a
 *    tiny float tolerance — topk-exact is the ceiling of any top-k selection of the same k;
 *  - grover-topk's mean oracle calls per query grow as √n: least-squares exponent in 0.5 ± 0.1 (Θ(√(kN)) for
 *    Dürr–Heiligman–Høyer–Mhalla top-k, quant-ph/0401091, plus a log factor from certification);
 *  - dequantized-topk's rejection trials per sample stay flat: exponent ≤ 0.1 (T = ‖q‖²‖K‖_F²/‖Kq‖² is a
 *    ratio of sums over keys, Tang arXiv 1807.04271).
 */
import { massOnSelected, relL2 } from '../attention/fidelity.ts';
import { referenceWeights } from '../attention/kernels/reference.ts';
import { allMechanisms } from '../attention/registry.ts';
import { runAttention } from '../attention/run.ts';
import type { AttentionInput, CostReport, OptionValue } from '../attention/types.ts';
import { createRng, normalArray, type Rng } from '../core/rng.ts';
import { fitLine } from './fits.ts';
import { formatCount, formatMs, formatN, formatSci, table } from './format.ts';
import { modeledQpuSeconds } from './qpu.ts';

const M = 16, D = 64, NEEDLES = 4;
const SIZES = [12, 13, 14, 15, 16, 17, 18].map((e) => 2 ** e);
/** ‖q‖: the needle logit is ≈ QUERY_NORM (‖needle‖ = √d, scale 1/√d), the background logits are N(0, (‖q‖/8)²). */
const QUERY_NORM = 24;
const SKIP_MS = 60_000;
const K = 32;
const GIVEN: Readonly<Record<string, Record<string, OptionValue>>> = { 'grover-topk': { k: K }, 'topk-exact': { k: K } };
/** "Loses at most": grover may exceed topk-exact's loss only by float rounding of a reordered sum. */
const LOSS_TOL = 1e-9;

interface Workload {
  readonly input: AttentionInput;
  readonly needles: readonly Int32Array[];
}

function unit(x: Float64Array): Float64Array {
  const norm = Math.hypot(...x);
  return x.map((v) => v / norm);
}

/** `count` distinct positions in [0, n) (rejection: count ≪ n here). */
function distinctPositions(rng: Rng, n: number, count: number): number[] {
  const seen = new Set<number>();
  while (seen.size < count) seen.add(rng.int(n));
  return [...seen];
}

/**
 * Keys ~ N(0, I_d) and needles of the SAME typical norm √d: needle t of query i is √d·unit(u_i + 0.15·g_t)
 * (u_i the query's random unit direction, g_t a random unit vector, so needles differ slightly), and the
 * query is QUERY_NORM·u_i — its needles win by direction, not by length, as in real key caches whose keys
 * have similar norms. Needles of much larger norm would inflate ‖K‖_F² and make dequantized-topk's trials
 * per sample T = ‖q‖²‖K‖_F²/‖Kq‖² climb with n (exponent ≈ 0.24 over 2^12…2^18) for a reason real caches
 * do not have; with ordinary norms T ≈ d·n/(n + 4·d) is flat (exponent ≈ 0.02).
 */
function needleWorkload(n: number, seed: number): Workload {
  const rng = createRng(seed);
  const k = normalArray(rng, n * D);
  const positions = distinctPositions(rng, n, M * NEEDLES);
  const q = new Float32Array(M * D), needles: Int32Array[] = [];
  for (let i = 0; i < M; i++) {
    const u = unit(Float64Array.from(normalArray(rng, D)));
    for (let c = 0; c < D; c++) q[i * D + c] = QUERY_NORM * u[c]!;
    const mine = Int32Array.from(positions.slice(i * NEEDLES, (i + 1) * NEEDLES)).sort();
    for (const j of mine) {
      const g = unit(Float64Array.from(normalArray(rng, D)));
      const dir = unit(u.map((x, c) => x + 0.15 * g[c]!));
      for (let c = 0; c < D; c++) k[j * D + c] = Math.sqrt(D) * dir[c]!;
    }
    needles.push(mine);
  }
  return { input: { m: M, n, d: D, dv: D, q, k, v: normalArray(rng, n * D), seed }, needles };
}

interface Reference {
  readonly out: Float64Array;
  /** Exact softmax weights per query. */
  readonly weights: readonly Float64Array[];
}

/** Float64 reference output and weights from one pass of referenceWeights per query. */
function reference(input: AttentionInput): Reference {
  const { m, n, dv, v } = input;
  const out = new Float64Array(m * dv), weights: Float64Array[] = [];
  for (let i = 0; i < m; i++) {
    const p = referenceWeights(input, i);
    for (let j = 0; j < n; j++) {
      const w = p[j]!;
      if (w !== 0) for (let c = 0; c < dv; c++) out[i * dv + c]! += w * v[j * dv + c]!;
    }
    weights.push(p);
  }
  return { out, weights };
}

interface Row {
  readonly name: string;
  readonly relL2: number;
  readonly massRecall: number | null;
  readonly cost: CostReport;
  readonly ms: number;
  /** Modeled QPU seconds per hardware profile (bench/qpu.ts), null for classical mechanisms. */
  readonly qpu: Record<string, number> | null;
}

async function measure(name: string, input: AttentionInput, ref: Reference): Promise<Row> {
  const res = await runAttention(name, input, GIVEN[name] ?? {});
  const sel = res.output.selected;
  const massRecall = sel ? ref.weights.reduce((s, p, i) => s + massOnSelected(p, sel[i]!), 0) / input.m : null;
  const qpu = modeledQpuSeconds(res.output.quantum);
  return { name, relL2: relL2(res.output.out, ref.out), massRecall, cost: res.output.cost, ms: res.ms, qpu };
}

const cell = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : formatCount(x));

function printRows(rows: readonly Row[], skipped: readonly string[]): void {
  const header = ['mechanism', 'relL2', 'massRecall', 'scoreEvals', 'oracleCalls', 'samples', 'rejTrials', 'trials/sample', 'ms'];
  console.log(table(header, rows.map((r) => [
    r.name, r.relL2.toExponential(2), r.massRecall === null ? '—' : r.massRecall.toFixed(6), cell(r.cost.scoreEvaluations),
    cell(r.cost.oracleQueries), cell(r.cost.samples), cell(r.cost.extra['rejectionTrials']),
    cell(r.cost.extra['trialsPerSample']), formatMs(r.ms),
  ])));
  for (const s of skipped) console.log(`  skipped ${s}`);
  for (const r of rows) {
    if (!r.qpu) continue;
    const perProfile = Object.entries(r.qpu).map(([p, sec]) => `${p} ${formatSci(sec)} s`).join(', ');
    console.log(`  ${r.name} modeled QPU time (bench/qpu.ts; simulator wall time above is not quantum speed): ${perProfile}`);
  }
}

/** Minimum over queries of the exact mass on the query's needles. */
function minNeedleMass(w: Workload, ref: Reference): number {
  return Math.min(...w.needles.map((mine, i) => massOnSelected(ref.weights[i]!, mine)));
}

/** Per n, each mechanism's row; skips a mechanism whose extrapolated time (∝ n log n) exceeds SKIP_MS. */
async function runAll(): Promise<Map<number, Map<string, Row>>> {
  const results = new Map<number, Map<string, Row>>();
  const lastMs = new Map<string, { n: number; ms: number }>();
  for (const n of SIZES) {
    const w = needleWorkload(n, 1000 + n);
    const ref = reference(w.input);
    const mass = minNeedleMass(w, ref);
    console.log(`\n== n = ${formatN(n)} (m = ${M}, d = dv = ${D}, ${NEEDLES} needles/query; min needle mass ${(100 * mass).toFixed(4)} %)`);
    check(mass > 0.99, `n = ${formatN(n)}: every query has > 99 % exact mass on its needles (min ${(100 * mass).toFixed(4)} %)`);
    const rows = new Map<string, Row>(), skipped: string[] = [];
    for (const mech of allMechanisms()) {
      const prev = lastMs.get(mech.name);
      const predicted = prev ? (prev.ms * n * Math.log2(n)) / (prev.n * Math.log2(prev.n)) : 0;
      if (predicted > SKIP_MS) {
        skipped.push(`${mech.name}: predicted ${formatMs(predicted)} (> ${formatMs(SKIP_MS)}) from ${formatMs(prev!.ms)} at n = ${formatN(prev!.n)}`);
        continue;
      }
      const row = await measure(mech.name, w.input, ref);
      rows.set(mech.name, row);
      lastMs.set(mech.name, { n, ms: row.ms });
    }
    printRows([...rows.values()], skipped);
    results.set(n, rows);
  }
  return results;
}

let failures = 0;
function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

/** Least-squares exponent of y ∝ n^b over the sizes where `value` is defined and positive. */
function exponent(results: Map<number, Map<string, Row>>, name: string, value: (r: Row) => number | undefined): number | null {
  const xs: number[] = [], ys: number[] = [];
  for (const [n, rows] of results) {
    const r = rows.get(name), y = r ? value(r) : undefined;
    if (y !== undefined && y > 0) xs.push(Math.log(n)), ys.push(Math.log(y));
  }
  return fitLine(xs, ys)?.slope ?? null;
}

function checkAll(results: Map<number, Map<string, Row>>): void {
  console.log('\n== checks');
  for (const [n, rows] of results) {
    const g = rows.get('grover-topk'), t = rows.get('topk-exact');
    if (!g || !t) {
      check(false, `n = ${formatN(n)}: grover-topk and topk-exact both ran`);
      continue;
    }
    const ok = g.relL2 <= t.relL2 + LOSS_TOL && g.massRecall! >= t.massRecall! - LOSS_TOL;
    check(ok, `n = ${formatN(n)}: grover-topk loses ≤ topk-exact (k = ${K}): relL2 ${g.relL2.toExponential(3)} vs ${t.relL2.toExponential(3)}, ` +
      `mass recall ${g.massRecall!.toFixed(6)} vs ${t.massRecall!.toFixed(6)} (failed queries ${g.cost.extra['failedQueries']})`);
  }
  const perQuery = (r: Row): number => (r.cost.oracleQueries ?? 0) / M;
  const calls = exponent(results, 'grover-topk', perQuery);
  const listed = [...results].flatMap(([n, rows]) => {
    const g = rows.get('grover-topk');
    return g ? [`${formatN(n)} ${formatCount(perQuery(g))}`] : [];
  }).join(', ');
  check(calls !== null && Math.abs(calls - 0.5) <= 0.1, `grover-topk mean oracle calls per query ∝ n^${calls?.toFixed(3)} (want 0.5 ± 0.1): ${listed}`);
  const trials = exponent(results, 'dequantized-topk', (r) => r.cost.extra['trialsPerSample']);
  check(trials !== null && trials <= 0.1, `dequantized-topk rejection trials per sample ∝ n^${trials?.toFixed(3)} (want ≤ 0.1)`);
}

const t0 = performance.now();
const results = await runAll();
checkAll(results);
console.log(`\n${failures === 0 ? 'all checks passed' : `${failures} check(s) FAILED`} in ${formatMs(performance.now() - t0)}`);
if (failures > 0) process.exitCode = 1;
