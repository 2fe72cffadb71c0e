/**
 * Scores one mechanism output against the reference: output error (relL2, maxAbs, cosine — attention/
 * fidelity.ts) and, for mechanisms that return their selected keys, mass recall and top-k recall.
 *
 * The selection metrics mean the same as attention/fidelity.ts (massOnSelected, topkOverlap) but read the
 * reference's per-query softmax summaries (bench/reference-rows.ts) instead of recomputing every query's
 * distribution per mechanism: O(|S|·d) per query instead of O(n·d) — the difference between seconds and
 * minutes over a full run, and between megabytes and gigabytes at n = 2^24. Ties at the threshold count as hits up to the number of tied top-k slots (the sort
 * in topkOverlap breaks ties by index, which is arbitrary for tied weights).
 */
import { outputFidelity } from '../attention/fidelity.ts';
import type { AttentionInput, AttentionOutput } from '../attention/types.ts';
import { referenceWeights } from '../attention/kernels/reference.ts';
import type { Reference, ReferenceKind } from './reference.ts';
import { kthLargest, weightOf, type RowSummary } from './reference-rows.ts';

export { kthLargest };

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

/**
 * selectionScores from a query's softmax summary instead of its n weights: the weights of the selected keys are
 * recomputed bit-identically (weightOf) and the top-|S| threshold read from the kept largest weights; only
 * when |S| exceeds those is the whole row recomputed.
 */
export function summaryScores(input: AttentionInput, row: RowSummary, i: number, selected: ArrayLike<number>): { mass: number; overlap: number } {
  const keys = new Set<number>();
  for (let t = 0; t < selected.length; t++) {
    const j = selected[t]!;
    if (j >= 0 && j < input.n) keys.add(j);
  }
  const k = keys.size;
  if (k === 0) return { mass: 0, overlap: 0 };
  if (k > row.top.length) return selectionScores(referenceWeights(input, i), selected, new Float64Array(input.n));
  const thr = row.top[k - 1]!;
  let above = 0;
  while (above < k && row.top[above]! > thr) above++;
  let mass = 0, hits = 0, tiedHits = 0;
  for (const j of keys) {
    const p = weightOf(input, row, i, j);
    mass += p;
    if (p > thr) hits++;
    else if (p === thr) tiedHits++;
  }
  return { mass, overlap: (hits + Math.min(tiedHits, k - above)) / k };
}

function selectionFidelity(input: AttentionInput, rows: readonly RowSummary[], selected: readonly ArrayLike<number>[]): { massRecall: number; topkRecall: number } {
  let mass = 0, overlap = 0;
  for (let i = 0; i < input.m; i++) {
    const s = summaryScores(input, rows[i]!, i, selected[i] ?? []);
    mass += s.mass;
    overlap += s.overlap;
  }
  return { massRecall: mass / input.m, topkRecall: overlap / input.m };
}

export function scoreOutput(input: AttentionInput, ref: Reference, output: AttentionOutput): Fidelity {
  const f = outputFidelity(output.out, ref.out, input.dv);
  const sel = output.selected && ref.rows ? selectionFidelity(input, ref.rows, output.selected) : null;
  return { reference: ref.kind, ...f, massRecall: sel?.massRecall ?? null, topkRecall: sel?.topkRecall ?? null };
}
