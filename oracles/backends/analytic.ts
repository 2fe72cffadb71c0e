/**
 * `analytic`: the exact two-dimensional evolution of Grover's algorithm (Boyer, Brassard, Høyer, Tapp,
 * quant-ph/9605034, §3). The state never leaves span{|α⟩, |β⟩}: the uniform superpositions over the M
 * marked and the N' − M unmarked states. With sin²θ = M/N', after r iterations
 *     amplitude(marked x)   = sin((2r+1)θ)/√M
 *     amplitude(unmarked x) = cos((2r+1)θ)/√(N'−M)
 * so a measurement is "a marked index, uniformly" with probability sin²((2r+1)θ), else "an unmarked index,
 * uniformly". With no iteration (r = 0) that is one uniform draw over [0, N'). Otherwise the draw u < sin²(…)
 * is decided from bounds lo ≤ M ≤ hi whenever u falls outside the range sin² takes over them, and from the
 * exact M only otherwise — the same decision, so the same distribution, without counting M for every oracle.
 * Counting and drawing uniformly among the marked or the unmarked states is the simulator's classical work
 * (marked-set.ts, threshold-index.ts: O(N) reads for a whole rising-threshold run over one scores array, then
 * O(1) per measurement), so a search costs O(1) per measurement whatever r — no O(N) work per iteration or
 * per oracle. It must agree with `statevector` to 1e-12.
 */
import { QattnError, check } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import { survivalProbability, type Noise } from '../noise.ts';
import { MAX_SEARCH_QUBITS, oracleSize, searchSpace, type Oracle } from '../oracle.ts';
import { squared, type Backend, type PreparedSearch } from './backend.ts';
import { createOracleEvaluator, type MarkedSet } from './marked-set.ts';

export interface AnalyticOptions {
  /** Refuse index registers wider than this (default 30: the O(N) marked-set pass still has to fit). */
  readonly maxQubits?: number;
}

function checkIterations(r: number): void {
  if (!(Number.isInteger(r) && r >= 0)) throw new QattnError(`iteration count must be an integer ≥ 0, got ${r}`);
}

/** P(marked) after r noiseless iterations with M of N' marked: sin²((2r+1)θ), sin²θ = M/N'. */
function markedProbabilityOf(M: number, Np: number, r: number): number {
  if (M === 0) return 0;
  if (M === Np) return 1;
  return Math.sin((2 * r + 1) * Math.asin(Math.sqrt(M / Np))) ** 2;
}

/** Slack on the bounds below: far above the float error of sin² (≈ 1e-15), far below any probability that matters. */
const BOUND_SLACK = 1e-9;

/**
 * min and max of sin²((2r+1)θ(M)) over lo ≤ M ≤ hi. θ rises with M, so the angle φ sweeps [φ(lo), φ(hi)]: the
 * extremes are at the ends, or 1 (0) where the sweep crosses an odd (even) multiple of π/2.
 */
function probabilityRange(lo: number, hi: number, Np: number, r: number): readonly [number, number] {
  const a = markedProbabilityOf(lo, Np, r), b = markedProbabilityOf(hi, Np, r);
  let min = Math.min(a, b), max = Math.max(a, b);
  const half = Math.PI / 2;
  const first = Math.ceil(((2 * r + 1) * Math.asin(Math.sqrt(lo / Np))) / half);
  const last = Math.floor(((2 * r + 1) * Math.asin(Math.sqrt(hi / Np))) / half);
  for (let t = first; t <= last && t <= first + 1; t++) {
    if (t % 2 === 1) max = 1;
    else min = 0;
  }
  return [min, max];
}

/** A prepared analytic search: M exactly only when something needs it (see the module comment). */
class AnalyticSearch implements PreparedSearch {
  readonly backend = 'analytic' as const;
  readonly size: number;
  readonly qubits: number;
  readonly searchSize: number;
  private exactM = -1;

  constructor(size: number, qubits: number, private readonly set: MarkedSet) {
    this.size = size;
    this.qubits = qubits;
    this.searchSize = 2 ** qubits;
  }

  get markedCount(): number {
    if (this.exactM < 0) this.exactM = this.set.count;
    return this.exactM;
  }

  get scoreReads(): number {
    return this.set.reads;
  }

  isMarked(i: number): boolean {
    return this.set.has(i);
  }

  markedProbability(r: number): number {
    checkIterations(r);
    return markedProbabilityOf(this.markedCount, this.searchSize, r);
  }

  /** Is the measurement after r ≥ 1 iterations marked, for the uniform draw u? u < P(marked), exactly. */
  private marked(r: number, u: number): boolean {
    const Np = this.searchSize;
    if (this.exactM < 0) {
      const lo = this.set.countLow(), hi = this.set.countHigh();
      if (lo === hi) this.exactM = lo;
      else {
        const [min, max] = probabilityRange(lo, hi, Np, r);
        if (u < min - BOUND_SLACK) return true;
        if (u >= max + BOUND_SLACK) return false;
      }
    }
    return u < markedProbabilityOf(this.markedCount, Np, r);
  }

  amplitudes(r: number): Float64Array {
    checkIterations(r);
    const M = this.markedCount, Np = this.searchSize;
    const angle = (2 * r + 1) * Math.asin(Math.sqrt(M / Np));
    const a = new Float64Array(Np).fill(M < Np ? Math.cos(angle) / Math.sqrt(Np - M) : 0);
    const onMarked = M > 0 ? Math.sin(angle) / Math.sqrt(M) : 0;
    const list = this.set.list();
    for (let k = 0; k < list.length; k++) a[list[k]!] = onMarked;
    return a;
  }

  probabilities(r: number): Float64Array {
    return squared(this.amplitudes(r));
  }

  measure(r: number, rng: Rng, noise?: Noise): number {
    checkIterations(r);
    const Np = this.searchSize;
    if (noise && rng.next() >= survivalProbability(noise, r)) return rng.int(Np); // depolarized: I/N'
    // No iteration: |s⟩ itself, a uniform state (P(marked) = M/N' and uniform within either part).
    if (r === 0) return rng.int(Np);
    return this.marked(r, rng.next()) ? this.set.sample(rng) : this.set.sampleUnmarked(rng);
  }
}

export function createAnalyticBackend(opts: AnalyticOptions = {}): Backend {
  const maxQubits = opts.maxQubits ?? MAX_SEARCH_QUBITS;
  check(Number.isInteger(maxQubits) && maxQubits >= 0 && maxQubits <= MAX_SEARCH_QUBITS,
    `maxQubits must be an integer in [0, ${MAX_SEARCH_QUBITS}], got ${maxQubits}`);
  const evaluate = createOracleEvaluator();
  // No memo per oracle (unlike the state vector): preparing is O(|exclude|) here, the per-array work is shared
  // by the evaluator's view, and top-k prepares hundreds of oracles per run.
  const prepare = (oracle: Oracle): PreparedSearch => {
    const { size, qubits } = searchSpace(oracleSize(oracle));
    if (qubits > maxQubits) throw new QattnError(`analytic backend: ${qubits} index qubits exceed the limit of ${maxQubits}`);
    return new AnalyticSearch(size, qubits, evaluate(oracle));
  };
  return { name: 'analytic', maxQubits, prepare, prepareScores: evaluate.prepareScores };
}
