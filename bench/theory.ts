/**
 * The theory check: fitted scaling exponents on `gaussian` decode (n = 2^12 … 2^16 by default) against what
 * the algorithms promise. A pass means the implementation scales as its paper says; a fail is a bug or a cost
 * that is not being counted. Printed in the summary; the tolerance is ±0.1 on the exponent.
 */
import { certificationRounds } from '../oracles/index.ts';
import type { FitEntry, FitMetric } from './results.ts';
import type { BenchMode } from './workloads/types.ts';

export interface TheoryExpectation {
  readonly method: string;
  readonly workload: string;
  readonly mode: BenchMode;
  readonly metric: FitMetric;
  /** The exponent, or the local log–log slope of the cited bound over the fit's n range. */
  readonly expected: number | ((nMin: number, nMax: number) => number);
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
    method: 'grover-topk', workload: 'gaussian', mode: 'decode', metric: 'oracleQueries', expected: (a, b) => slope(dhhmBound, a, b),
    why: 'DHHM top-k with certification: O(√(kN) + c·√N) oracle calls, c = ⌈ln(δ/E)/ln(3/4)⌉ failed saturated BBHT rounds, ' +
      'E = k(1 + ln(N/k)) + 1 (oracles/algorithms/topk.ts; Dürr, Heiligman, Høyer, Mhalla, quant-ph/0401091; Boyer, Brassard, ' +
      'Høyer, Tapp, quant-ph/9605034) — its local exponent over the fitted range at the defaults k = 32, δ = 0.01, which the ' +
      'certification term makes a little above ½',
  },
  // No l2-sampling check: its samples are m·s for a fixed option s, so an exponent of 0 held by construction and
  // the check could not fail (issue 13, finding 7). Tang's claim is about samples needed for a fixed accuracy.
];

/** √(kN') + c(N')·√N' with N' = 2^⌈log₂N⌉, k = 32, δ = 0.01: the bound the grover-topk check follows. */
export function dhhmBound(n: number, k = 32, delta = 0.01): number {
  const Np = 2 ** Math.ceil(Math.log2(Math.max(2, n)));
  return Math.sqrt(k * Np) + certificationRounds(k, Np, delta) * Math.sqrt(Np);
}

/** The log–log slope of f between a and b. */
function slope(f: (n: number) => number, a: number, b: number): number {
  return b > a ? Math.log(f(b) / f(a)) / Math.log(b / a) : 0.5;
}

export type TheoryStatus = 'pass' | 'fail' | 'n/a';

export interface TheoryCheck {
  readonly expectation: TheoryExpectation;
  /** The expected exponent, resolved for the fit's n range (the expectation's number when there is no fit). */
  readonly expected: number;
  readonly fit: FitEntry | null;
  readonly status: TheoryStatus;
  /** Why a check is n/a. */
  readonly note: string | null;
}

export function theoryChecks(fits: readonly FitEntry[], expectations: readonly TheoryExpectation[] = THEORY): TheoryCheck[] {
  return expectations.map((e) => {
    const fit = fits.find((f) => f.variant === e.method && f.workload === e.workload && f.mode === e.mode && f.metric === e.metric) ?? null;
    const expected = typeof e.expected === 'number' ? e.expected : e.expected(fit?.nMin ?? 2 ** 12, fit?.nMax ?? 2 ** 20);
    if (!fit) return { expectation: e, expected, fit, status: 'n/a', note: `no fit (run ${e.method} on ${e.workload} ${e.mode} over ≥ 3 lengths)` };
    if (fit.nMin < THEORY_MIN_N) return { expectation: e, expected, fit, status: 'n/a', note: `fit starts at n=${fit.nMin} < 2^12 (run without --quick)` };
    const status = Math.abs(fit.exponent - expected) <= THEORY_TOLERANCE ? 'pass' : 'fail';
    return { expectation: e, expected, fit, status, note: null };
  });
}
