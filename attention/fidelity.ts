/**
 * Fidelity metrics against exact attention. The reference is always the float64 exact output / distribution
 * (kernels/reference.ts) unless a caller says otherwise and records it.
 */
import type { AttentionInput } from './types.ts';
import { referenceWeights } from './kernels/reference.ts';

/** Relative L2 (Frobenius) error ‖O − O*‖_F / ‖O*‖_F (absolute error if ‖O*‖ = 0). */
export function relL2(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = out[i]! - ref[i]!;
    num += e * e;
    den += ref[i]! * ref[i]!;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** max_i |O_i − O*_i|. */
export function maxAbs(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let mx = 0;
  for (let i = 0; i < ref.length; i++) mx = Math.max(mx, Math.abs(out[i]! - ref[i]!));
  return mx;
}

/** Mean over rows of the cosine similarity of output rows (rows of width `cols`); a zero row pair counts as 1. */
export function meanCosine(out: ArrayLike<number>, ref: ArrayLike<number>, cols: number): number {
  const rows = ref.length / cols;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let ab = 0, aa = 0, bb = 0;
    for (let c = 0; c < cols; c++) {
      const a = out[r * cols + c]!, b = ref[r * cols + c]!;
      ab += a * b; aa += a * a; bb += b * b;
    }
    total += aa === 0 && bb === 0 ? 1 : aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
  }
  return total / rows;
}

/** Exact softmax mass on `selected` for one query: Σ_{j∈S} p*_j (1 = the selection kept all the mass). */
export function massOnSelected(exactWeights: ArrayLike<number>, selected: ArrayLike<number>): number {
  let s = 0;
  const seen = new Set<number>();
  for (let t = 0; t < selected.length; t++) {
    const j = selected[t]!;
    if (seen.has(j)) continue;
    seen.add(j);
    s += exactWeights[j] ?? 0;
  }
  return s;
}

/** The k-th largest value of `x` (1 ≤ k ≤ x.length); reorders `x`. Hoare-style quickselect, O(n) expected. */
export function kthLargest(x: Float64Array, k: number): number {
  let lo = 0, hi = x.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = x[(lo + hi) >>> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (x[i]! > pivot) i++;
      while (x[j]! < pivot) j--;
      if (i <= j) {
        const t = x[i]!;
        x[i++] = x[j]!;
        x[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return x[target]!;
  }
  return x[target]!;
}

/** Indices of the k largest entries (ties broken by lower index), k ≤ length. */
export function topKIndices(x: ArrayLike<number>, k: number): Int32Array {
  const idx = Array.from({ length: x.length }, (_, j) => j);
  idx.sort((a, b) => x[b]! - x[a]! || a - b);
  return Int32Array.from(idx.slice(0, k));
}

/**
 * The top-k overlap of a selection — THE definition (bench/score.ts reports it from the reference's summaries
 * and is tested equal to this): with S the distinct selected keys and k = |S|, t the k-th largest exact
 * weight, the keys of S above t are hits, and keys of S tied at t are hits up to the number of top-k slots
 * the ties fill (k − #{weights > t}). Any choice among tied weights is as good as another, so no tie-break by
 * index (which is arbitrary for equal weights) can cost a selection its hits. Returns hits / k (0 for S = ∅).
 * O(n) (a quickselect on a copy: `scratch` of length ≥ n saves the allocation).
 */
export function topkOverlap(exactWeights: ArrayLike<number>, selected: ArrayLike<number>, scratch?: Float64Array): number {
  const n = exactWeights.length;
  const keys = new Set<number>();
  for (let t = 0; t < selected.length; t++) {
    const j = selected[t]!;
    if (j >= 0 && j < n) keys.add(j);
  }
  const k = keys.size;
  if (k === 0) return 0;
  const w = scratch && scratch.length >= n ? scratch.subarray(0, n) : new Float64Array(n);
  for (let j = 0; j < n; j++) w[j] = exactWeights[j]!;
  const thr = kthLargest(w, k);
  let above = 0;
  for (let j = 0; j < n; j++) if (exactWeights[j]! > thr) above++;
  return tieAwareOverlap(keys, (j) => exactWeights[j]!, thr, above, k);
}

/** hits / k for distinct keys with weights `weightOf`, threshold t and `above` weights > t (topkOverlap's rule). */
export function tieAwareOverlap(keys: Iterable<number>, weightOf: (j: number) => number, thr: number, above: number, k: number): number {
  let hits = 0, tied = 0;
  for (const j of keys) {
    const p = weightOf(j);
    if (p > thr) hits++;
    else if (p === thr) tied++;
  }
  return (hits + Math.min(tied, k - above)) / k;
}

/** KL(p ‖ q) in nats; +∞ if q puts zero mass where p has mass. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let kl = 0;
  for (let j = 0; j < p.length; j++) {
    const pj = p[j]!;
    if (pj === 0) continue;
    const qj = q[j]!;
    if (qj === 0) return Infinity;
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}

/** Total variation distance ½ Σ |p − q|. */
export function totalVariation(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < p.length; j++) s += Math.abs(p[j]! - q[j]!);
  return s / 2;
}

export interface OutputFidelity {
  relL2: number;
  maxAbs: number;
  cosine: number;
}

export interface SelectionFidelity {
  /** Mean over queries of the exact softmax mass on the selected keys. */
  massRecall: number;
  /** Mean over queries of the overlap with the exact top-|S|. */
  topkRecall: number;
}

export function outputFidelity(out: ArrayLike<number>, ref: ArrayLike<number>, dv: number): OutputFidelity {
  return { relL2: relL2(out, ref), maxAbs: maxAbs(out, ref), cosine: meanCosine(out, ref, dv) };
}

/** Selection metrics over all queries, from the float64 exact distributions. O(m·n·d). */
export function selectionFidelity(input: AttentionInput, selected: readonly ArrayLike<number>[]): SelectionFidelity {
  let mass = 0, overlap = 0;
  for (let i = 0; i < input.m; i++) {
    const p = referenceWeights(input, i);
    const s = selected[i] ?? [];
    mass += massOnSelected(p, s);
    overlap += topkOverlap(p, s);
  }
  return { massRecall: mass / input.m, topkRecall: overlap / input.m };
}
