/**
 * The theory check: fitted scaling exponents on `gaussian` decode (n = 2^12 … 2^16 by default) against what
 * the algorithms promise. A pass means the implementation scales as its paper says; a fail is a bug or a cost
 * that is not being counted. Printed in the summary; the tolerance is ±0.1 on the exponent.
 */
import type { FitEntry, FitMetric } from './results.ts';
import type { BenchMode } from './workloads/types.ts';

export interface TheoryExpectation {
  readonly method: string;
  readonly workload: string;
  readonly mode: BenchMode;
  readonly metric: FitMetric;
  readonly expected: number;
  /** Why, with the source. */
  readonly why: string;
}

export const THEORY_TOLERANCE = 0.1;
/** Fits starting below this n are not judged: fixed costs dominate small n (see fits.ts). */
export const THEORY_MIN_N = 2 ** 12;

export const THEORY: readonly TheoryExpectation[] = [
  { method: 'exact', workload: 'gaussian', mode: 'decode', metric: 'time', expected: 1, why: 'dense attention costs O(m·n·d)' },
  { method: 'exact', workload: 'gaussian', mode: 'decode', metric: 'scoreEvaluations', expected: 1, why: 'one score per (query, key): m·n' },
  {
    method: 'grover-topk', workload: 'gaussian', mode: 'decode', metric: 'oracleQueries', expected: 0.5,
    why: 'Grover/BBHT search needs O(√(n/t)) oracle calls (Boyer, Brassard, Høyer, Tapp, quant-ph/9605034)',
  },
  {
    method: 'l2-sampling', workload: 'gaussian', mode: 'decode', metric: 'samples', expected: 0,
    why: 'length-squared sampling needs a number of samples set by the accuracy, not n (Tang, arXiv 1807.04271)',
  },
];

export type TheoryStatus = 'pass' | 'fail' | 'n/a';

export interface TheoryCheck {
  readonly expectation: TheoryExpectation;
  readonly fit: FitEntry | null;
  readonly status: TheoryStatus;
  /** Why a check is n/a. */
  readonly note: string | null;
}

export function theoryChecks(fits: readonly FitEntry[], expectations: readonly TheoryExpectation[] = THEORY): TheoryCheck[] {
  return expectations.map((e) => {
    const fit = fits.find((f) => f.method === e.method && f.workload === e.workload && f.mode === e.mode && f.metric === e.metric) ?? null;
    if (!fit) return { expectation: e, fit, status: 'n/a', note: `no fit (run ${e.method} on ${e.workload} ${e.mode} over ≥ 3 lengths)` };
    if (fit.nMin < THEORY_MIN_N) return { expectation: e, fit, status: 'n/a', note: `fit starts at n=${fit.nMin} < 2^12 (run without --quick)` };
    const status = Math.abs(fit.exponent - e.expected) <= THEORY_TOLERANCE ? 'pass' : 'fail';
    return { expectation: e, fit, status, note: null };
  });
}
