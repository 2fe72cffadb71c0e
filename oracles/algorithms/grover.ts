/**
 * Grover search with a known number M of marked states (Grover, quant-ph/9605043; constants from Boyer,
 * Brassard, Høyer, Tapp, quant-ph/9605034 §3): with sin²θ = M/N', r = ⌊π/(4θ)⌋ iterations give success
 * probability sin²((2r+1)θ) ≥ 1 − M/N'.
 *
 * r depends on M: running ⌊π/4·√N'⌋ whatever M (as a public JS "Grover attention" demo does) over-rotates —
 * N' = 4096 with M = 16 needs r = 12 (success 0.99995), not 50 (success 0.0011).
 */
import { check } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import type { Backend } from '../backends/backend.ts';
import { noisyMarkedProbability, type Noise } from '../noise.ts';
import type { Oracle } from '../oracle.ts';
import { freeze, newTally, type SearchCost } from './cost.ts';

/** θ with sin²θ = M/N'. */
export function groverAngle(markedCount: number, searchSize: number): number {
  check(Number.isInteger(markedCount) && markedCount >= 0, `M must be an integer ≥ 0, got ${markedCount}`);
  check(markedCount <= searchSize, `M = ${markedCount} marked items exceed the search space of ${searchSize}`);
  return Math.asin(Math.sqrt(markedCount / searchSize));
}

/** r = ⌊π/(4θ)⌋ (0 when M = 0: no number of iterations helps). */
export function optimalIterations(markedCount: number, searchSize: number): number {
  const theta = groverAngle(markedCount, searchSize);
  return theta === 0 ? 0 : Math.floor(Math.PI / (4 * theta));
}

/** sin²((2r+1)θ): the noiseless probability of measuring a marked state after r iterations. */
export function groverSuccessProbability(iterations: number, markedCount: number, searchSize: number): number {
  return Math.sin((2 * iterations + 1) * groverAngle(markedCount, searchSize)) ** 2;
}

export interface GroverOptions {
  readonly rng: Rng;
  readonly noise?: Noise;
  /** The M the algorithm believes (default: the true count, i.e. "M known"). */
  readonly markedCount?: number;
}

export interface GroverResult {
  /** Whether the measured index is marked (checked classically). */
  readonly found: boolean;
  readonly index: number;
  readonly iterations: number;
  /** Probability mass on marked states of the final state, from the backend (noise mixed in if given). */
  readonly successProbability: number;
  readonly cost: SearchCost;
}

export function groverSearch(backend: Backend, oracle: Oracle, opts: GroverOptions): GroverResult {
  const search = backend.prepare(oracle);
  const M = opts.markedCount ?? search.markedCount;
  const r = optimalIterations(M, search.searchSize);
  const index = search.measure(r, opts.rng, opts.noise);
  const ideal = search.markedProbability(r);
  const tally = newTally();
  tally.oracleCalls = r;
  tally.measurements = 1;
  tally.classicalQueries = 1;
  tally.qubits = oracle.cost.qubits;
  tally.simulatorScoreReads = search.scoreReads;
  return {
    found: search.isMarked(index),
    index,
    iterations: r,
    successProbability: noisyMarkedProbability(ideal, search.markedCount, search.searchSize, r, opts.noise),
    cost: freeze(tally),
  };
}
