/**
 * Shared float64 attention math: one place for the score, softmax and weighted-sum code that every mechanism
 * uses, so a fix to masking or numerics applies everywhere.
 */
import type { AttentionInput } from './types.ts';
import { effectiveScale, maskAt, visibleKeys } from './validate.ts';

/** q_i·k_j in float64. */
export function dot(input: AttentionInput, i: number, j: number): number {
  const { q, k, d } = input;
  const qo = i * d, ko = j * d;
  let s = 0;
  for (let t = 0; t < d; t++) s += q[qo + t]! * k[ko + t]!;
  return s;
}

/**
 * Scaled, masked logits of query i against every key it may see (causal keys beyond its window and masked
 * keys are −∞). Returns a Float64Array of length n. Costs n dot products.
 */
export function logitsRow(input: AttentionInput, i: number, out = new Float64Array(input.n)): Float64Array {
  const scale = effectiveScale(input);
  const vis = visibleKeys(input, i);
  for (let j = 0; j < input.n; j++) {
    out[j] = j < vis ? dot(input, i, j) * scale + maskAt(input, i, j) : -Infinity;
  }
  return out;
}

/**
 * In-place max-subtracted softmax of a logits vector (float64). A row whose logits are all −∞ (every key
 * masked) becomes all zeros — qattn's convention for fully masked queries (their output row is 0), matching the
 * NaN guard that torch.onnx's dynamo exporter inserts.
 */
export function softmaxInPlace(x: Float64Array): Float64Array {
  let mx = -Infinity;
  for (let j = 0; j < x.length; j++) if (x[j]! > mx) mx = x[j]!;
  if (mx === -Infinity) return x.fill(0);
  let sum = 0;
  for (let j = 0; j < x.length; j++) {
    const e = Math.exp(x[j]! - mx);
    x[j] = e;
    sum += e;
  }
  for (let j = 0; j < x.length; j++) x[j]! /= sum;
  return x;
}

/** out[i] = Σ_j w_j · V_j over the given key indices (or all keys if `keys` is omitted), float64 accumulate. */
export function weightedValues(input: AttentionInput, i: number, w: Float64Array, out: Float32Array, keys?: ArrayLike<number>): void {
  const { v, dv } = input;
  const acc = new Float64Array(dv);
  const cnt = keys ? keys.length : w.length;
  for (let t = 0; t < cnt; t++) {
    const wt = w[t]!;
    if (wt === 0) continue;
    const j = keys ? keys[t]! : t;
    const vo = j * dv;
    for (let c = 0; c < dv; c++) acc[c]! += wt * v[vo + c]!;
  }
  const oo = i * dv;
  for (let c = 0; c < dv; c++) out[oo + c] = acc[c]!;
}

/**
 * Exact softmax attention of query i restricted to `keys` (renormalised over them), written into row i of
 * `out`. Keys the query may not see (causal window, −∞ mask) get weight 0. Returns the weights (aligned with
 * `keys`). Costs keys.length dot products — the final step of every selection method (top-k, Grover, LSH…).
 */
export function attendSubset(input: AttentionInput, i: number, keys: ArrayLike<number>, out: Float32Array): Float64Array {
  const scale = effectiveScale(input);
  const vis = visibleKeys(input, i);
  const w = new Float64Array(keys.length);
  for (let t = 0; t < keys.length; t++) {
    const j = keys[t]!;
    w[t] = j < vis ? dot(input, i, j) * scale + maskAt(input, i, j) : -Infinity;
  }
  softmaxInPlace(w);
  weightedValues(input, i, w, out, keys);
  return w;
}
