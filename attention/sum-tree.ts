/**
 * A sum tree (a complete binary tree of non-negative weights) — the O(log n) sampling structure behind
 * sample-and-query access (sq-access.ts). Hand-written because sampling from a prefix [0, limit) and point
 * updates in O(log n) over Float64 weights is ~150 lines and no maintained npm package offers prefix sampling.
 */
import type { Rng } from '../core/rng.ts';

export function pow2AtLeast(x: number): number {
  let c = 1;
  while (c < x) c *= 2;
  return c;
}

/** Leaves per stored bottom node: 8 float64 leaves are one 64-byte cache line. */
const GROUP = 8;

/**
 * A complete binary tree of non-negative weights over `capacity` leaves (a power of two ≥ 8). In the binary-heap
 * numbering — node 1 is the root, node v has children 2v and 2v+1, leaf j is node cap + j — every internal node
 * is left + right of its children (always recomputed, never incremented, so sums cannot drift however many
 * updates are made).
 *
 * Storage: the leaves in one array, and only the internal nodes down to the level whose nodes cover 8 leaves
 * (heap indices < cap/4) in another. The two levels below are not stored: a walk that reaches an 8-leaf node
 * computes them from its 8 leaves, which lie in one cache line, with the very additions a stored tree would
 * have made ((l0 + l1) + (l2 + l3) and so on), so every value is bit-identical to the full tree's. A descent
 * at n = 2^20 then touches about 4 cache lines that miss instead of ~8, and the tree takes 10 bytes per leaf
 * instead of 16.
 *
 * Layout independence: every node is the same function of the leaves below it, and prefix() and sample() read
 * only nodes lying wholly inside [0, limit). The tree of capacity 2C is the tree of capacity C as its left
 * subtree, and a walk with limit ≤ C enters that subtree without reading anything. So for a limit ≤ capacity
 * (SQAccess never asks beyond its n rows) prefix sums and samples depend on the leaves [0, limit) alone — not
 * on the capacity, on leaves beyond the limit, or on the order the leaves were set in (bulk load, point sets,
 * growth): a tree grown by appends draws exactly the samples, bit for bit, that a tree built on the whole
 * array draws from the same random stream.
 */
export class SumTree {
  private cap: number;
  /** Leaf j at index j. */
  private leaves: Float64Array;
  /** Internal node v (heap numbering) at index v, for 1 ≤ v < cap/4; nodes cap/8 … cap/4 − 1 cover 8 leaves each. */
  private inner: Float64Array;

  constructor(capacity = 1) {
    this.cap = pow2AtLeast(Math.max(GROUP, capacity));
    this.leaves = new Float64Array(this.cap);
    this.inner = new Float64Array(this.cap / 4);
  }

  get capacity(): number {
    return this.cap;
  }

  weight(j: number): number {
    return j < this.cap ? this.leaves[j]! : 0;
  }

  /** Starts a bulk load: clears every leaf and makes room for `count` leaves. Follow with load() and rebuild(). */
  reset(count: number): void {
    if (count > this.cap) {
      this.cap = pow2AtLeast(count);
      this.leaves = new Float64Array(this.cap);
      this.inner = new Float64Array(this.cap / 4);
    } else {
      this.leaves.fill(0);
      this.inner.fill(0);
    }
  }

  /** Bulk load: sets leaf j < capacity WITHOUT updating its ancestors; call rebuild() after the last load. */
  load(j: number, w: number): void {
    this.leaves[j] = w;
  }

  /** Recomputes every internal node from the leaves: O(capacity). */
  rebuild(): void {
    const g = this.cap / GROUP;
    for (let v = g; v < 2 * g; v++) this.inner[v] = this.group(GROUP * (v - g));
    for (let v = g - 1; v >= 1; v--) this.inner[v] = this.inner[2 * v]! + this.inner[2 * v + 1]!;
  }

  /** Sets leaf j (growing the capacity by doubling if needed): O(log capacity), amortised. */
  set(j: number, w: number): void {
    if (j >= this.cap) this.grow(j + 1);
    this.leaves[j] = w;
    const g = this.cap / GROUP;
    let v = g + Math.floor(j / GROUP);
    this.inner[v] = this.group(GROUP * (v - g));
    for (v >>= 1; v >= 1; v >>= 1) this.inner[v] = this.inner[2 * v]! + this.inner[2 * v + 1]!;
  }

  /**
   * Σ of leaves [0, limit): O(log capacity). Always the walk to leaf limit − 1 adding the left siblings on the
   * way, so the rounding is the same in a tree of any capacity ≥ limit (no shortcut to the root when
   * limit = capacity: the root of a smaller tree is summed in another order than the same leaves inside a
   * larger one).
   */
  prefix(limit: number): number {
    if (limit <= 0) return 0;
    limit = Math.min(limit, this.cap);
    const g = this.cap / GROUP, t = this.inner, x = this.leaves;
    let s = 0, node = 1, lo = 0, span = this.cap;
    // Invariant: lo < limit ≤ lo + span for the current node, so the leaf reached is limit − 1.
    while (node < g) {
      span /= 2;
      if (limit <= lo + span) node = 2 * node;
      else {
        s += t[2 * node]!;
        node = 2 * node + 1;
        lo += span;
      }
    }
    // The 8-leaf node [lo, lo + 8): its quads, pairs and leaves from the leaves themselves.
    if (limit > lo + 4) {
      s += (x[lo]! + x[lo + 1]!) + (x[lo + 2]! + x[lo + 3]!);
      lo += 4;
    }
    if (limit > lo + 2) {
      s += x[lo]! + x[lo + 1]!;
      lo += 2;
    }
    if (limit > lo + 1) {
      s += x[lo]!;
      lo += 1;
    }
    return s + x[lo]!;
  }

  /**
   * Leaf j ∈ [0, limit) drawn with probability w_j / prefix(limit), or −1 if that prefix has no mass.
   * One root-to-leaf walk: a right child lying wholly beyond the limit is never entered, so no rejection is
   * needed for the window. A draw that rounding sends to a zero-weight leaf is redrawn (probability ~1e−16).
   * `mass` may be passed when the caller already has prefix(limit) (one query's many draws), saving a walk.
   */
  sample(rng: Rng, limit = this.cap, mass = this.prefix(Math.min(limit, this.cap))): number {
    const lim = Math.min(limit, this.cap);
    if (!(mass > 0)) return -1;
    const g = this.cap / GROUP, t = this.inner, x = this.leaves;
    for (let attempt = 0; attempt < 64; attempt++) {
      let u = rng.next() * mass, node = 1, lo = 0, span = this.cap;
      while (node < g) {
        span /= 2;
        const left = 2 * node, l = t[left]!;
        if (lo + span >= lim || u < l) node = left;
        else {
          u -= l;
          node = left + 1;
          lo += span;
        }
      }
      // The same three steps inside the 8-leaf node [lo, lo + 8), with its left quad, pair and leaf computed.
      if (lo + 4 < lim) {
        const l = (x[lo]! + x[lo + 1]!) + (x[lo + 2]! + x[lo + 3]!);
        if (!(u < l)) {
          u -= l;
          lo += 4;
        }
      }
      if (lo + 2 < lim) {
        const l = x[lo]! + x[lo + 1]!;
        if (!(u < l)) {
          u -= l;
          lo += 2;
        }
      }
      if (lo + 1 < lim && !(u < x[lo]!)) lo += 1;
      if (x[lo]! > 0) return lo;
    }
    throw new Error('internal: SumTree.sample kept landing on zero-weight leaves');
  }

  /** Room for `count` leaves (capacity doubling, O(capacity) when it grows; the leaves are kept). */
  reserve(count: number): void {
    if (count > this.cap) this.grow(count);
  }

  /** An independent copy (same capacity, leaves and sums): O(capacity), two memcpys. */
  copy(): SumTree {
    const c = new SumTree(GROUP);
    c.cap = this.cap;
    c.leaves = this.leaves.slice();
    c.inner = this.inner.slice();
    return c;
  }

  /** The sum of the 8 leaves [b, b + 8), added as the full binary tree adds them. */
  private group(b: number): number {
    const x = this.leaves;
    return ((x[b]! + x[b + 1]!) + (x[b + 2]! + x[b + 3]!)) + ((x[b + 4]! + x[b + 5]!) + (x[b + 6]! + x[b + 7]!));
  }

  private grow(minCap: number): void {
    const old = this.leaves;
    this.cap = pow2AtLeast(Math.max(minCap, 2 * this.cap));
    this.leaves = new Float64Array(this.cap);
    this.leaves.set(old);
    this.inner = new Float64Array(this.cap / 4);
    this.rebuild();
  }
}
