/**
 * Search with an unknown number t of marked states: Boyer, Brassard, Høyer, Tapp, "Tight bounds on quantum
 * searching", quant-ph/9605034, Theorem 3. m ← 1, λ = 6/5 (any 1 < λ < 4/3 works); each round picks j
 * uniformly among the integers smaller than m, runs j Grover iterations from |s⟩, measures and checks the
 * outcome classically; on failure m ← min(λm, √N'). For 1 ≤ t ≤ 3N'/4 the expected number of iterations
 * (= oracle calls) is at most (9/2)·m₀ with m₀ = 1/sin(2θ) < √(N'/t); for t > 3N'/4 the first round (j = 0,
 * a uniform sample) already succeeds with probability > 3/4. The classical check is not an oracle call.
 *
 * Stopping when nothing is marked: BBHT never terminates if t = 0, so a run stops at `maxOracleCalls`
 * ("budget"), or — used by top-k — after `certifyAfter` failed rounds at the saturated m = √N'. BBHT
 * Lemma 2 gives, for j uniform in [0, m′) with integer m′ ≥ 1/sin(2θ), success probability
 * 1/2 − sin(4m′θ)/(4m′ sin 2θ) ≥ 1/4; m′ = ⌈√N'⌉ satisfies m′·sin(2θ) ≥ 2√(t(N'−t))/√N' ≥ 1 for every
 * 1 ≤ t < N' (and t = N' always succeeds), so declaring "nothing marked" after c saturated failures is wrong
 * with probability at most (3/4)^c.
 */
import type { Rng } from '../../core/rng.ts';
import type { Backend, PreparedSearch } from '../backends/backend.ts';
import { survivalProbability, type Noise } from '../noise.ts';
import type { Oracle } from '../oracle.ts';
import { freeze, newTally, type SearchCost } from './cost.ts';

export const BBHT_LAMBDA = 6 / 5;

/** (9/2)·√(N'/t): BBHT's bound on expected oracle calls, valid for 1 ≤ t ≤ 3N'/4. */
export function bbhtExpectedCallsBound(markedCount: number, searchSize: number): number {
  return 4.5 * Math.sqrt(searchSize / markedCount);
}

/**
 * A bound on BBHT's expected oracle calls for t ≥ 1 marked states under depolarizing noise (per call), used
 * where the noiseless (9/2)·√(N'/t) does not hold (issue 13, finding 12: a noisy search is slower, so the
 * noiseless Markov bound understated its budget). Until m saturates at √N' the rounds cost at most
 * Σ λ^i ≤ √N'·λ/(λ − 1) = 6√N' calls; from then on each round costs ≤ √N' calls and succeeds with probability
 * q ≥ (1/4)·(1 − p)^(⌈√N'⌉ − 1) (BBHT Lemma 2 for the noiseless part; a depolarized round is a uniform draw,
 * counted as a failure), so E ≤ 6√N' + √N'/q. Noiseless it is 10√N', above the 4.5√N' of the t = 1 bound.
 */
export function noisyBbhtExpectedCallsBound(searchSize: number, noise: Noise | undefined): number {
  const root = Math.sqrt(searchSize);
  const q = 0.25 * survivalProbability(noise, Math.ceil(root) - 1);
  return root * (BBHT_LAMBDA / (BBHT_LAMBDA - 1)) + root / q;
}

/**
 * Default budget of `bbhtSearch`: 10× an expected-calls bound, so by Markov a false "not found" has P ≤ 1/10 —
 * the noiseless t = 1 bound without noise, noisyBbhtExpectedCallsBound with it (Infinity once noise makes a
 * success vanishingly rare: the search then runs until it finds, as BBHT itself does).
 */
export function defaultBbhtBudget(searchSize: number, noise?: Noise): number {
  const bound = noise ? noisyBbhtExpectedCallsBound(searchSize, noise) : bbhtExpectedCallsBound(1, searchSize);
  return Number.isFinite(bound) && bound < 2 ** 52 ? Math.ceil(10 * bound) : Infinity;
}

export interface BbhtRoundsOptions {
  readonly rng: Rng;
  readonly noise?: Noise;
  /** Stop (reason 'budget') rather than exceed this many oracle calls. */
  readonly maxOracleCalls?: number;
  /** Stop (reason 'certified-empty') after this many failed rounds at m = √N'. */
  readonly certifyAfter?: number;
}

export interface BbhtTally {
  readonly oracleCalls: number;
  readonly measurements: number;
}

export type BbhtOutcome =
  | (BbhtTally & { readonly found: true; readonly index: number })
  | (BbhtTally & { readonly found: false; readonly reason: 'budget' | 'certified-empty' });

/** The BBHT loop on a prepared search (shared by BBHT, Dürr–Høyer and top-k). */
export function bbhtRounds(search: PreparedSearch, opts: BbhtRoundsOptions): BbhtOutcome {
  const budget = opts.maxOracleCalls ?? Infinity;
  const certifyAfter = opts.certifyAfter ?? Infinity;
  const cap = Math.sqrt(search.searchSize);
  let m = 1;
  let oracleCalls = 0;
  let measurements = 0;
  let saturatedFailures = 0;
  for (;;) {
    const j = opts.rng.int(Math.ceil(m));
    if (oracleCalls + j > budget) return { found: false, reason: 'budget', oracleCalls, measurements };
    const x = search.measure(j, opts.rng, opts.noise);
    oracleCalls += j;
    measurements++;
    if (search.isMarked(x)) return { found: true, index: x, oracleCalls, measurements };
    // One state and it is unmarked: j = 0 measured |0⟩ with certainty, nothing can be marked.
    if (search.searchSize === 1) return { found: false, reason: 'certified-empty', oracleCalls, measurements };
    if (m >= cap && ++saturatedFailures >= certifyAfter) {
      return { found: false, reason: 'certified-empty', oracleCalls, measurements };
    }
    if (oracleCalls >= budget) return { found: false, reason: 'budget', oracleCalls, measurements };
    m = Math.min(BBHT_LAMBDA * m, cap);
  }
}

export interface BbhtOptions {
  readonly rng: Rng;
  readonly noise?: Noise;
  /** Default `defaultBbhtBudget(N', noise)`. */
  readonly maxOracleCalls?: number;
}

export type BbhtResult =
  | { readonly found: true; readonly index: number; readonly cost: SearchCost }
  | { readonly found: false; readonly reason: 'budget' | 'certified-empty'; readonly cost: SearchCost };

/** BBHT search for any marked index when the number marked is unknown. */
export function bbhtSearch(backend: Backend, oracle: Oracle, opts: BbhtOptions): BbhtResult {
  const search = backend.prepare(oracle);
  const out = bbhtRounds(search, {
    rng: opts.rng,
    ...(opts.noise ? { noise: opts.noise } : {}),
    maxOracleCalls: opts.maxOracleCalls ?? defaultBbhtBudget(search.searchSize, opts.noise),
  });
  const tally = newTally();
  tally.oracleCalls = out.oracleCalls;
  tally.measurements = out.measurements;
  tally.classicalQueries = out.measurements;
  tally.qubits = oracle.cost.qubits;
  tally.simulatorScoreReads = search.scoreReads;
  const cost = freeze(tally);
  return out.found ? { found: true, index: out.index, cost } : { found: false, reason: out.reason, cost };
}
