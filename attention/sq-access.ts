/**
 * Sample-and-query (SQ) access to a key matrix K [n×d] — the classical stand-in for QRAM that "dequantized"
 * algorithms assume (Tang 2019, "A quantum-inspired classical algorithm for recommendation systems",
 * arXiv 1807.04271; Chia, Gilyén, Li, Lin, Tang, Wang 2020, arXiv 1910.06151). SQ access means we can
 *   - sample a row j with probability ‖k_j‖² / ‖K‖_F²            (sampleRow, O(log n); O(1) over all rows),
 *   - sample an entry t of row j with probability K_jt² / ‖k_j‖²  (sampleEntry),
 *   - query any entry and know every norm                         (entry, rowNorm2, frobenius2).
 * Optional per-column trees add the column view used for query-dependent sampling: sample j within column t
 * with probability K_jt² / ‖K_{:,t}‖² (sampleInColumn) — the access the "sampling from a linear combination"
 * lemma of Chia et al. needs to sample from K·q.
 *
 * Every tree is a SumTree over a power-of-two capacity, so all samplers take a `limit` and sample from the
 * prefix [0, limit) in O(log n) — exactly the causal window of a query over a KV cache.
 *
 * Growth: `append` doubles the capacity (and rebuilds the trees, O(capacity)) when full, so appending a key
 * costs amortised O(1) for growth plus O(log n) for the root path (O(d log n) with column trees). A growing KV
 * cache therefore keeps SQ access current with O(log n) work per decoded token, which is the setting in which
 * the dequantization papers treat the structure as given rather than rebuilt per query. `extend` does the same
 * for a KV cache that grows its own K (attention/define.ts grownKv): it borrows the grown matrix instead of
 * copying rows, and only adds the new rows' leaves. The trees' sums and samples depend only on the leaves in
 * the window (sum-tree.ts), so a structure grown this way samples exactly as one built on the whole matrix.
 */
import { QattnError, check } from '../core/errors.ts';
import type { Rng } from '../core/rng.ts';
import type { AttentionInput } from './types.ts';
import { AliasTable } from './alias-table.ts';
import { SumTree, pow2AtLeast } from './sum-tree.ts';

export { SumTree };

export interface SQOptions {
  /** Also keep one SumTree per column (memory 10·d bytes per key of capacity; updates cost O(d log n)). */
  readonly columnTrees?: boolean;
  /** Initial capacity in rows (rounded up to a power of two). */
  readonly capacity?: number;
}

/**
 * Whole-window row draws use an alias table from this many rows on (below, the sum tree is in cache and the
 * table's O(n) rebuild after each append would cost more than it saves).
 */
const ALIAS_MIN_ROWS = 2 ** 12;

/** SQ access to a row-appendable matrix with d columns (see the file comment). */
export class SQAccess {
  readonly d: number;
  private count = 0;
  private rows: Float32Array;
  /** False while `rows` is the caller's array (fromMatrix borrows it; the first write copies it). */
  private owned = true;
  private rowTree: SumTree;
  private colTrees: SumTree[] | null;
  /** Alias table of the row norms over all rows (null: not built, or stale since a change). */
  private alias: AliasTable | null = null;

  constructor(d: number, opts: SQOptions = {}) {
    check(Number.isInteger(d) && d >= 1, `SQ access needs a positive integer row length, got ${d}`);
    this.d = d;
    this.rowTree = new SumTree(opts.capacity ?? 1);
    this.rows = new Float32Array(this.rowTree.capacity * d);
    this.colTrees = opts.columnTrees ? Array.from({ length: d }, () => new SumTree(this.rowTree.capacity)) : null;
  }

  /**
   * Builds SQ access to the n×d row-major matrix `k` in O(n·d). `k` is borrowed, not copied (a KV cache of
   * 2^24 keys × 64 is 4 GiB; the structure adds only its trees, 10 bytes per key of capacity): the caller must
   * not modify it while the structure lives; the first append or update copies it into storage of our own.
   */
  static fromMatrix(k: Float32Array, n: number, d: number, opts: Pick<SQOptions, 'columnTrees'> = {}): SQAccess {
    check(k.length === n * d, `SQ access: matrix has ${k.length} values, expected ${n}×${d}`);
    const sq = new SQAccess(d, opts);
    sq.rows = k;
    sq.owned = false;
    sq.count = n;
    sq.rowTree.reset(n);
    for (let j = 0; j < n; j++) sq.rowTree.load(j, sq.checkedNorm2(j));
    sq.rowTree.rebuild();
    if (sq.colTrees) loadColumns(sq.colTrees, k, n, d);
    sq.rowAlias(); // in the build, so a prepared cache's first whole-window draw costs no O(n)
    return sq;
  }

  /**
   * The caller's matrix grew to n rows (`k` [n×d]; its first `from` rows are the rows this structure already
   * holds — grownKv keeps them in place): borrow it and give rows [from, n) their leaves, O((n − from) · log n)
   * amortised (× d with column trees), or one O(capacity) rebuild when that is cheaper. Leaves at and beyond n
   * are never read by a window ≤ n, so a structure extended from `from` < this.n (the cache was grown twice from
   * the same state) is still exact for the new n.
   */
  extend(k: Float32Array, from: number, n: number): void {
    const d = this.d;
    check(Number.isInteger(from) && from >= 0 && from <= this.count, `SQ access: extend from row ${from}, have ${this.count}`);
    check(Number.isInteger(n) && n >= from && k.length >= n * d, `SQ access: extend to ${n} rows needs a matrix of ≥ ${n}×${d} values, got ${k.length}`);
    this.rows = k;
    this.owned = false;
    this.count = n;
    this.alias = null;
    const trees = [this.rowTree, ...(this.colTrees ?? [])];
    for (const tree of trees) tree.reserve(n);
    const cap = this.rowTree.capacity;
    // Point sets cost log₂(cap) node writes each; past cap / log₂(cap) new rows one bottom-up rebuild is cheaper.
    // Both leave every node equal to left + right of the same leaves, so the choice never changes a sample.
    const bulk = (n - from) * Math.log2(cap) > cap;
    for (let j = from; j < n; j++) {
      const w = this.checkedNorm2(j);
      if (bulk) this.rowTree.load(j, w);
      else this.rowTree.set(j, w);
    }
    if (bulk) this.rowTree.rebuild();
    this.colTrees?.forEach((tree, t) => {
      for (let j = from; j < n; j++) {
        const w = k[j * d + t]! ** 2;
        if (bulk) tree.load(j, w);
        else tree.set(j, w);
      }
      if (bulk) tree.rebuild();
    });
  }

  /**
   * A structure over the same (borrowed) rows in which `rows` have weight 0 in every tree — keys a padding
   * mask removes — leaving this one as it is. O(capacity) for the tree copies (× d with column trees) plus
   * O(log n) per removed row; no row is copied.
   */
  withoutRows(rows: ArrayLike<number>): SQAccess {
    const sq = new SQAccess(this.d);
    sq.rows = this.rows;
    sq.owned = false;
    sq.count = this.count;
    // As in extend: point sets while they are cheaper than one rebuild; the nodes come out the same either way.
    const bulk = rows.length * Math.log2(this.rowTree.capacity) > this.rowTree.capacity;
    const strip = (tree: SumTree): SumTree => {
      const c = tree.copy();
      for (let a = 0; a < rows.length; a++) {
        if (bulk) c.load(rows[a]!, 0);
        else c.set(rows[a]!, 0);
      }
      if (bulk) c.rebuild();
      return c;
    };
    sq.rowTree = strip(this.rowTree);
    sq.colTrees = this.colTrees ? this.colTrees.map(strip) : null;
    return sq;
  }

  /** Number of rows. */
  get n(): number {
    return this.count;
  }

  get hasColumnTrees(): boolean {
    return this.colTrees !== null;
  }

  /** Appends a row; returns its index. O(d + log n) amortised (O(d log n) with column trees). */
  append(row: ArrayLike<number>): number {
    const j = this.count;
    this.reserve(j + 1);
    this.count++;
    this.update(j, row);
    return j;
  }

  /** Replaces row j (0 ≤ j < n). O(d + log n) (O(d log n) with column trees). */
  update(j: number, row: ArrayLike<number>): void {
    check(Number.isInteger(j) && j >= 0 && j < this.count, `SQ access: row ${j} out of range [0, ${this.count})`);
    check(row.length === this.d, `SQ access: row has ${row.length} values, expected ${this.d}`);
    this.reserve(this.count);
    for (let t = 0; t < this.d; t++) this.rows[j * this.d + t] = row[t]!;
    this.alias = null;
    this.rowTree.set(j, this.checkedNorm2(j));
    this.colTrees?.forEach((tree, t) => tree.set(j, this.rows[j * this.d + t]! ** 2));
  }

  entry(j: number, t: number): number {
    return this.rows[j * this.d + t]!;
  }

  /** ‖k_j‖² (float64 sum of the stored float32 entries). */
  rowNorm2(j: number): number {
    return this.rowTree.weight(j);
  }

  /** ‖K_{[0,limit)}‖_F²: the squared Frobenius norm of the first `limit` rows. O(log n). */
  frobenius2(limit = this.count): number {
    return this.rowTree.prefix(Math.min(limit, this.count));
  }

  /**
   * Row j ∈ [0, limit) with probability ‖k_j‖² / frobenius2(limit); −1 if those rows are all zero. O(log n).
   * `mass`, when given, must be frobenius2(limit) (a query drawing many rows from one window computes it once).
   */
  sampleRow(rng: Rng, limit = this.count, mass?: number): number {
    const lim = Math.min(limit, this.count);
    if (lim === this.count && lim >= ALIAS_MIN_ROWS) return this.aliasRow(rng);
    return mass === undefined ? this.rowTree.sample(rng, lim) : this.rowTree.sample(rng, lim, mass);
  }

  /**
   * A whole-window draw from the alias table (alias-table.ts: O(1), against the tree's O(log n) cache misses),
   * rebuilt from the tree's leaves after any change. The same distribution ‖k_j‖² / ‖K‖_F² as the tree; a draw
   * that rounding sends to a zero row is redrawn, as the tree does.
   */
  private aliasRow(rng: Rng): number {
    const alias = this.rowAlias();
    if (!(alias.total > 0)) return -1;
    for (let attempt = 0; attempt < 64; attempt++) {
      const j = alias.sample(rng);
      if (this.rowTree.weight(j) > 0) return j;
    }
    throw new Error('internal: the alias table kept landing on zero rows');
  }

  private rowAlias(): AliasTable {
    if (!this.alias || this.alias.size !== this.count) this.alias = new AliasTable(this.count, (j) => this.rowTree.weight(j));
    return this.alias;
  }

  /** Column t with probability K_jt² / ‖k_j‖²; −1 for a zero row. O(d): d is small, a per-row tree would cost n·d more memory. */
  sampleEntry(j: number, rng: Rng): number {
    const norm2 = this.rowNorm2(j);
    if (!(norm2 > 0)) return -1;
    let u = rng.next() * norm2, last = -1;
    for (let t = 0; t < this.d; t++) {
      const w = this.entry(j, t) ** 2;
      if (w === 0) continue;
      last = t;
      if (u < w) return t;
      u -= w;
    }
    return last; // rounding left u ≥ the last weight: that entry is the one the draw belongs to
  }

  /** ‖K_{[0,limit), t}‖²: squared norm of column t over the first `limit` rows. Needs column trees. */
  columnNorm2(t: number, limit = this.count): number {
    return this.column(t).prefix(Math.min(limit, this.count));
  }

  /** Row j ∈ [0, limit) with probability K_jt² / columnNorm2(t, limit); −1 if that is 0. Needs column trees. */
  sampleInColumn(t: number, rng: Rng, limit = this.count): number {
    return this.column(t).sample(rng, Math.min(limit, this.count));
  }

  private column(t: number): SumTree {
    if (!this.colTrees) throw new QattnError('SQ access was built without column trees (columnTrees: true)');
    const tree = this.colTrees[t];
    check(tree !== undefined, `SQ access: column ${t} out of range [0, ${this.d})`);
    return tree;
  }

  /** Owns the row storage with room for `rows` rows; grows by doubling, so appends copy O(1) amortised. */
  private reserve(rows: number): void {
    const have = this.rows.length / this.d;
    if (this.owned && rows <= have) return;
    const grown = new Float32Array(pow2AtLeast(Math.max(rows, have)) * this.d);
    grown.set(this.rows.subarray(0, this.count * this.d));
    this.rows = grown;
    this.owned = true;
  }

  private checkedNorm2(j: number): number {
    const s = norm2(this.rows, j * this.d, this.d);
    check(Number.isFinite(s), `SQ access: row ${j} contains NaN or Inf`);
    return s;
  }
}

/**
 * Σ_t a[o + t]² in float64, in order. x·x of a float32 value is exact in float64 (24-bit mantissas), so this is
 * the same number as Σ x ** 2, at about twice the speed of the pow path in prepare (2^30 entries at 2^24 keys).
 */
function norm2(a: Float32Array, o: number, d: number): number {
  let s = 0;
  for (let t = o, end = o + d; t < end; t++) {
    const x = a[t]!;
    s += x * x;
  }
  return s;
}

/** Fills column trees from row-major K in blocks of rows, so reads stay in cache and writes are sequential. */
function loadColumns(trees: SumTree[], k: Float32Array, n: number, d: number): void {
  const block = 1024;
  for (const tree of trees) tree.reset(n);
  for (let j0 = 0; j0 < n; j0 += block) {
    const j1 = Math.min(n, j0 + block);
    trees.forEach((tree, t) => {
      for (let j = j0; j < j1; j++) tree.load(j, k[j * d + t]! ** 2);
    });
  }
  for (const tree of trees) tree.rebuild();
}

/**
 * SQ access for one call against a prepared cache: the prepared structure itself, or — when a length-n
 * (broadcast) mask sets keys to −∞ (padding) — a copy in which those keys have weight 0: they leave the
 * structure, as a KV cache would never have appended them, so no sample is wasted on them. The copy costs
 * O(n) tree rows per call (`copiedRows`, 0 without such a mask; reading the mask is O(n) anyway). Per-query
 * (m×n) masks cannot be folded into one shared structure; mechanisms apply those to scores.
 */
export function maskedAccess(sq: SQAccess, input: Pick<AttentionInput, 'n' | 'mask'>): { sq: SQAccess; copiedRows: number } {
  const mk = input.mask;
  if (!mk || mk.length !== input.n) return { sq, copiedRows: 0 };
  const padded: number[] = [];
  for (let j = 0; j < input.n; j++) if (mk[j] === -Infinity) padded.push(j);
  if (padded.length === 0) return { sq, copiedRows: 0 };
  return { sq: sq.withoutRows(padded), copiedRows: input.n };
}

/**
 * Per-query memo of a per-key quantity (q_i·k_j and the like), so a key drawn many times is computed — and
 * counted in `evaluations` — once per query. A hash map, so a query costs memory and time in the keys it
 * touches, never in n (a per-call O(n) stamp array would make every query O(n) on a prepared cache).
 */
export class KeyMemo {
  /** Distinct (query, key) values computed so far. */
  evaluations = 0;
  private readonly val = new Map<number, number>();
  private query = -1;
  private compute: (j: number) => number = () => NaN;

  /** Starts query i with its own function of the key index (the values of the previous query are dropped). */
  begin(i: number, compute: (j: number) => number): void {
    if (i !== this.query) this.val.clear();
    this.query = i;
    this.compute = compute;
  }

  get(j: number): number {
    const have = this.val.get(j);
    if (have !== undefined) return have;
    const x = this.compute(j);
    this.val.set(j, x);
    this.evaluations++;
    return x;
  }
}
