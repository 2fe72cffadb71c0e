/**
 * Walker's alias method (Walker, ACM TOMS 3(3), 1977), built by Vose's numerically stable two-list procedure
 * (IEEE TSE 17(9), 1991): i.i.d. draws from fixed non-negative weights w_0 … w_{n−1} in O(1) each — one
 * uniform number picks a column and flips its coin — after an O(n) build. sq-access.ts draws whole-window
 * rows with it: a sum-tree descent reads about log₂n − 3 nodes that miss the cache at long contexts (measured
 * here, n = 2^22: ~0.8 µs per draw), the alias table one cache line (its coin and alias side by side).
 * Hand-written because the npm alias samplers keep JS arrays of objects (gigabytes at 2^24 keys) and draw from
 * Math.random, while every draw here takes the caller's seeded Rng.
 *
 * Deterministic: the table is a function of the weights in order, so the same weights give the same draws
 * from the same random stream (a structure grown by appends and one built on the whole matrix agree).
 */
import type { Rng } from '../core/rng.ts';

export class AliasTable {
  /** Entry i: coin 2i (P(keep i) in [0, 1]), alias 2i + 1 (the column's other outcome). */
  private readonly table: Float64Array;
  readonly size: number;
  /** Σ w, in float64 in index order. */
  readonly total: number;

  /** The table of `weight(0) … weight(n − 1)` (finite, ≥ 0). */
  constructor(n: number, weight: (j: number) => number) {
    this.size = n;
    const table = (this.table = new Float64Array(2 * n));
    let total = 0;
    for (let j = 0; j < n; j++) total += weight(j);
    this.total = total;
    if (!(total > 0)) return;
    // Scaled weights n·w/W: columns below 1 are topped up by one above 1 (its alias), which keeps the rest.
    const scaled = new Float64Array(n);
    const small = new Int32Array(n), large = new Int32Array(n);
    let ns = 0, nl = 0;
    for (let j = 0; j < n; j++) {
      const p = (scaled[j] = (weight(j) * n) / total);
      if (p < 1) small[ns++] = j;
      else large[nl++] = j;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns]!, l = large[nl - 1]!;
      table[2 * s] = scaled[s]!;
      table[2 * s + 1] = l;
      const rest = (scaled[l] = scaled[l]! + scaled[s]! - 1);
      if (rest < 1) {
        nl--;
        small[ns++] = l;
      }
    }
    // What is left is 1 up to rounding: those columns keep themselves.
    while (nl > 0) { const l = large[--nl]!; table[2 * l] = 1; table[2 * l + 1] = l; }
    while (ns > 0) { const s = small[--ns]!; table[2 * s] = 1; table[2 * s + 1] = s; }
  }

  /** One draw: j with probability w_j / Σ w (up to float64 rounding of the build). Requires total > 0. */
  sample(rng: Rng): number {
    const u = rng.next() * this.size, i = Math.floor(u);
    return u - i < this.table[2 * i]! ? i : this.table[2 * i + 1]!;
  }
}
