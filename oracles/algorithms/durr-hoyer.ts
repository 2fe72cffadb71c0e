/**
 * Maximum finding: Dürr & Høyer, "A quantum algorithm for finding the minimum", quant-ph/9607014 (mirrored
 * to the maximum). Keep a threshold index y (initially uniform); repeatedly run BBHT (bbht.ts) with the
 * oracle "score_j > score_y" and move y to the index found. Their Lemma 2 / Theorem 1: the expected number
 * of Grover iterations before y holds the maximum is at most m₀ = (45/4)·√N' + (7/10)·lg²N', so stopping
 * after 2m₀ iterations succeeds with probability ≥ 1/2 (Markov). The algorithm cannot know when it is done:
 * like the original it spends its whole budget, the last BBHT run searching an empty marked set.
 * Tighter analysis: Cade, Folkertsma, Niesen, Weggemans (arXiv 2203.04975) give ≈ 6.3505·√N + 2.8203
 * expected queries for a tuned variant; we implement and check the original constants.
 */
import { check } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import type { Backend } from '../backends/backend.ts';
import type { Payload } from '../cost-model.ts';
import type { Noise } from '../noise.ts';
import { checkScores, searchSpace, thresholdOracleTrusted, type Scores } from '../oracle.ts';
import { bbhtRounds } from './bbht.ts';
import { freeze, newTally, type SearchCost } from './cost.ts';

/** m₀ = (45/4)·√N' + (7/10)·lg²N' (Dürr & Høyer, quant-ph/9607014, Theorem 1). */
export function durrHoyerBound(searchSize: number): number {
  const lg = Math.log2(searchSize);
  return (45 / 4) * Math.sqrt(searchSize) + (7 / 10) * lg * lg;
}

export interface MaxOptions {
  readonly backend: Backend;
  readonly rng: Rng;
  readonly noise?: Noise;
  /** Total Grover-iteration budget (default ⌈2m₀⌉). */
  readonly maxOracleCalls?: number;
  /** Cost-model payload of the comparison oracle (default: 16-bit precomputed scores). */
  readonly payload?: Payload;
}

export interface MaxResult {
  readonly index: number;
  readonly score: number;
  /** Simulator-verified: whether `score` equals the true maximum (ties: any maximal index counts). */
  readonly isMax: boolean;
  /** Oracle calls spent when y first held a maximum (null if it never did) — what m₀ bounds in expectation. */
  readonly oracleCallsToMax: number | null;
  /** Threshold updates (BBHT runs that found a better index). */
  readonly improvements: number;
  /** Markov lower bound on P(isMax) for the budget used, noiseless: 1 − m₀/budget (≥ 1/2 at 2m₀). */
  readonly successLowerBound: number;
  readonly cost: SearchCost;
}

function maxOf(scores: Scores): number {
  let best = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > best) best = scores[i]!;
  return best;
}

export function durrHoyerMax(scores: Scores, opts: MaxOptions): MaxResult {
  checkScores(scores);
  const space = searchSpace(scores.length);
  const m0 = durrHoyerBound(space.searchSize);
  const budget = opts.maxOracleCalls ?? Math.ceil(2 * m0);
  check(budget >= 0, `maxOracleCalls must be ≥ 0, got ${budget}`);
  const trueMax = maxOf(scores); // verification only
  const tally = newTally();
  let y = opts.rng.int(scores.length);
  tally.classicalQueries = 1;
  let callsToMax: number | null = scores[y] === trueMax ? 0 : null;
  let improvements = 0;
  for (;;) {
    const oracle = thresholdOracleTrusted(scores, scores[y]!, opts.payload ? { payload: opts.payload } : {});
    tally.qubits = Math.max(tally.qubits, oracle.cost.qubits);
    const search = opts.backend.prepare(oracle);
    const out = bbhtRounds(search, { rng: opts.rng, noise: opts.noise, maxOracleCalls: budget - tally.oracleCalls });
    tally.simulatorScoreReads += search.scoreReads; // after the rounds: a backend may evaluate lazily
    tally.oracleCalls += out.oracleCalls;
    tally.measurements += out.measurements;
    tally.classicalQueries += out.measurements;
    if (!out.found) break;
    y = out.index;
    improvements++;
    if (callsToMax === null && scores[y] === trueMax) callsToMax = tally.oracleCalls;
  }
  return {
    index: y,
    score: scores[y]!,
    isMax: scores[y] === trueMax,
    oracleCallsToMax: callsToMax,
    improvements,
    successLowerBound: budget >= m0 ? 1 - m0 / budget : 0,
    cost: freeze(tally),
  };
}
