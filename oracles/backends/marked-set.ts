/**
 * Classical evaluation of an oracle by the simulator: which indices are marked, how many, and uniform
 * sampling among the marked and among the unmarked states. A QPU never does this; the simulator must, and
 * every score it reads is counted in `reads` so that callers can report it (as `simulatorScoreReads`)
 * separately from oracle calls.
 *
 * Threshold oracles over one scores array come with rising thresholds (Dürr–Høyer, top-k: hundreds per
 * run), so the evaluator keeps one ScoreView per array and does, per threshold, only what the measurement
 * statistics need — never a pass over all N scores per oracle:
 * - One pass when the array is first searched (score-keys.ts firstPass): counts of the scores by equal value
 *   intervals, a NaN check, and a copy of the top ≈ N/32 (the candidates), then arranged by a ThresholdIndex
 *   (threshold-index.ts).
 * - For τ among the candidates, the index gives L = #{scores > τ} exactly and uniform draws from its prefix.
 * - Below them, the interval counts bound L (the intervals above τ's, and τ's own); the analytic backend
 *   decides "marked or not" from bounds on M whenever they settle its uniform draw and asks for the exact M
 *   (one counting pass) only when the draw falls in the sliver they leave open. Draws among the marked or the
 *   unmarked states are rejection samples from the uniform distribution on [0, N') — exact, and cheap there
 *   because either part is a large fraction of the space.
 * Every fallback (a rejection run that has made 64 times its expected tries, a τ below what the candidates
 * cover, a tiny unmarked part) switches to an exact structure, so the distributions are always exactly the
 * uniform ones an O(N) scan per oracle would give.
 *
 * Rank scores (oracle.ts rankScores) skip all of that: the marked indices are a prefix, so SortedSet answers
 * every threshold in O(log k) without reading the array (grover-topk's searches run there).
 */
import type { Rng } from '../../core/rng.ts';
import { checkScores, isRankScores, rankFinite, searchSpace, type MarkedOracle, type Oracle, type Scores, type ThresholdOracle } from '../oracle.ts';
import { collectAbove, firstPass, linearBucket, type LinearBuckets } from './score-keys.ts';
import { ThresholdIndex } from './threshold-index.ts';

export interface MarkedSet {
  /** M, exact (a threshold set may spend one O(N) pass on it the first time; see countLow/countHigh). */
  readonly count: number;
  /** A lower bound on M known without that pass. */
  countLow(): number;
  /** An upper bound on M known without that pass. */
  countHigh(): number;
  /** Scores (or flags) the simulator has read for this set so far. */
  readonly reads: number;
  /** Membership; indices ≥ N (padding) are never marked. */
  has(index: number): boolean;
  /** A uniformly random marked index (requires M > 0). */
  sample(rng: Rng): number;
  /** A uniformly random unmarked state of the padded space [0, N') (padding included; requires M < N'). */
  sampleUnmarked(rng: Rng): number;
  /** All marked indices, ascending (shared between calls: do not mutate). */
  list(): Int32Array;
}

/** Evaluates oracles; `prepareScores` does an array's first passes up front (validating it: see Backend). */
export interface OracleEvaluator {
  (oracle: Oracle): MarkedSet;
  prepareScores(scores: Scores): number;
}

/** Rejection sampling makes up to this many times its expected number of tries before an exact fallback. */
const REJECTION_TRIES = 64;
/** Rejection is used while the accepted part is at least 1/RARE of the padded space. */
const RARE = 1024;
/** The candidates copied in the first passes: about this fraction of the scores, the highest. */
const CANDIDATE_FRACTION = 1 / 32;
/** Scores sampled to place the candidates' cut. */
const CUT_SAMPLE = 1024;

/** Interval counts for N scores: about N/256 scores per interval, 64 … 4096 intervals (at most 16 KiB of counts). */
function histogramBuckets(n: number): number {
  return 2 ** Math.min(12, Math.max(6, Math.ceil(Math.log2(Math.max(2, n))) - 8));
}

/**
 * What the simulator knows about one scores array, shared by every threshold evaluated on it. Built by one
 * pass on first use: counts of all N scores by equal value intervals between the smallest and largest finite
 * score of a 1024-score sample, and the indices scoring above a cut v — the sample's (1 − 1/32)-quantile, so
 * about N/32 of them whatever the distribution — copied with their scores into a candidate ThresholdIndex.
 * The sample comes from a fixed internal generator (reproducible, and apart from the search's own Rng
 * stream); any cut would give the same counts, a good one keeps the candidates few.
 */
export class ScoreView {
  readonly n: number;
  /** N' = 2^⌈log₂N⌉, the padded search space. */
  readonly padded: number;
  /** Scores read so far (passes, copies, partitions). */
  reads = 0;
  private built = false;
  /** atOrAbove[b] = scores in intervals ≥ b of lb (length intervals + 1). */
  private atOrAbove = new Int32Array(1);
  /** The first pass's cut, and a bit per index scoring above it. */
  private cut = Infinity;
  private aboveCut: Uint32Array | null = null;
  private lb: LinearBuckets = { lo: 0, inv: 0, top: 0 };
  /** Every index scoring above candidatesTau, arranged. */
  private candidates: ThresholdIndex | null = null;
  private candidatesTau = Infinity;
  /** All N indices arranged (the fallback for unmarked draws when few are unmarked). */
  private all: ThresholdIndex | null = null;
  /** The last exact count taken by a pass. */
  private countedTau = NaN;
  private counted = 0;
  /** Bounds of the last `bound` call (fields, not a tuple: this runs once per measurement). */
  low = 0;
  high = 0;

  constructor(readonly scores: Scores) {
    this.n = scores.length;
    this.padded = searchSpace(this.n).searchSize;
  }

  private build(): void {
    this.built = true;
    const { scores, n } = this;
    let x = 0x9e3779b9 ^ n;
    const sample = new Float64Array(Math.min(n, CUT_SAMPLE));
    for (let t = 0; t < sample.length; t++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      sample[t] = scores[sample.length === n ? t : (x >>> 0) % n]!;
    }
    sample.sort();
    const cut = sample[Math.min(sample.length - 1, Math.floor(sample.length * (1 - CANDIDATE_FRACTION)))]!;
    // Intervals between the smallest and largest finite sampled scores (masked −∞ scores would stretch them);
    // scores beyond fall into the end intervals.
    let first = 0;
    while (first < sample.length && sample[first] === -Infinity) first++;
    let last = sample.length - 1;
    while (last >= first && sample[last] === Infinity) last--;
    const lo = first <= last ? sample[first]! : 0, hi = first <= last ? sample[last]! : 0;
    const B = histogramBuckets(n);
    const inv = hi > lo && Number.isFinite(B / (hi - lo)) ? B / (hi - lo) : 0;
    this.lb = { lo, inv, top: B - 1 };
    const counts = new Int32Array(B + 1);
    const pass = firstPass(scores, this.lb, cut, 2 * Math.ceil(CANDIDATE_FRACTION * n) + 64, counts);
    this.reads += n;
    if (pass.nan) checkScores(scores); // throws, naming the first NaN
    for (let b = B - 1; b >= 0; b--) counts[b]! += counts[b + 1]!;
    this.atOrAbove = counts;
    // A bit per index: set for the candidates, so a membership test at τ ≥ cut reads 128 KiB per 2^20 scores,
    // not the 4 MiB of scores (a measurement's index is uniform: it misses the cache in the scores).
    const bits = new Uint32Array((n + 31) >>> 5);
    const ids = pass.ids;
    for (let t = 0; t < ids.length; t++) bits[ids[t]! >>> 5]! |= 1 << (ids[t]! & 31);
    this.aboveCut = bits;
    this.cut = cut;
    this.setCandidates(pass.vals, ids, cut);
  }

  /** False only if scores[i] ≤ τ is known without reading it (τ at or above the first pass's cut). */
  mayExceed(i: number, tau: number): boolean {
    const bits = this.aboveCut;
    return bits === null || tau < this.cut || (bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  private setCandidates(vals: Scores, ids: Int32Array, tau: number): void {
    const index = new ThresholdIndex(vals, ids);
    this.reads += index.reads;
    this.candidates = index;
    this.candidatesTau = tau;
  }

  /** Runs the first passes now (they validate the scores: a QattnError names the first NaN); returns the reads spent. */
  prepare(): number {
    const r0 = this.reads;
    if (!this.built) this.build();
    return this.reads - r0;
  }

  /** Whether the candidate index answers τ exactly (builds the view on first use). */
  covers(tau: number): boolean {
    if (!this.built) this.build();
    return tau >= this.candidatesTau;
  }

  /**
   * Sets low ≤ #{j : scores[j] > τ} ≤ high: exact where a structure covers τ, else the scores in intervals
   * above τ's, and those plus τ's own interval.
   */
  bound(tau: number): void {
    if (this.covers(tau)) {
      this.low = this.high = this.advance(this.candidates!, tau);
    } else if (this.countedTau === tau) {
      this.low = this.high = this.counted;
    } else {
      const b = linearBucket(tau, this.lb);
      this.low = this.atOrAbove[b + 1]!;
      this.high = this.atOrAbove[b]!;
    }
  }

  /** #{j : scores[j] > τ}, exact (one counting pass when neither a structure nor the bounds settle it). */
  above(tau: number): number {
    this.bound(tau);
    if (this.low === this.high) return this.low;
    const { scores, n } = this;
    let c = 0;
    for (let j = 0; j < n; j++) if (scores[j]! > tau) c++;
    this.reads += n;
    this.countedTau = tau;
    this.counted = c;
    return c;
  }

  /** An index whose order[0, L) is exactly {j : scores[j] > τ} (the candidates, copied again at τ if τ is lower). */
  abovePrefix(tau: number): ThresholdIndex {
    if (!this.covers(tau)) {
      this.bound(tau);
      const { ids, vals } = collectAbove(this.scores, tau, this.high);
      this.reads += this.n;
      this.setCandidates(vals, ids, tau);
    }
    this.advance(this.candidates!, tau);
    return this.candidates!;
  }

  /** An index of all N scores advanced to τ: order[L, N) are the scores ≤ τ. */
  allAt(tau: number): ThresholdIndex {
    if (!this.all) {
      this.all = new ThresholdIndex(this.scores);
      this.reads += this.all.reads;
    }
    this.advance(this.all, tau);
    return this.all;
  }

  /** index.advance(τ), its partition reads counted. */
  private advance(index: ThresholdIndex, tau: number): number {
    const before = index.reads;
    const L = index.advance(tau);
    this.reads += index.reads - before;
    return L;
  }
}

/** Whether the ascending `sorted` holds x (binary search). */
function holds(sorted: Int32Array, x: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === x;
}

/** Up to this many excluded indices are looked up by a linear scan (top-k excludes k of them: usually 32). */
const LINEAR_EXCLUDE = 64;

/** The marked set of a threshold oracle, evaluated lazily on the shared view (see the module comment). */
class ThresholdSet implements MarkedSet {
  private readonly scores: Scores;
  private readonly tau: number;
  private readonly n: number;
  private readonly padded: number;
  private readonly exclude: ArrayLike<number>;
  /** The excluded indices ascending, for long exclusion lists only (else null: a linear scan). */
  private readonly excludeSorted: Int32Array | null;
  /** How many excluded indices score above τ (they are in L, not marked). */
  private readonly excludedAbove: number;
  private exact = -1;
  private sorted: Int32Array | null = null;
  private spent: number;

  constructor(oracle: ThresholdOracle, private readonly view: ScoreView) {
    const { scores, threshold: tau, exclude } = oracle;
    this.scores = scores;
    this.tau = tau;
    this.n = scores.length;
    this.padded = view.padded;
    this.exclude = exclude;
    this.excludeSorted = exclude.length <= LINEAR_EXCLUDE ? null : oracle.excludeSorted ? Int32Array.from(exclude) : Int32Array.from(exclude).sort();
    this.excludedAbove = this.excludedAboveList().length;
    this.spent = exclude.length;
  }

  /** The distinct excluded indices scoring above τ (an exclusion list may repeat an index). */
  private excludedAboveList(): number[] {
    const { scores, tau } = this;
    const out: number[] = [];
    if (this.excludeSorted) {
      const ex = this.excludeSorted;
      for (let t = 0; t < ex.length; t++) if ((t === 0 || ex[t] !== ex[t - 1]) && scores[ex[t]!]! > tau) out.push(ex[t]!);
    } else {
      const ex = this.exclude;
      for (let t = 0; t < ex.length; t++) if (scores[ex[t]!]! > tau && !out.includes(ex[t]!)) out.push(ex[t]!);
    }
    return out;
  }

  private isExcluded(i: number): boolean {
    if (this.excludeSorted) return holds(this.excludeSorted, i);
    const ex = this.exclude;
    for (let t = 0; t < ex.length; t++) if (ex[t] === i) return true;
    return false;
  }

  get reads(): number {
    return this.spent;
  }

  get count(): number {
    if (this.exact < 0) {
      const r0 = this.view.reads;
      this.exact = this.view.above(this.tau) - this.excludedAbove;
      this.spent += this.view.reads - r0;
    }
    return this.exact;
  }

  private bound(): void {
    const r0 = this.view.reads;
    this.view.bound(this.tau);
    this.spent += this.view.reads - r0;
    if (this.view.low === this.view.high) this.exact = this.view.low - this.excludedAbove;
  }

  countLow(): number {
    if (this.exact >= 0) return this.exact;
    this.bound();
    return Math.max(0, this.view.low - this.excludedAbove);
  }

  countHigh(): number {
    if (this.exact >= 0) return this.exact;
    this.bound();
    return this.view.high - this.excludedAbove;
  }

  has(i: number): boolean {
    return i < this.n && this.view.mayExceed(i, this.tau) && this.scores[i]! > this.tau && !this.isExcluded(i);
  }

  sample(rng: Rng): number {
    const { padded } = this;
    if (!this.view.covers(this.tau)) {
      // Many marked (τ below the candidates): rejection from the uniform distribution on [0, N'), with
      // enough tries that giving up has probability ≤ e^−64 (then the exact draw below).
      const lo = this.countLow();
      if (lo * RARE > padded) {
        for (let t = Math.ceil((REJECTION_TRIES * padded) / lo); t > 0; t--) {
          const x = rng.int(padded);
          if (this.has(x)) return x;
        }
      }
    }
    // Uniform positions of the prefix above τ, rejecting the excluded (acceptance ≥ 1/(1 + |exclude|)).
    const r0 = this.view.reads;
    const index = this.view.abovePrefix(this.tau);
    this.spent += this.view.reads - r0;
    const order = index.order, L = index.above;
    for (;;) {
      const j = order[rng.int(L)]!;
      if (!this.isExcluded(j)) return j;
    }
  }

  sampleUnmarked(rng: Rng): number {
    const { padded, n } = this;
    const lo = padded - this.countHigh();
    if (lo * RARE > padded) {
      for (let t = Math.ceil((REJECTION_TRIES * padded) / lo); t > 0; t--) {
        const x = rng.int(padded);
        if (!this.has(x)) return x;
      }
    }
    // Few unmarked: number them as the N − L scores ≤ τ (the suffix of the full arrangement), then the
    // padding states N … N' − 1, then the excluded indices above τ, and draw one uniformly.
    const r0 = this.view.reads;
    const index = this.view.allAt(this.tau);
    this.spent += this.view.reads - r0;
    const L = index.above, below = n - L;
    let r = rng.int(below + (padded - n) + this.excludedAbove);
    if (r < below) return index.order[L + r]!;
    r -= below;
    if (r < padded - n) return n + r;
    return this.excludedAboveList()[r - (padded - n)]!;
  }

  list(): Int32Array {
    if (!this.sorted) {
      const r0 = this.view.reads;
      const index = this.view.abovePrefix(this.tau);
      this.spent += this.view.reads - r0;
      const out = new Int32Array(index.above - this.excludedAbove);
      let c = 0;
      for (let p = 0; p < index.above; p++) if (!this.isExcluded(index.order[p]!)) out[c++] = index.order[p]!;
      this.sorted = out.sort();
    }
    return this.sorted;
  }
}

/** The r-th (0-based) state of [0, N') not in `marked` (ascending, distinct): binary search, O(log M). */
function nthUnmarked(marked: Int32Array, r: number): number {
  // marked[t] − t states below marked[t] are unmarked; find the first t where that exceeds r.
  let lo = 0;
  let hi = marked.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (marked[mid]! - mid > r) hi = mid;
    else lo = mid + 1;
  }
  return r + lo;
}

/**
 * The marked set of a threshold oracle over rank scores (oracle.ts rankScores: S − p at index p < f, −∞
 * after), where the indices scoring above τ are exactly a prefix [0, L): L = ⌈S − τ⌉ clamped to [0, f], the excluded members of the
 * prefix as a sorted list, and then every count, membership test and uniform draw in O(log) — no pass over
 * the scores at all. The same distributions as ThresholdSet on the same array (test/oracles-analytic-
 * statistics.test.ts checks both against the state vector).
 */
class SortedSet implements MarkedSet {
  private readonly n: number;
  private readonly padded: number;
  /** L: the indices [0, L) score above τ. */
  private readonly above: number;
  /** The distinct excluded indices below L, ascending: above τ but not marked. */
  private readonly excludedAbove: Int32Array;
  readonly reads: number;
  private sorted: Int32Array | null = null;

  /** `f`: rankFinite(oracle.scores), which the evaluator has just looked up. */
  constructor(oracle: ThresholdOracle, f: number) {
    const { scores, threshold: tau, exclude } = oracle;
    this.n = scores.length;
    // N' = 2^⌈log₂N⌉ inline (searchSpace's validation was done when the scores were made).
    this.padded = this.n <= 1 ? 1 : 2 ** (32 - Math.clz32(this.n - 1));
    // Rank scores are S − p on the finite prefix [0, f), S = scores[0], and −∞ after it: S − p > τ ⟺ p < S − τ
    // (integers below 2^53: exact for a τ that is a score). A τ between scores can round the difference, so
    // the cut is moved to where the two scores either side of it say (a step at most); a binary search (20
    // cache misses at 2^20) was most of this constructor's cost.
    let lo = f === 0 ? 0 : Math.min(f, Math.max(0, Math.ceil(scores[0]! - tau)));
    let reads = 3;
    while (lo > 0 && !(scores[lo - 1]! > tau)) { lo--; reads++; }
    while (lo < f && scores[lo]! > tau) { lo++; reads++; }
    this.above = lo;
    if (oracle.excludeSorted) {
      // Ascending and distinct already (top-k keeps its set so): the members below L are a prefix, copied —
      // O(k) per DHHM stage instead of a sort, which made the simulator O(k² log k) per query.
      let c = 0;
      while (c < exclude.length && exclude[c]! < lo) c++;
      if (exclude instanceof Int32Array) this.excludedAbove = exclude.subarray(0, c); // the oracle's own copy: shared, not copied again
      else {
        const ex = new Int32Array(c);
        for (let t = 0; t < c; t++) ex[t] = exclude[t]!;
        this.excludedAbove = ex;
      }
    } else {
      // A loop, not Int32Array.from: the iterator protocol was most of this constructor's time.
      const ex = new Int32Array(exclude.length);
      for (let t = 0; t < ex.length; t++) ex[t] = exclude[t]!;
      ex.sort();
      let c = 0;
      for (let t = 0; t < ex.length; t++) if (ex[t]! < lo && (c === 0 || ex[t] !== ex[c - 1])) ex[c++] = ex[t]!;
      this.excludedAbove = ex.slice(0, c);
    }
    this.reads = reads + exclude.length;
  }

  get count(): number {
    return this.above - this.excludedAbove.length;
  }

  countLow(): number {
    return this.count;
  }

  countHigh(): number {
    return this.count;
  }

  has(i: number): boolean {
    return i < this.above && !holds(this.excludedAbove, i);
  }

  /** The r-th marked index: the r-th of [0, L) not excluded. */
  sample(rng: Rng): number {
    return nthUnmarked(this.excludedAbove, rng.int(this.count));
  }

  /** Unmarked, numbered: the excluded members of the prefix, then L … N' − 1 (scores ≤ τ, then padding). */
  sampleUnmarked(rng: Rng): number {
    const ex = this.excludedAbove;
    const r = rng.int(this.padded - this.count);
    return r < ex.length ? ex[r]! : this.above + (r - ex.length);
  }

  list(): Int32Array {
    if (!this.sorted) {
      const out = new Int32Array(this.count);
      for (let r = 0; r < out.length; r++) out[r] = nthUnmarked(this.excludedAbove, r);
      this.sorted = out;
    }
    return this.sorted;
  }
}

function explicitSet(oracle: MarkedOracle): MarkedSet {
  const marked = oracle.marked;
  const padded = searchSpace(oracle.size).searchSize;
  return {
    count: marked.length,
    countLow: () => marked.length,
    countHigh: () => marked.length,
    reads: marked.length,
    has: (i) => holds(marked, i),
    sample: (rng) => marked[rng.int(marked.length)]!,
    sampleUnmarked: (rng) => nthUnmarked(marked, rng.int(padded - marked.length)),
    list: () => marked,
  };
}

/** An evaluator with its own per-scores-array view (one per backend instance). */
export function createOracleEvaluator(): OracleEvaluator {
  const views = new WeakMap<Scores, ScoreView>();
  const viewOf = (scores: Scores): ScoreView => {
    let view = views.get(scores);
    if (!view) views.set(scores, (view = new ScoreView(scores)));
    return view;
  };
  const evaluate = (oracle: Oracle): MarkedSet => {
    if (oracle.kind === 'marked') return explicitSet(oracle);
    const f = rankFinite(oracle.scores);
    return f !== null ? new SortedSet(oracle, f) : new ThresholdSet(oracle, viewOf(oracle.scores));
  };
  // Rank scores need no first pass: they are valid and ordered by construction.
  return Object.assign(evaluate, { prepareScores: (scores: Scores) => (isRankScores(scores) ? 0 : viewOf(scores).prepare()) });
}
