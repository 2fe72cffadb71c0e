/**
 * The float64 reference for a block of query rows — the same arithmetic as attention/kernels/reference.ts
 * (logitsRow → max-subtracted softmax → float64 accumulation, in the same order), split by rows so that
 * blocks can run on worker threads. Beside O each row keeps what the selection metrics (mass recall, top-k
 * recall) of every mechanism need, in O(top) memory instead of n weights: the softmax's max and normalizer —
 * from which any single weight is recomputed bit-identically as exp(logit − max) / sum — and its `top` largest
 * weights in descending order, from which the |S|-th largest weight (the top-|S| threshold) is read. At
 * n = 2^24 the m·n weights would be 1 GiB as float32; the summaries of 16 rows are a few MiB.
 */
import { kthLargest } from '../attention/fidelity.ts';

export { kthLargest };
import { dot } from '../attention/math.ts';
import type { AttentionInput } from '../attention/types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../attention/validate.ts';

/** One query's exact softmax, summarized (see the module comment). */
export interface RowSummary {
  /** Largest scaled, masked logit (−∞ when every key is masked: every weight is then 0). */
  readonly max: number;
  /** Σ_j exp(logit_j − max), summed in key order as softmaxInPlace does. */
  readonly sum: number;
  /** The largest min(n, top) weights, descending. */
  readonly top: Float64Array;
}

export interface ReferenceRows {
  /** Rows i0…i1−1 of O, float64, [(i1−i0)×dv]. */
  readonly out: Float64Array;
  /** Their softmax summaries, one per row. */
  readonly rows: RowSummary[];
}

/** The largest `top` values of `w` (weights, reordered in place), descending. */
function largest(w: Float64Array, top: number): Float64Array {
  const t = Math.min(top, w.length);
  if (t < w.length) kthLargest(w, t); // quickselect leaves the t largest in w[0 … t−1]
  return w.slice(0, t).sort().reverse();
}

/**
 * softmaxInPlace (attention/math.ts) that also returns its max and normalizer: the same operations in the same
 * order, so the weights are bit-identical to referenceWeights' (the score test checks it).
 */
function softmaxKeeping(x: Float64Array): { max: number; sum: number } {
  let max = -Infinity;
  for (let j = 0; j < x.length; j++) if (x[j]! > max) max = x[j]!;
  if (max === -Infinity) {
    x.fill(0);
    return { max, sum: 0 };
  }
  let sum = 0;
  for (let j = 0; j < x.length; j++) {
    const e = Math.exp(x[j]! - max);
    x[j] = e;
    sum += e;
  }
  for (let j = 0; j < x.length; j++) x[j]! /= sum;
  return { max, sum };
}

/**
 * The scaled, masked logits of query i — logitsRow (attention/math.ts) with its dot product inlined on a float64
 * copy of the query row and four keys in flight at once: each key's products are still summed one after another
 * in the same order, so every logit is bit-identical, but four independent sums hide the floating-point add
 * latency that a single sequential sum waits on (about 2× faster; the reference at n = 2^20 is 2^31
 * multiply-adds).
 */
function logitsInto(input: AttentionInput, i: number, qi: Float64Array, out: Float64Array): Float64Array {
  const { k, d, n } = input;
  const scale = effectiveScale(input);
  const vis = visibleKeys(input, i);
  for (let t = 0; t < d; t++) qi[t] = input.q[i * d + t]!;
  let j = 0;
  for (; j + 4 <= vis; j += 4) {
    const k0 = j * d, k1 = k0 + d, k2 = k1 + d, k3 = k2 + d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let t = 0; t < d; t++) {
      const x = qi[t]!;
      s0 += x * k[k0 + t]!;
      s1 += x * k[k1 + t]!;
      s2 += x * k[k2 + t]!;
      s3 += x * k[k3 + t]!;
    }
    out[j] = s0;
    out[j + 1] = s1;
    out[j + 2] = s2;
    out[j + 3] = s3;
  }
  for (; j < vis; j++) {
    const ko = j * d;
    let s = 0;
    for (let t = 0; t < d; t++) s += qi[t]! * k[ko + t]!;
    out[j] = s;
  }
  const mask = input.mask;
  const rowMask = mask && mask.length !== n ? i * n : 0;
  for (let jj = 0; jj < vis; jj++) out[jj] = out[jj]! * scale + (mask ? mask[rowMask + jj]! : 0);
  out.fill(-Infinity, vis);
  return out;
}

/** Keys per tile of the weighted sum: a tile of V (256 × dv floats) stays in cache across the column blocks. */
const TILE = 256;

/**
 * acc[c] += Σ_j w_j · V[j, c] for every c, each sum taken over j in ascending order (bit-identical to the
 * reference's key-major loop), computed tile by tile with four columns in registers: four independent sums per
 * key instead of a load and a store of acc[c] per multiply-add. The reference skips w_j = 0; adding 0·V[j, c]
 * (V is finite) changes no sum — one that starts at +0 never becomes −0 — so the branch is dropped.
 */
function weightedSum(w: Float64Array, v: Float32Array, n: number, dv: number, acc: Float64Array): void {
  for (let j0 = 0; j0 < n; j0 += TILE) {
    const j1 = Math.min(n, j0 + TILE);
    let c = 0;
    for (; c + 4 <= dv; c += 4) {
      let a0 = acc[c]!, a1 = acc[c + 1]!, a2 = acc[c + 2]!, a3 = acc[c + 3]!;
      for (let j = j0; j < j1; j++) {
        const x = w[j]!;
        const o = j * dv + c;
        a0 += x * v[o]!;
        a1 += x * v[o + 1]!;
        a2 += x * v[o + 2]!;
        a3 += x * v[o + 3]!;
      }
      acc[c] = a0;
      acc[c + 1] = a1;
      acc[c + 2] = a2;
      acc[c + 3] = a3;
    }
    for (; c < dv; c++) {
      let a = acc[c]!;
      for (let j = j0; j < j1; j++) a += w[j]! * v[j * dv + c]!;
      acc[c] = a;
    }
  }
}

export function referenceRows(input: AttentionInput, i0: number, i1: number, top: number): ReferenceRows {
  const { n, d, dv, v } = input;
  const out = new Float64Array((i1 - i0) * dv);
  const rows: RowSummary[] = [];
  const row = new Float64Array(n);
  const qi = new Float64Array(d);
  const acc = new Float64Array(dv);
  for (let i = i0; i < i1; i++) {
    const { max, sum } = softmaxKeeping(logitsInto(input, i, qi, row));
    acc.fill(0);
    weightedSum(row, v, n, dv, acc);
    out.set(acc, (i - i0) * dv);
    rows.push({ max, sum, top: largest(row, top) });
  }
  return { out, rows };
}

/** Exact weight of key j for query i, bit-identical to referenceWeights(input, i)[j] (see the module comment). */
export function weightOf(input: AttentionInput, row: RowSummary, i: number, j: number): number {
  if (row.max === -Infinity || j >= visibleKeys(input, i)) return 0;
  return Math.exp(dot(input, i, j) * effectiveScale(input) + maskAt(input, i, j) - row.max) / row.sum;
}
