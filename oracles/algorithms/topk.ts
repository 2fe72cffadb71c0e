/**
 * Quantum top-k by repeated threshold search, after Dürr, Heiligman, Høyer, Mhalla, "Quantum query
 * complexity of some graph problems", quant-ph/0401091 (their k-minimum finding, mirrored to maxima):
 * keep a set S of k indices (initially uniform); repeatedly let τ = min score in S, search with BBHT for
 * j ∉ S with score_j > τ, and swap j in for the minimum. Finding the top-k takes Θ(√(kN)) oracle calls in
 * expectation; the certification below adds Θ(√N·log(k·log(N/k)/δ)).
 *
 * Stopping: the algorithm cannot know when S is the top-k, so a stage whose BBHT run fails `certifyAfter`
 * times at the saturated m = √N' declares "nothing better exists" (bbht.ts: each such declaration is wrong
 * with probability ≤ (3/4)^c). c is chosen so that E·(3/4)^c ≤ δ, with E = k(1 + ln(N'/k)) + 1 a bound on
 * the expected number of stages (for k = 1 it is Dürr–Høyer's Lemma 1 — an element of rank r is ever
 * picked with probability 1/r; the k-analogue min(1, k/r) is the heuristic step, checked empirically by
 * test/oracles-topk.test.ts). The certification stage costs about c·√N'/2 calls, i.e. Θ(√N·log(k·log(N/k)/δ)),
 * and is NOT within Θ(√(kN)) in practice: at k = 32, δ = 0.01 it is 61 %, 53 % and 50 % of all calls at
 * N = 2^12, 2^16, 2^20 (calls/√(kN) rises 5.8 → 7.0 → 7.55 → 7.95). The whole run is
 * Θ(√(kN) + √N·log(k·log(N/k)/δ)); bench/theory.ts checks against that bound. DHHM themselves run a fixed
 * budget with constant success probability and no certification.
 *
 * Ties: the oracle marks score > τ strictly, so an index tied with the current minimum is never swapped in;
 * a result counts as the true top-k when every index outside it scores ≤ its minimum (any tie-break).
 * Failures (budget exhausted, a false certification) return the current S with `success: false`.
 */
import { check } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import type { Backend, PreparedSearch } from '../backends/backend.ts';
import type { Payload } from '../cost-model.ts';
import { survivalProbability, type Noise } from '../noise.ts';
import { checkScores, isRankScores, randomSubset, searchSpace, thresholdCostModel, thresholdOracleTrusted, type Scores } from '../oracle.ts';
import { bbhtRounds } from './bbht.ts';
import { freeze, newTally, type SearchCost } from './cost.ts';

export interface TopKOptions {
  readonly backend: Backend;
  readonly rng: Rng;
  readonly noise?: Noise;
  /** Hard cap on oracle calls (default: none; the run stops by certification). */
  readonly maxOracleCalls?: number;
  /** Target probability δ that the result is not the true top-k (default 0.01). */
  readonly failureProbability?: number;
  /** Cost-model payload (attention passes { kind: 'key', dim, bits }); default 16-bit scores. */
  readonly payload?: Payload;
  /** Check the result against the true top-k (the simulator's count of what the final oracle marks; default true). */
  readonly verify?: boolean;
}

export interface TopKResult {
  /** k distinct indices, by score descending (ties by index ascending). */
  readonly indices: Int32Array;
  readonly scores: Float64Array;
  /** Simulator-verified: is this a true top-k? (null when verify: false) */
  readonly success: boolean | null;
  /** A priori lower bound on P(success) for these parameters (ignores maxOracleCalls). */
  readonly successLowerBound: number;
  readonly stoppedBy: 'certified' | 'budget' | 'exhaustive';
  /** Stages that found a better index. */
  readonly improvements: number;
  readonly certifyAfter: number;
  readonly cost: SearchCost;
}

/** Expected-stage bound E = k(1 + ln(N'/k)) + 1 used to size the certification. */
export function topKStageBound(k: number, searchSize: number): number {
  return k * (1 + Math.log(searchSize / k)) + 1;
}

/** Failed saturated rounds c with E·(3/4)^c ≤ δ. */
export function certificationRounds(k: number, searchSize: number, delta: number): number {
  return Math.max(1, Math.ceil(Math.log(delta / topKStageBound(k, searchSize)) / Math.log(3 / 4)));
}

/** 1 − E·(1 − q)^c, q = (1/4)·(1 − p)^(⌈√N'⌉ − 1): a saturated round's success bound under noise. */
function successBound(k: number, searchSize: number, c: number, noise: Noise | undefined): number {
  const q = 0.25 * survivalProbability(noise, Math.ceil(Math.sqrt(searchSize)) - 1);
  return Math.max(0, 1 - topKStageBound(k, searchSize) * (1 - q) ** c);
}

function argMin(scores: Scores, set: Int32Array): number {
  let w = 0;
  for (let i = 1; i < set.length; i++) if (scores[set[i]!]! < scores[set[w]!]!) w = i;
  return w;
}

/** True top-k iff no index outside `set` scores above min(set). One O(N) pass. */
export function isTrueTopK(scores: Scores, set: Int32Array): boolean {
  const minScore = scores[set[argMin(scores, set)]!]!;
  let inside = 0;
  for (const j of set) if (scores[j]! > minScore) inside++;
  let above = 0;
  for (let j = 0; j < scores.length; j++) if (scores[j]! > minScore) above++;
  return above === inside;
}

/** Replaces set[w] by x (not in the set), keeping the ascending set ascending: one O(k) shift. */
function replaceSorted(set: Int32Array, w: number, x: number): void {
  let t = w;
  while (t > 0 && set[t - 1]! > x) { set[t] = set[t - 1]!; t--; }
  while (t < set.length - 1 && set[t + 1]! < x) { set[t] = set[t + 1]!; t++; }
  set[t] = x;
}

function sortByScore(scores: Scores, set: Int32Array): { indices: Int32Array; scores: Float64Array } {
  const indices = Int32Array.from(set).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return { indices, scores: Float64Array.from(indices, (j) => scores[j]!) };
}

function checkOptions(n: number, k: number, opts: TopKOptions): number {
  check(Number.isInteger(k) && k >= 1, `k must be an integer ≥ 1, got ${k}`);
  check(k <= n, `k = ${k} exceeds the number of keys N = ${n}`);
  const delta = opts.failureProbability ?? 0.01;
  check(delta > 0 && delta < 1, `failureProbability must be in (0, 1), got ${delta}`);
  check(opts.maxOracleCalls === undefined || opts.maxOracleCalls >= 0, `maxOracleCalls must be ≥ 0, got ${opts.maxOracleCalls}`);
  return delta;
}

export function quantumTopK(scores: Scores, k: number, opts: TopKOptions): TopKResult {
  const delta = checkOptions(scores.length, k, opts);
  // The backend's first pass over the array validates it too, when it has one (one read of N scores, not two).
  const firstReads = k < scores.length && opts.backend.prepareScores ? opts.backend.prepareScores(scores) : (checkScores(scores), 0);
  const space = searchSpace(scores.length);
  const c = certificationRounds(k, space.searchSize, delta);
  const set = randomSubset(scores.length, k, opts.rng);
  const tally = newTally();
  tally.classicalQueries = k; // reading the initial set's scores
  tally.simulatorScoreReads = firstReads;
  const budget = opts.maxOracleCalls ?? Infinity;
  let stoppedBy: TopKResult['stoppedBy'] = k === scores.length ? 'exhaustive' : 'certified';
  let improvements = 0;
  let last: PreparedSearch | null = null;
  const cost = thresholdCostModel(scores.length, k, opts.payload); // the same circuit at every stage
  // `set` is kept ascending by index (randomSubset returns it so; each swap re-inserts in order), so each
  // stage's oracle gets it as a sorted exclusion list: a copy, O(k), and no sort in the backend.
  // Rank scores decrease strictly along the finite prefix, so the ascending set's minimum is its last member
  // whenever that one is finite (O(1) instead of a scan per stage; −∞ members tie, and the scan picks among them).
  const ranked = isRankScores(scores);
  while (stoppedBy !== 'exhaustive') {
    const w = ranked && scores[set[k - 1]!]! > -Infinity ? k - 1 : argMin(scores, set);
    const oracle = thresholdOracleTrusted(scores, scores[set[w]!]!, { exclude: set.slice(), excludeSorted: true }, cost);
    tally.qubits = Math.max(tally.qubits, oracle.cost.qubits);
    const search = (last = opts.backend.prepare(oracle));
    const out = bbhtRounds(search, { rng: opts.rng, noise: opts.noise, certifyAfter: c, maxOracleCalls: budget - tally.oracleCalls });
    tally.simulatorScoreReads += search.scoreReads; // after the rounds: a backend may evaluate lazily
    tally.oracleCalls += out.oracleCalls;
    tally.measurements += out.measurements;
    tally.classicalQueries += out.measurements;
    if (!out.found) {
      stoppedBy = out.reason === 'budget' ? 'budget' : 'certified';
      break;
    }
    replaceSorted(set, w, out.index);
    improvements++;
  }
  // Verification is the simulator's bookkeeping, not the algorithm's: the last oracle is over the final set
  // (τ = its minimum, the set excluded), so the set is a true top-k iff that oracle marks nothing — a count
  // the simulator already keeps, instead of a second O(N) pass.
  let success: boolean | null = null;
  if (opts.verify !== false) {
    if (last) {
      const before = last.scoreReads;
      success = last.markedCount === 0;
      tally.simulatorScoreReads += last.scoreReads - before;
    } else {
      success = isTrueTopK(scores, set);
    }
  }
  return {
    ...sortByScore(scores, set),
    success,
    successLowerBound: stoppedBy === 'exhaustive' ? 1 : successBound(k, space.searchSize, c, opts.noise),
    stoppedBy,
    improvements,
    certifyAfter: c,
    cost: freeze(tally),
  };
}
