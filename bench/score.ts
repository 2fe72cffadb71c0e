/**
 * Scores one mechanism output against the reference: output error (relL2, maxAbs, cosine — attention/
 * fidelity.ts) and, for mechanisms that return their selected keys, mass recall and top-k recall.
 *
 * The selection metrics mean the same as attention/fidelity.ts (massOnSelected, topkOverlap) but read the
 * reference's cached weights instead of recomputing every query's distribution per mechanism, and find the
 * top-|S| threshold by quickselect (O(n)) instead of sorting all n keys — the difference between seconds and
 * minutes over a full run. Ties at the threshold count as hits up to the number of tied top-k slots (the sort
 * in topkOverlap breaks ties by index, which is arbitrary for tied weights).
 */
import { outputFidelity } from '../attention/fidelity.ts';
import type { AttentionInput, AttentionOutput } from '../attention/types.ts';
import type { Reference, ReferenceKind } from './reference.ts';

export interface Fidelity {
  readonly reference: ReferenceKind;
  readonly relL2: number;
  readonly maxAbs: number;
  readonly cosine: number;
  /** Mean over queries of the exact softmax mass on the selected keys (null: no selection or no weights). */
  readonly massRecall: number | null;
  /** Mean over queries of |S ∩ top-|S|(p*)| / |S|. */
  readonly topkRecall: number | null;
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

/** Mass on the distinct selected keys and their overlap with the exact top-|S|, for one query. */
export function selectionScores(p: ArrayLike<number>, selected: ArrayLike<number>, scratch: Float64Array): { mass: number; overlap: number } {
  const keys = new Set<number>();
  for (let t = 0; t < selected.length; t++) {
    const j = selected[t]!;
    if (j >= 0 && j < p.length) keys.add(j);
  }
  const k = keys.size;
  if (k === 0) return { mass: 0, overlap: 0 };
  let mass = 0;
  for (const j of keys) mass += p[j]!;
  for (let j = 0; j < p.length; j++) scratch[j] = p[j]!;
  const thr = kthLargest(scratch.subarray(0, p.length), k);
  let above = 0;
  for (let j = 0; j < p.length; j++) if (p[j]! > thr) above++;
  let hits = 0, tiedHits = 0;
  for (const j of keys) {
    if (p[j]! > thr) hits++;
    else if (p[j] === thr) tiedHits++;
  }
  return { mass, overlap: (hits + Math.min(tiedHits, k - above)) / k };
}

function selectionFidelity(input: AttentionInput, ref: Reference, selected: readonly ArrayLike<number>[]): { massRecall: number; topkRecall: number } {
  const weights = ref.weights!;
  const scratch = new Float64Array(input.n);
  let mass = 0, overlap = 0;
  for (let i = 0; i < input.m; i++) {
    const s = selectionScores(weights(i), selected[i] ?? [], scratch);
    mass += s.mass;
    overlap += s.overlap;
  }
  return { massRecall: mass / input.m, topkRecall: overlap / input.m };
}

export function scoreOutput(input: AttentionInput, ref: Reference, output: AttentionOutput): Fidelity {
  const f = outputFidelity(output.out, ref.out, input.dv);
  const sel = output.selected && ref.weights ? selectionFidelity(input, ref, output.selected) : null;
  return { reference: ref.kind, ...f, massRecall: sel?.massRecall ?? null, topkRecall: sel?.topkRecall ?? null };
}
