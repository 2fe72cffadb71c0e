/**
 * Scores one mechanism output against the reference: output error (relL2, maxAbs, cosine — attention/
 * fidelity.ts) and, for mechanisms that return their selected keys, mass recall and top-k recall.
 *
 * The selection metrics ARE attention/fidelity.ts's (massOnSelected, topkOverlap: one definition, ties at the
 * threshold counted as hits up to the tied top-k slots), read from the reference's per-query softmax summaries
 * (bench/reference-rows.ts) instead of recomputing every query's distribution per mechanism: O(|S|·d) per query
 * instead of O(n·d) — the difference between seconds and minutes over a full run, and between megabytes and
 * gigabytes at n = 2^24. test/bench-score.test.ts checks the two paths agree, ties included.
 */
import { massOnSelected, outputFidelity, tieAwareOverlap, topkOverlap } from '../attention/fidelity.ts';
import type { AttentionInput, AttentionOutput } from '../attention/types.ts';
import { referenceWeights } from '../attention/kernels/reference.ts';
import type { Reference, ReferenceKind } from './reference.ts';
import { kthLargest, weightOf, type RowSummary } from './reference-rows.ts';
import { taskAccuracy } from './workloads/tasks.ts';
import type { WorkloadInput } from './workloads/types.ts';

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
  /** Task workloads: the fraction of queries answered correctly (bench/workloads/tasks.ts); null elsewhere. */
  readonly accuracy: number | null;
}

/** Mass on the distinct selected keys and their overlap with the exact top-|S| (attention/fidelity.ts), for one query. */
export function selectionScores(p: ArrayLike<number>, selected: ArrayLike<number>, scratch: Float64Array): { mass: number; overlap: number } {
  return { mass: massOnSelected(p, selected), overlap: topkOverlap(p, selected, scratch) };
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
  const w = new Map<number, number>();
  let mass = 0;
  for (const j of keys) {
    const p = weightOf(input, row, i, j);
    w.set(j, p);
    mass += p;
  }
  return { mass, overlap: tieAwareOverlap(keys, (j) => w.get(j)!, thr, above, k) };
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

export function scoreOutput(input: WorkloadInput, ref: Reference, output: AttentionOutput): Fidelity {
  const f = outputFidelity(output.out, ref.out, input.dv);
  const sel = output.selected && ref.rows ? selectionFidelity(input, ref.rows, output.selected) : null;
  const accuracy = input.task ? taskAccuracy(input.task, output.out, input.dv) : null;
  return { reference: ref.kind, ...f, massRecall: sel?.massRecall ?? null, topkRecall: sel?.topkRecall ?? null, accuracy };
}
