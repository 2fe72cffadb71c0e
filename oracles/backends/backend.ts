/**
 * What a simulation backend offers the search algorithms. `prepare` evaluates the oracle classically once
 * (the simulator has to know which indices are marked; that O(N) pass is reported as `scoreReads` and is
 * never counted as quantum work), then the prepared search answers questions about the state after r Grover
 * iterations G = D·O_f, D = 2|s⟩⟨s| − I, |s⟩ = H⊗n|0⟩ (Grover, quant-ph/9605043).
 */
import type { Rng } from '../../core/rng.ts';
import type { Noise } from '../noise.ts';
import type { Oracle, Scores } from '../oracle.ts';

export type BackendName = 'statevector' | 'analytic' | 'gpujs';

export interface PreparedSearch {
  readonly backend: BackendName;
  /** N: items the oracle is over. */
  readonly size: number;
  /** n = ⌈log₂N⌉. */
  readonly qubits: number;
  /** N' = 2^n: states searched (indices ≥ N are padding, never marked). */
  readonly searchSize: number;
  /**
   * M: marked states. Simulator-side knowledge: algorithms for unknown M must not read it (only Grover with
   * known M and the simulator's own bookkeeping do).
   */
  readonly markedCount: number;
  /** Classical score/flag reads the simulator spent evaluating the oracle (not quantum work). */
  readonly scoreReads: number;
  /** The classical check of a measured index (one data read; not an oracle call). */
  isMarked(index: number): boolean;
  /** Real amplitudes of all N' basis states after r noiseless iterations (a fresh array). */
  amplitudes(r: number): Float64Array;
  /** |amplitude|² of every basis state after r noiseless iterations. */
  probabilities(r: number): Float64Array;
  /** Probability mass on marked states after r noiseless iterations. */
  markedProbability(r: number): number;
  /** Runs r iterations (r oracle calls, with `noise` applied per call) and measures the index register. */
  measure(r: number, rng: Rng, noise?: Noise): number;
}

export interface Backend {
  readonly name: BackendName;
  /** Largest index register this backend accepts. */
  readonly maxQubits: number;
  prepare(oracle: Oracle): PreparedSearch;
  /**
   * Validates a scores array as checkScores does (a QattnError names the first NaN) while doing the
   * backend's once-per-array work in the same pass; algorithms that build many threshold oracles over one
   * array call it instead of checkScores, so the array is read once, not twice. Returns the scores read
   * (simulator reads, 0 when that work was already done).
   */
  prepareScores?(scores: Scores): number;
}

/**
 * Oracles are immutable data, so a backend may reuse one prepared search per oracle object: repeated runs
 * over the same oracle (CLI --runs, tests) keep the state-vector cache instead of re-evolving. `scoreReads`
 * stays the cost of one evaluation (what a single run would have spent).
 */
export function memoized(prepare: (oracle: Oracle) => PreparedSearch): (oracle: Oracle) => PreparedSearch {
  const cache = new WeakMap<Oracle, PreparedSearch>();
  return (oracle) => {
    let p = cache.get(oracle);
    if (!p) cache.set(oracle, (p = prepare(oracle)));
    return p;
  };
}

/** Squares, for `probabilities` implementations. */
export function squared(a: Float64Array): Float64Array {
  const p = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) p[i] = a[i]! * a[i]!;
  return p;
}
