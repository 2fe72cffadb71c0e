/**
 * The unselected-tail estimate of `grover-topk` (option tailMass = 'uniform-estimate'; see grover-topk.ts).
 *
 * A top-k selection S renormalises the softmax over S and so drops the tail mass Σ_{j∉S} p_j entirely. With
 * U = vis − |S| unselected keys in query i's window, s keys drawn uniformly with replacement among them and
 * each weighted by U/s give unbiased estimates of the tail's Σ_{j∉S} e^{l_j} and Σ_{j∉S} e^{l_j}·v_j (the
 * Horvitz–Thompson / importance-sampling estimate with uniform proposal 1/U; masked keys have e^{l_j} = 0). The
 * output is their ratio together with the exact sums over S:
 *     O_i = (Σ_S e^{l_j} v_j + (U/s) Σ_t e^{l_t} v_t) / (Σ_S e^{l_j} + (U/s) Σ_t e^{l_t}),
 * i.e. the top-k output mixed with the samples' softmax-weighted V-mean in proportion to the estimated tail
 * mass. It is a ratio estimator: consistent as s → ∞, biased by O(1/s) at finite s. Uniform sampling suits a
 * flat tail (many small weights); a heavy single outlier outside S is what the top-k search should have found.
 */
import type { Rng } from '../../core/rng.ts';
import { dot, softmaxInPlace, weightedValues } from '../math.ts';
import type { AttentionInput } from '../types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../validate.ts';

/** The r-th (0-based) index of [0, ∞) that is not in `sortedSel` (ascending, distinct). O(|S|). */
export function nthUnselected(sortedSel: Int32Array, r: number): number {
  let j = r;
  for (const s of sortedSel) {
    if (s <= j) j++;
    else break;
  }
  return j;
}

/**
 * Writes row i of `out` = the tail-corrected softmax over `selected` plus `samples` uniform draws from the
 * other keys of the window (requires at least one). Computes |selected| + samples dot products.
 */
export function attendWithTailEstimate(
  input: AttentionInput,
  i: number,
  selected: Int32Array,
  samples: number,
  rng: Rng,
  out: Float32Array,
): void {
  const unselected = visibleKeys(input, i) - selected.length;
  if (unselected < 1 || samples < 1) throw new Error(`internal: tail estimate needs unselected keys and samples (${unselected}, ${samples})`);
  const sorted = Int32Array.from(selected).sort();
  const keys = new Int32Array(selected.length + samples);
  keys.set(selected);
  for (let t = selected.length; t < keys.length; t++) keys[t] = nthUnselected(sorted, rng.int(unselected));
  // Log-weights: the U/s factor enters as an additive log term, so softmaxInPlace keeps its max-subtraction.
  const scale = effectiveScale(input), boost = Math.log(unselected / samples);
  const w = new Float64Array(keys.length);
  for (let t = 0; t < keys.length; t++) {
    const j = keys[t]!;
    w[t] = dot(input, i, j) * scale + maskAt(input, i, j) + (t >= selected.length ? boost : 0);
  }
  softmaxInPlace(w);
  weightedValues(input, i, w, out, keys);
}
