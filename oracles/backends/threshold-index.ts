/**
 * A set of scores arranged under a rising threshold: a permutation of the set such that, for the current τ,
 * the members scoring above τ are exactly the prefix [0, L) and the others the suffix [L, size). Counting the
 * members above τ is then reading L, and a uniform member above τ (or not) is a uniform position of the prefix
 * (or suffix) — O(1) per draw, no pass over the set per threshold.
 *
 * How a rising τ stays cheap. The arrangement carries a stack of boundaries, positions rising toward the top;
 * a boundary at b records afterMax ≤ beforeMin with every score before b ≥ beforeMin and every score from b
 * up to the current cut ≤ afterMax. Raising τ pops the boundaries it passes (the suffix behind them is
 * discarded unread) and refines only the segment that holds the new cut.
 * - Built once: a counting sort on equal intervals of the scores' order-preserving keys (score-keys.ts; the
 *   top level of an MSD radix sort, Knuth, TAOCP vol. 3, §5.2.5) spanning the set's own key range, so the
 *   buckets are fine where the scores are, lays the set out by bucket, descending; the buckets are grouped
 *   into at most 1024 runs of about size/1024 members, each run's start a boundary with its bucket bounds.
 * - Refined per threshold: the segment holding the cut is split by random-pivot three-way partitions (ties
 *   stay together, so heavy ties or a single crowded bucket cost no more than distinct scores) — quickselect's
 *   pivots kept as boundaries, the incremental sorting of Paredes & Navarro ("Optimal Incremental Sorting",
 *   ALENEX 2006) run from the top — until a few members remain, which are split at τ directly.
 * A rising sequence of thresholds thus costs O(size) for the layout plus, per threshold, O(log size) pops and
 * the partition of one run (≈ size/1024 members) — instead of a pass over the set per threshold. A τ below
 * the last one starts over (one more layout; the search algorithms here only raise it). Scores and indices
 * are kept side by side in arrangement order, so every pass is sequential.
 *
 * `reads` counts the scores read: 3 per member for the layout (key range, histogram, scatter), then every
 * member of every partitioned segment. Simulator work, reported as `simulatorScoreReads`.
 */
import type { Scores } from '../oracle.ts';
import { bucketHighest, bucketLowest, bucketing, histogramOf, keyRange, keyWords, scatterOf, scratch } from './score-keys.ts';

/** Segments at most this long are split at τ directly instead of by a pivot. */
const DIRECT_SPLIT = 24;
/** Below this many members the bucket layout is not worth its tables: pivots alone. */
const BUCKET_MIN = 1 << 12;
/** At most this many runs in the scatter (few enough write streams to stay in cache). */
const COARSE = 256;

export class ThresholdIndex {
  /** How many members it arranges. */
  readonly size: number;
  /** Original index of the member at each position: order[0, above) score above the threshold. */
  readonly order: Int32Array;
  /** Its score at each position. */
  private readonly vals: Scores;
  /** [end, size) score ≤ the last threshold; [0, end) is organised by the boundary stack. */
  private end = 0;
  private last = -Infinity;
  private readonly pos: number[] = [];
  private readonly afterMax: number[] = [];
  private readonly beforeMin: number[] = [];
  private state = 0x2545f491; // xorshift32 for pivot positions: internal, so the search's own Rng stream is unaffected
  reads = 0;

  /**
   * Arranges the members whose scores are `vals` and whose indices are `ids` (ids[i] for vals[i]; default
   * i). The arrays are read during construction only, never changed or kept.
   */
  constructor(vals: Scores, ids: Int32Array | null = null) {
    this.size = vals.length;
    this.order = new Int32Array(this.size);
    this.vals = vals instanceof Float32Array ? new Float32Array(this.size) : new Float64Array(this.size);
    this.layout(vals, ids ?? identity(vals.length));
  }

  /** After `advance(τ)`: L, the number of members scoring above τ (they are order[0, L)). */
  get above(): number {
    return this.end;
  }

  /**
   * Forgets every boundary: one segment of all members, valid for any τ (the members are a permutation in any
   * order); pivots refine it again. For a τ below the last one — which the search algorithms never send.
   */
  private restart(): void {
    this.end = this.size;
    this.last = -Infinity;
    this.pos.length = this.afterMax.length = this.beforeMin.length = 0;
  }

  /** The initial arrangement: by bucket, descending, runs of buckets as boundaries (as given for small sets). */
  private layout(srcVals: Scores, srcIds: Int32Array): void {
    const { order, vals, size: n } = this;
    this.restart();
    if (n < BUCKET_MIN) {
      vals.set(srcVals);
      order.set(srcIds);
      return;
    }
    // The members' key range, cut into about n/16 equal key intervals.
    const kw = keyWords(srcVals);
    const [kLo, kHi] = keyRange(kw, n);
    const bk = bucketing(kw, kLo, kHi, Math.min(16, Math.max(8, Math.ceil(Math.log2(n)) - 4)));
    const fine = bk.top + 1;
    // Pass 1: histogram of the buckets.
    const count = scratch(1, fine);
    histogramOf(bk, n, count);
    // Runs of buckets, highest first, of ≈ n/COARSE members each (a crowded bucket is a run of its own), so the
    // scatter below writes to few, cache-resident streams; each run's start is a boundary with the bounds of
    // the buckets either side.
    const runOf = scratch(2, fine), start = scratch(3, fine + 1);
    const lowBucket = scratch(4, fine + 1), highBucket = scratch(5, fine + 1);
    const runs = groupRuns(count, fine, Math.ceil(n / (COARSE - 1)), runOf, start, highBucket, lowBucket);
    for (let c = 1; c < runs; c++) this.push(start[c]!, bucketHighest(highBucket[c]!, bk), bucketLowest(lowBucket[c - 1]!, bk));
    // Pass 2: scatter indices and scores by run.
    scatterOf(bk, n, runOf, start, srcVals, srcIds, vals, order);
    this.reads += 3 * n;
  }

  private randomPosition(lo: number, hi: number): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return lo + ((x >>> 0) % (hi - lo));
  }

  private push(p: number, afterMax: number, beforeMin: number): void {
    this.pos.push(p);
    this.afterMax.push(afterMax);
    this.beforeMin.push(beforeMin);
  }

  /**
   * Rearranges for threshold τ (≥ the last one, else it starts over) and returns L, how many members score
   * above τ; then order[0, L) are those members and order[L, size) the others.
   */
  advance(tau: number): number {
    if (tau < this.last) this.restart();
    this.last = tau;
    const { vals, order, pos, afterMax, beforeMin } = this;
    for (;;) {
      const t = pos.length - 1;
      const lo = t >= 0 ? pos[t]! : 0;
      if (t >= 0 && tau >= beforeMin[t]!) {
        // Everything from the boundary on is ≤ afterMax ≤ beforeMin ≤ τ: out. The cut is further left.
        this.end = lo;
        pos.pop(); afterMax.pop(); beforeMin.pop();
        continue;
      }
      // Everything before lo is > τ (≥ beforeMin > τ, or lo = 0).
      if (t >= 0 && tau >= afterMax[t]!) {
        this.end = lo; // and [lo, end) ≤ afterMax ≤ τ: the cut is exactly at the boundary
        return lo;
      }
      if (tau === Infinity) {
        this.end = 0;
        return 0;
      }
      const hi = this.end;
      if (hi - lo <= DIRECT_SPLIT) return this.split(lo, hi, tau, t >= 0 ? beforeMin[t]! : Infinity);
      // Three-way partition of [lo, hi) around the median of three random elements: [lo, a) > p, [a, b) = p,
      // [b, hi) < p, tracking the minimum of the first part and the maximum of the last (the new boundaries).
      const p = median3(vals[this.randomPosition(lo, hi)]!, vals[this.randomPosition(lo, hi)]!, vals[this.randomPosition(lo, hi)]!);
      this.reads += hi - lo;
      let a = lo, i = lo, b = hi;
      let minA = Infinity, maxC = -Infinity;
      while (i < b) {
        const v = vals[i]!;
        if (v > p) {
          if (v < minA) minA = v;
          const o = order[i]!;
          vals[i] = vals[a]!;
          order[i] = order[a]!;
          vals[a] = v;
          order[a] = o;
          a++;
          i++;
        } else if (v < p) {
          if (v > maxC) maxC = v;
          b--;
          const o = order[i]!;
          vals[i] = vals[b]!;
          order[i] = order[b]!;
          vals[b] = v;
          order[b] = o;
        } else {
          i++;
        }
      }
      if (a > lo) this.push(a, p, minA);
      if (tau >= p) {
        this.end = a; // [a, hi) ≤ p ≤ τ: out; the cut is in [lo, a)
        continue;
      }
      // [lo, b) ≥ p > τ: in. The cut is in [b, hi).
      if (b === hi) {
        this.push(hi, -Infinity, p); // the same τ again is answered at once
        this.end = hi;
        return hi;
      }
      this.push(b, maxC, p);
    }
  }

  /** Splits the short segment [lo, hi) at τ directly; `before` bounds what lies before lo from below. */
  private split(lo: number, hi: number, tau: number, before: number): number {
    const { vals, order } = this;
    this.reads += hi - lo;
    let i = lo, j = hi;
    let minIn = before, maxOut = -Infinity;
    while (i < j) {
      const v = vals[i]!;
      if (v > tau) {
        if (v < minIn) minIn = v;
        i++;
      } else {
        if (v > maxOut) maxOut = v;
        j--;
        const o = order[i]!;
        vals[i] = vals[j]!;
        order[i] = order[j]!;
        vals[j] = v;
        order[j] = o;
      }
    }
    this.push(i, maxOut, minIn); // a later τ in [maxOut, minIn) is answered at once
    this.end = i;
    return i;
  }
}

/**
 * Groups the buckets, highest first, into runs of about `target` members (a bucket is never split). For run c:
 * start[c] its first position, runOf[b] = c for its buckets, high[c] its highest bucket, low[c] its lowest.
 * Returns the number of runs.
 */
function groupRuns(count: Int32Array, fine: number, target: number, runOf: Int32Array, start: Int32Array, high: Int32Array, low: Int32Array): number {
  let c = -1, acc = 0, at = 0;
  for (let b = fine - 1; b >= 0; b--) {
    const cb = count[b]!;
    if (cb === 0) continue;
    if (c < 0 || (acc > 0 && (acc >= target || acc + cb > 2 * target))) {
      c++;
      start[c] = at;
      high[c] = b;
      acc = 0;
    }
    runOf[b] = c;
    low[c] = b;
    acc += cb;
    at += cb;
  }
  return c + 1;
}

function identity(n: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  return ids;
}

function median3(a: number, b: number, c: number): number {
  const lo = a < b ? a : b, hi = a < b ? b : a;
  return c <= lo ? lo : c >= hi ? hi : c;
}
