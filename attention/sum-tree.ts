/**
 * A sum tree (a complete binary tree of non-negative weights) — the O(log n) sampling structure behind
 * sample-and-query access (sq-access.ts). Hand-written because sampling from a prefix [0, limit) and point
 * updates in O(log n) over Float64 weights is ~100 lines and no maintained npm package offers prefix sampling.
 */
import { check } from '../core/errors.ts';
import type { Rng } from '../core/rng.ts';

export function pow2AtLeast(x: number): number {
  let c = 1;
  while (c < x) c *= 2;
  return c;
}

/**
 * A complete binary tree of non-negative weights: node 1 is the root, node v has children 2v and 2v+1, leaf j
 * is node cap + j. Internal nodes are always recomputed as left + right (never incremented), so sums cannot
 * drift however many updates are made.
 */
export class SumTree {
  private cap: number;
  private t: Float64Array;

  constructor(capacity = 1) {
    this.cap = pow2AtLeast(Math.max(1, capacity));
    this.t = new Float64Array(2 * this.cap);
  }

  get capacity(): number {
    return this.cap;
  }

  weight(j: number): number {
    return j < this.cap ? this.t[this.cap + j]! : 0;
  }

  /** Starts a bulk load: clears every leaf and makes room for `count` leaves. Follow with load() and rebuild(). */
  reset(count: number): void {
    if (count > this.cap) {
      this.cap = pow2AtLeast(count);
      this.t = new Float64Array(2 * this.cap);
    } else this.t.fill(0);
  }

  /** Bulk load: sets leaf j < capacity WITHOUT updating its ancestors; call rebuild() after the last load. */
  load(j: number, w: number): void {
    this.t[this.cap + j] = w;
  }

  /** Recomputes every internal node from the leaves: O(capacity). */
  rebuild(): void {
    for (let v = this.cap - 1; v >= 1; v--) this.t[v] = this.t[2 * v]! + this.t[2 * v + 1]!;
  }

  /** Sets leaf j (growing the capacity by doubling if needed): O(log capacity), amortised. */
  set(j: number, w: number): void {
    if (j >= this.cap) this.grow(j + 1);
    let v = this.cap + j;
    this.t[v] = w;
    for (v >>= 1; v >= 1; v >>= 1) this.t[v] = this.t[2 * v]! + this.t[2 * v + 1]!;
  }

  /** Σ of leaves [0, limit): O(log capacity). */
  prefix(limit: number): number {
    if (limit <= 0) return 0;
    if (limit >= this.cap) return this.t[1]!;
    let s = 0, node = 1, lo = 0, span = this.cap;
    // Invariant: lo < limit ≤ lo + span for the current node, so the leaf reached is limit − 1.
    while (node < this.cap) {
      span /= 2;
      if (limit <= lo + span) node = 2 * node;
      else {
        s += this.t[2 * node]!;
        node = 2 * node + 1;
        lo += span;
      }
    }
    return s + this.t[node]!;
  }

  /**
   * Leaf j ∈ [0, limit) drawn with probability w_j / prefix(limit), or −1 if that prefix has no mass.
   * One root-to-leaf walk: a right child lying wholly beyond the limit is never entered, so no rejection is
   * needed for the window. A draw that rounding sends to a zero-weight leaf is redrawn (probability ~1e−16).
   */
  sample(rng: Rng, limit = this.cap): number {
    const lim = Math.min(limit, this.cap);
    const mass = this.prefix(lim);
    if (!(mass > 0)) return -1;
    for (let attempt = 0; attempt < 64; attempt++) {
      let u = rng.next() * mass, node = 1, lo = 0, span = this.cap;
      while (node < this.cap) {
        span /= 2;
        const left = 2 * node, l = this.t[left]!;
        if (lo + span >= lim || u < l) node = left;
        else {
          u -= l;
          node = left + 1;
          lo += span;
        }
      }
      if (this.t[node]! > 0) return node - this.cap;
    }
    throw new Error('internal: SumTree.sample kept landing on zero-weight leaves');
  }

  private grow(minCap: number): void {
    const old = this.t, oldCap = this.cap;
    this.cap = pow2AtLeast(Math.max(minCap, 2 * oldCap));
    this.t = new Float64Array(2 * this.cap);
    this.t.set(old.subarray(oldCap, 2 * oldCap), this.cap);
    this.rebuild();
  }
}
