/**
 * Classical evaluation of an oracle by the simulator: which indices are marked, how many, and uniform
 * sampling among them. A QPU never does this; the simulator must, and every score it reads is counted in
 * `reads` so that callers can report it (as `simulatorScoreReads`) separately from oracle calls.
 *
 * Threshold oracles over the same scores array are usually evaluated with rising thresholds (Dürr–Høyer,
 * top-k). The evaluator caches, per array, the indices above the last threshold and filters that pool when
 * the threshold rises instead of rescanning all N scores: simulator work only, exactly the same marked set.
 */
import type { Rng } from '../../core/rng.ts';
import type { MarkedOracle, Oracle, Scores, ThresholdOracle } from '../oracle.ts';

export interface MarkedSet {
  /** M. */
  readonly count: number;
  /** Scores (or flags) read to build this set. */
  readonly reads: number;
  /** Membership; indices ≥ N (padding) are never marked. */
  has(index: number): boolean;
  /** A uniformly random marked index (requires count > 0). */
  sample(rng: Rng): number;
  /** All marked indices, ascending (a fresh array for excluded thresholds, else shared: do not mutate). */
  list(): Int32Array;
}

export type OracleEvaluator = (oracle: Oracle) => MarkedSet;

interface Pool {
  readonly threshold: number;
  readonly pool: Int32Array;
}

/** Indices (from `source`, or all of 0..N−1) whose score exceeds τ, ascending. */
function filterAbove(scores: Scores, tau: number, source: Int32Array | null): Int32Array {
  const len = source ? source.length : scores.length;
  const out = new Int32Array(len);
  let c = 0;
  if (source) {
    for (let i = 0; i < len; i++) {
      const j = source[i]!;
      if (scores[j]! > tau) out[c++] = j;
    }
  } else {
    for (let j = 0; j < len; j++) if (scores[j]! > tau) out[c++] = j;
  }
  return c < len / 2 ? out.slice(0, c) : out.subarray(0, c);
}

function thresholdSet(oracle: ThresholdOracle, pool: Int32Array, reads: number): MarkedSet {
  const { scores, threshold } = oracle;
  const excluded = new Set(oracle.exclude);
  let excludedMarked = 0;
  for (const j of excluded) if (scores[j]! > threshold) excludedMarked++;
  const has = (i: number): boolean => i < scores.length && scores[i]! > threshold && !excluded.has(i);
  return {
    count: pool.length - excludedMarked,
    reads: reads + excluded.size,
    has,
    sample(rng: Rng): number {
      // Rejection from the pool: acceptance (M)/(M + |excluded ∩ pool|) ≥ 1/(1 + |exclude|) whenever M ≥ 1.
      for (;;) {
        const j = pool[rng.int(pool.length)]!;
        if (!excluded.has(j)) return j;
      }
    },
    list: () => (excludedMarked === 0 ? pool : pool.filter((j) => !excluded.has(j))),
  };
}

function explicitSet(oracle: MarkedOracle): MarkedSet {
  const marked = oracle.marked;
  const has = (i: number): boolean => {
    let lo = 0;
    let hi = marked.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (marked[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    return lo < marked.length && marked[lo] === i;
  };
  return {
    count: marked.length,
    reads: marked.length,
    has,
    sample: (rng) => marked[rng.int(marked.length)]!,
    list: () => marked,
  };
}

/** An evaluator with its own per-scores-array pool cache (one per backend instance). */
export function createOracleEvaluator(): OracleEvaluator {
  const pools = new WeakMap<Scores, Pool>();
  return (oracle) => {
    if (oracle.kind === 'marked') return explicitSet(oracle);
    const cached = pools.get(oracle.scores);
    if (cached && cached.threshold === oracle.threshold) return thresholdSet(oracle, cached.pool, 0);
    const source = cached && cached.threshold <= oracle.threshold ? cached.pool : null;
    const reads = source ? source.length : oracle.scores.length;
    const pool = filterAbove(oracle.scores, oracle.threshold, source);
    pools.set(oracle.scores, { threshold: oracle.threshold, pool });
    return thresholdSet(oracle, pool, reads);
  };
}
