/**
 * Shared key-selection helpers for selection methods (top-k, LSH, ANN, dequantized and Grover top-k): a
 * fixed-size heap that keeps the k best-scoring keys in O(n log k), and the "softmax over a selected subset
 * from logits already computed" step, so no method pays a second dot product per selected key.
 *
 * Ordering is total and deterministic: a higher score wins, and equal scores are broken by the LOWER key
 * index (the same rule as fidelity.topKIndices), so "all scores equal" selects keys 0…k−1 on every run.
 */
import type { AttentionInput } from './types.ts';
import { softmaxInPlace, weightedValues } from './math.ts';

/** True when (sa, ja) ranks strictly below (sb, jb): lower score, or equal score and higher index. */
function worse(sa: number, ja: number, sb: number, jb: number): boolean {
  return sa < sb || (sa === sb && ja > jb);
}

/**
 * Keeps the `capacity` best (score, index) pairs pushed into it. A min-heap on rank: the root is the worst
 * kept pair, so a new pair is compared with the root only (O(1) when rejected, O(log k) when kept).
 * −∞ and NaN scores are never kept: a masked or invisible key must not be selected even when fewer than k
 * keys are visible (the selection is then smaller than k).
 */
export class TopKHeap {
  readonly capacity: number;
  private readonly scores: Float64Array;
  private readonly idx: Int32Array;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`internal: TopKHeap capacity ${capacity}`);
    this.capacity = capacity;
    this.scores = new Float64Array(capacity);
    this.idx = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.count = 0;
  }

  push(index: number, score: number): void {
    if (!(score > -Infinity) || this.capacity === 0) return;
    if (this.count < this.capacity) {
      let c = this.count++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(score, index, this.scores[p]!, this.idx[p]!)) break;
        this.scores[c] = this.scores[p]!;
        this.idx[c] = this.idx[p]!;
        c = p;
      }
      this.scores[c] = score;
      this.idx[c] = index;
    } else if (worse(this.scores[0]!, this.idx[0]!, score, index)) {
      this.siftDownFromRoot(index, score);
    }
  }

  private siftDownFromRoot(index: number, score: number): void {
    const s = this.scores, ix = this.idx, cnt = this.count;
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= cnt) break;
      const r = l + 1;
      const w = r < cnt && worse(s[r]!, ix[r]!, s[l]!, ix[l]!) ? r : l;
      if (!worse(s[w]!, ix[w]!, score, index)) break;
      s[c] = s[w]!;
      ix[c] = ix[w]!;
      c = w;
    }
    s[c] = score;
    ix[c] = index;
  }

  /** The kept indices, best first (descending score, ties by ascending index). Does not clear the heap. */
  indices(): Int32Array {
    // Heap sort on copies: the root is the worst kept pair, so popping it k times fills the result from the
    // back. No comparator closure and no boxed array (Array.prototype.sort here was a top cost of top-k).
    const n = this.count;
    const s = this.scores.slice(0, n), ix = this.idx.slice(0, n), out = new Int32Array(n);
    for (let size = n; size > 0; size--) {
      out[size - 1] = ix[0]!;
      const ls = s[size - 1]!, li = ix[size - 1]!;
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        if (l >= size - 1) break;
        const r = l + 1;
        const w = r < size - 1 && worse(s[r]!, ix[r]!, s[l]!, ix[l]!) ? r : l;
        if (!worse(s[w]!, ix[w]!, ls, li)) break;
        s[c] = s[w]!;
        ix[c] = ix[w]!;
        c = w;
      }
      s[c] = ls;
      ix[c] = li;
    }
    return out;
  }
}

/**
 * Indices of the k largest finite scores among `scores` (all n, or only `keys` when given — then
 * scores[t] belongs to key keys[t]). Best first; −∞ scores are never selected. O(len · log k).
 */
export function topKByScore(scores: ArrayLike<number>, k: number, keys?: ArrayLike<number>): Int32Array {
  const heap = new TopKHeap(Math.min(k, scores.length));
  for (let t = 0; t < scores.length; t++) heap.push(keys ? keys[t]! : t, scores[t]!);
  return heap.indices();
}

/**
 * Exact softmax of query i over `selected`, using logits the caller already computed (`logitOf(j)` for key
 * j: scaled score + mask, −∞ if invisible), written into row i of `out`. Same result as math.attendSubset
 * without recomputing the dot products. Returns the weights aligned with `selected`.
 */
export function softmaxOverSelected(
  input: AttentionInput,
  i: number,
  selected: Int32Array,
  logitOf: (j: number) => number,
  out: Float32Array,
): Float64Array {
  const w = new Float64Array(selected.length);
  for (let t = 0; t < selected.length; t++) w[t] = logitOf(selected[t]!);
  softmaxInPlace(w);
  weightedValues(input, i, w, out, selected);
  return w;
}

/** Mean selection size over queries (CostReport.selectedPerQuery). */
export function meanSize(selected: readonly Int32Array[]): number {
  if (selected.length === 0) return 0;
  let s = 0;
  for (const sel of selected) s += sel.length;
  return s / selected.length;
}

/**
 * The best k of `keys` (increasing key order) by float64 logits `logits` (aligned with keys; −∞ never kept),
 * best first, ties to the lower key: returns the selected keys and their logits.
 */
export function selectByLogits(keys: Int32Array, logits: Float64Array, k: number): { selected: Int32Array; logits: Float64Array } {
  const heap = new TopKHeap(Math.min(k, keys.length));
  // Positions in `keys` are in key order, so ranking positions applies the lower-key tie rule.
  for (let t = 0; t < keys.length; t++) heap.push(t, logits[t]!);
  const pos = heap.indices();
  return { selected: Int32Array.from(pos, (t) => keys[t]!), logits: Float64Array.from(pos, (t) => logits[t]!) };
}
