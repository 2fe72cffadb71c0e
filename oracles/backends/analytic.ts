/**
 * `analytic`: the exact two-dimensional evolution of Grover's algorithm (Boyer, Brassard, Høyer, Tapp,
 * quant-ph/9605034, §3). The state never leaves span{|α⟩, |β⟩}: the uniform superpositions over the M
 * marked and the N' − M unmarked states. With sin²θ = M/N', after r iterations
 *     amplitude(marked x)   = sin((2r+1)θ)/√M
 *     amplitude(unmarked x) = cos((2r+1)θ)/√(N'−M)
 * so a measurement is "a marked index, uniformly" with probability sin²((2r+1)θ), else "an unmarked index,
 * uniformly". After the O(N) classical pass that counts M (marked-set.ts), every search is O(1) per
 * measurement whatever r — no O(N) work per iteration. It must agree with `statevector` to 1e-12.
 */
import { check } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import { survivalProbability, type Noise } from '../noise.ts';
import { MAX_SEARCH_QUBITS, oracleSize, searchSpace, type Oracle } from '../oracle.ts';
import { memoized, squared, type Backend, type PreparedSearch } from './backend.ts';
import { createOracleEvaluator, type MarkedSet, type OracleEvaluator } from './marked-set.ts';

export interface AnalyticOptions {
  /** Refuse index registers wider than this (default 30: the O(N) marked-set pass still has to fit). */
  readonly maxQubits?: number;
}

function checkIterations(r: number): void {
  check(Number.isInteger(r) && r >= 0, `iteration count must be an integer ≥ 0, got ${r}`);
}

/**
 * Uniform sampling of an unmarked index: rejection over [0, N') while that is cheap, else (M close to N')
 * one O(N') scan builds the unmarked list. Returns the sampler and a read counter for the scan.
 */
function unmarkedSampler(set: MarkedSet, searchSize: number): { sample(rng: Rng): number; reads(): number } {
  let list: Int32Array | null = null;
  let reads = 0;
  return {
    sample(rng) {
      if (!list) {
        for (let tries = 0; tries < 32; tries++) {
          const x = rng.int(searchSize);
          if (!set.has(x)) return x;
        }
        list = new Int32Array(searchSize - set.count);
        let c = 0;
        for (let i = 0; i < searchSize; i++) if (!set.has(i)) list[c++] = i;
        reads += searchSize;
      }
      return list[rng.int(list.length)]!;
    },
    reads: () => reads,
  };
}

function prepare(oracle: Oracle, maxQubits: number, evaluate: OracleEvaluator): PreparedSearch {
  const space = searchSpace(oracleSize(oracle));
  check(space.qubits <= maxQubits, `analytic backend: ${space.qubits} index qubits exceed the limit of ${maxQubits}`);
  const set = evaluate(oracle);
  const M = set.count;
  const Np = space.searchSize;
  const theta = Math.asin(Math.sqrt(M / Np));
  const unmarked = unmarkedSampler(set, Np);
  const markedProb = (r: number): number => {
    checkIterations(r);
    if (M === 0) return 0;
    if (M === Np) return 1;
    return Math.sin((2 * r + 1) * theta) ** 2;
  };
  const amplitudes = (r: number): Float64Array => {
    checkIterations(r);
    const angle = (2 * r + 1) * theta;
    const a = new Float64Array(Np).fill(M < Np ? Math.cos(angle) / Math.sqrt(Np - M) : 0);
    const onMarked = M > 0 ? Math.sin(angle) / Math.sqrt(M) : 0;
    const marked = set.list();
    for (let k = 0; k < marked.length; k++) a[marked[k]!] = onMarked;
    return a;
  };
  return {
    backend: 'analytic',
    size: space.size,
    qubits: space.qubits,
    searchSize: Np,
    markedCount: M,
    get scoreReads() {
      return set.reads + unmarked.reads();
    },
    isMarked: (i) => set.has(i),
    amplitudes,
    probabilities: (r) => squared(amplitudes(r)),
    markedProbability: markedProb,
    measure(r: number, rng: Rng, noise?: Noise): number {
      const p = markedProb(r);
      if (noise && rng.next() >= survivalProbability(noise, r)) return rng.int(Np); // depolarized: I/N'
      if (M === Np || (M > 0 && rng.next() < p)) return set.sample(rng);
      return unmarked.sample(rng);
    },
  };
}

export function createAnalyticBackend(opts: AnalyticOptions = {}): Backend {
  const maxQubits = opts.maxQubits ?? MAX_SEARCH_QUBITS;
  check(Number.isInteger(maxQubits) && maxQubits >= 0 && maxQubits <= MAX_SEARCH_QUBITS,
    `maxQubits must be an integer in [0, ${MAX_SEARCH_QUBITS}], got ${maxQubits}`);
  const evaluate = createOracleEvaluator();
  return { name: 'analytic', maxQubits, prepare: memoized((oracle) => prepare(oracle, maxQubits, evaluate)) };
}
