/**
 * Oracles are data, backends execute them (the split Cirq makes between a circuit and a simulator): an
 * oracle says which indices of a search space are marked and carries the cost model of the circuit that
 * would mark them on a QPU (`cost-model.ts`); `backends/` turn it into amplitudes and measurements.
 *
 * Search space: an oracle over N items searches the padded space of 2^n states, n = ⌈log₂N⌉, where the
 * 2^n − N padding states are never marked. This is what H⊗n on an n-qubit index register prepares, so the
 * gate-level simulator, the fast state vector and the analytic formula all describe the same circuit; θ,
 * r and every bound use N' = 2^n (the space actually searched), and a measured padding index is simply a
 * failed attempt. (Preparing the uniform superposition over exactly N states needs a non-Clifford state
 * preparation per iteration; padding costs at most a factor √2 in iterations.)
 *
 * Ties: a threshold oracle marks key j iff score_j > τ (strictly), so a score equal to τ is unmarked.
 */
import { QattnError, check } from '../core/errors.ts';
import { DEFAULT_BITS, oracleCostModel, type OracleCostModel, type Payload } from './cost-model.ts';

export type Scores = Float32Array | Float64Array;

export interface ThresholdOracle {
  readonly kind: 'threshold';
  readonly scores: Scores;
  readonly threshold: number;
  /** Indices never marked even when score > τ (top-k excludes the set it already holds). */
  readonly exclude: ArrayLike<number>;
  /** The caller promises `exclude` is ascending and distinct (top-k keeps its set so), and unchanged while the oracle is in use: no per-oracle sort or copy. */
  readonly excludeSorted?: boolean;
  readonly cost: OracleCostModel;
}

export interface MarkedOracle {
  readonly kind: 'marked';
  readonly size: number;
  /** Distinct marked indices in [0, size), ascending. */
  readonly marked: Int32Array;
  readonly cost: OracleCostModel;
}

export type Oracle = ThresholdOracle | MarkedOracle;

export interface SearchSpace {
  /** N: the items the oracle is over. */
  readonly size: number;
  /** n = ⌈log₂N⌉ index qubits (0 for N = 1). */
  readonly qubits: number;
  /** N' = 2^n: the states the search actually runs over. */
  readonly searchSize: number;
}

/** Largest N accepted: 2^30 (typed-array and simulator limits; no backend could hold more anyway). */
export const MAX_SEARCH_QUBITS = 30;

export function searchSpace(size: number): SearchSpace {
  // Plain tests, no check(): this runs at every DHHM stage, where building a message (or a closure for one)
  // on every call was a measurable share of grover-topk's simulation.
  if (!(Number.isInteger(size) && size >= 1)) throw new QattnError(`search space size N must be an integer ≥ 1, got ${size}`);
  if (size > 2 ** MAX_SEARCH_QUBITS) throw new QattnError(`search space size N = ${size} exceeds 2^${MAX_SEARCH_QUBITS}`);
  const qubits = size === 1 ? 0 : 32 - Math.clz32(size - 1);
  return { size, qubits, searchSize: 2 ** qubits };
}

export function oracleSize(o: Oracle): number {
  return o.kind === 'threshold' ? o.scores.length : o.size;
}

/** Throws a QattnError at the first NaN score (NaN compares false with everything: ranks are undefined). */
export function checkScores(scores: Scores, what = 'scores'): void {
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new QattnError(`${what} contain NaN at index ${i}`);
  }
}

export interface ThresholdOracleOptions {
  readonly exclude?: ArrayLike<number>;
  /** `exclude` is ascending and distinct (checked by thresholdOracle; trusted by thresholdOracleTrusted). */
  readonly excludeSorted?: boolean;
  /** What the QRAM fetches per index (default: a 16-bit precomputed score). */
  readonly payload?: Payload;
}

/**
 * For algorithms that already validated `scores` (top-k builds hundreds of oracles over one array): no O(N)
 * NaN scan, and `cost` may be passed in when it is the same for every oracle of the run (it depends only on
 * N, the payload and the number excluded). Not exported from the package index.
 */
export function thresholdOracleTrusted(scores: Scores, threshold: number, opts: ThresholdOracleOptions = {}, cost?: OracleCostModel): ThresholdOracle {
  check(!Number.isNaN(threshold), 'threshold must not be NaN');
  const exclude = opts.exclude ?? [];
  // No object spread: top-k builds one of these per DHHM stage.
  return { kind: 'threshold', scores, threshold, exclude, excludeSorted: opts.excludeSorted === true, cost: cost ?? thresholdCostModel(scores.length, exclude.length, opts.payload) };
}

/** The cost model of a threshold oracle over N scores with `excludeCount` exclusions. */
export function thresholdCostModel(size: number, excludeCount: number, payload: Payload = { kind: 'score', bits: DEFAULT_BITS }): OracleCostModel {
  return oracleCostModel({ indexQubits: searchSpace(size).qubits, payload, excludeCount });
}

/** Marks j iff scores[j] > threshold and j ∉ exclude. Rejects NaN scores or threshold. */
export function thresholdOracle(scores: Scores, threshold: number, opts: ThresholdOracleOptions = {}): ThresholdOracle {
  checkScores(scores);
  const ex = opts.exclude ?? [];
  for (let t = 0; t < ex.length; t++) {
    const j = ex[t]!;
    check(Number.isInteger(j) && j >= 0 && j < scores.length, `excluded index ${j} is outside [0, ${scores.length})`);
    check(!opts.excludeSorted || t === 0 || ex[t - 1]! < j, 'excludeSorted: the excluded indices must be ascending and distinct');
  }
  return thresholdOracleTrusted(scores, threshold, opts);
}

/** An explicit marked set over N items (M ≤ N distinct indices). */
export function markedOracle(size: number, marked: ArrayLike<number>): MarkedOracle {
  const space = searchSpace(size);
  check(marked.length <= size, `M = ${marked.length} marked items exceed N = ${size}`);
  for (let i = 0; i < marked.length; i++) {
    const j = marked[i]!;
    check(Number.isInteger(j) && j >= 0 && j < size, `marked index ${j} is not an integer in [0, ${size})`);
  }
  const sorted = Int32Array.from(marked).sort();
  for (let i = 1; i < sorted.length; i++) check(sorted[i - 1] !== sorted[i], `marked index ${sorted[i]} appears twice`);
  const cost = oracleCostModel({ indexQubits: space.qubits, payload: { kind: 'flag' } });
  return { kind: 'marked', size, marked: sorted, cost };
}

/**
 * Rank scores: a search space relabelled by rank, position p (0 = best) scoring S − p for a shared S ≥ size,
 * so the scores are distinct and strictly decreasing. A search whose outcome depends only on the order of the
 * scores (threshold oracles: marked iff score > τ) has the same distribution of calls, measurements and
 * selected ranks on these as on the real scores ranked in that order — every algorithm here draws its initial
 * set uniformly and measures uniformly within the marked and unmarked parts, so a relabelling of [0, N)
 * changes nothing but the labels. grover-topk searches ranks so the simulator needs the scores' order only
 * where the search ends (attention/mechanisms/grover-ranks.ts). With `finite` < size, positions [finite, size)
 * score −∞ instead (masked keys: never above any threshold, tied among themselves, as on the real scores).
 * Evaluators recognise these arrays (rankFinite) and answer every threshold in O(1) (backends/marked-set.ts
 * SortedSet).
 */
export function rankScores(size: number, finite = size): Float64Array {
  searchSpace(size);
  check(Number.isInteger(finite) && finite >= 0 && finite <= size, `rank scores: finite count ${finite} outside [0, ${size}]`);
  if (rankBuffer.length < size) {
    rankBuffer = new Float64Array(2 ** Math.ceil(Math.log2(size)));
    for (let p = 0; p < rankBuffer.length; p++) rankBuffer[p] = rankBuffer.length - p;
  }
  let view: Float64Array;
  if (finite === size) view = rankBuffer.subarray(0, size);
  else {
    // A copy for a row with masked keys (the shared buffer is never written after it is filled).
    view = new Float64Array(size).fill(-Infinity);
    view.set(rankBuffer.subarray(0, finite));
  }
  rankViews.set(view, finite);
  return view;
}

/** The count of finite entries if `scores` came from rankScores (strictly decreasing, then −∞), else null. */
export function rankFinite(scores: Scores): number | null {
  return scores instanceof Float64Array ? rankViews.get(scores) ?? null : null;
}

/** Whether `scores` came from rankScores. */
export function isRankScores(scores: Scores): boolean {
  return rankFinite(scores) !== null;
}

let rankBuffer = new Float64Array(0);
const rankViews = new WeakMap<Float64Array, number>();

/** `count` distinct indices of [0, N) drawn uniformly (Floyd's algorithm: O(M) draws, no O(N) shuffle). */
export function randomSubset(size: number, count: number, rng: { int(n: number): number }): Int32Array {
  searchSpace(size);
  check(Number.isInteger(count) && count >= 0, `subset size must be an integer ≥ 0, got ${count}`);
  check(count <= size, `cannot draw ${count} distinct indices from N = ${size}`);
  const chosen = new Set<number>();
  for (let j = size - count; j < size; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from(chosen).sort();
}
