/**
 * `ann-topk`: top-k keys retrieved from an approximate-nearest-neighbour index, then exact softmax over them.
 *
 * RetrievalAttention (Liu et al., arXiv 2409.10516) builds a vector index over the KV cache once and, per
 * query, attends to the keys the index returns for maximum inner product. We use a real HNSW index (Malkov
 * & Yashunin, arXiv 1603.09320) from npm `usearch` with the inner-product metric (`ip`, distance 1 − q·k;
 * scale > 0 does not change the ranking). Building it is `prepare` (its cost: `indexInsertions` = n); a query
 * only searches it. With k ≥ n no query can see more than k keys, so no index is built.
 *
 * The retrieved keys are re-scored exactly (float64 logits including the mask) and the top k of them kept.
 * Causal windows and −∞ masks are handled by filtering the retrieved keys; when filtering leaves fewer than
 * k, the fetch size doubles (from 2k) up to n. HNSW may return fewer than n keys even when asked for n, so a
 * query can end with fewer than k keys — that is the method's approximation. k ≥ the visible keys skips the
 * index and attends to all visible keys (exhaustive setting k = n).
 *
 * Determinism and append. Insertion is single-threaded by default (option buildThreads), and usearch draws each node's HNSW level from a
 * generator with a fixed default seed — but that generator lives in a per-thread context which the binding's
 * `add` re-creates whenever it grows the index's capacity (index.hpp `try_reserve`; javascript/lib.cpp reserves
 * when size + batch ≥ capacity), so a batch `add` of n + t keys and `add` n then t draw different levels
 * whenever a capacity step falls differently. Adding one key per call makes every capacity step depend only on
 * the current size, so the graph is a function of the key sequence alone: growing the index by appended keys
 * gives, byte for byte, the index of the concatenation (checked with `save()`; the per-call overhead is ~1 µs
 * against ~0.6 ms per insertion at d = 64). `append` grows the index IN PLACE, as usearch's `add` (and faiss'
 * `add`) does — copying it would cost O(n) per decode step — so a cache that has been appended to is spent:
 * attending or appending it again is refused (its index now holds keys it must not see); use the returned one.
 *
 * Memory: usearch keeps its own float32 copy of every key (n·d·4 bytes) plus the graph (~2·M links per key);
 * K itself is passed by reference (the binding reads a view from its byte offset), never copied in JS.
 *
 * Costs: `scoreEvaluations` counts only the exact re-scoring dot products. usearch's JavaScript binding does
 * not expose the distance computations it makes while searching or inserting (the C++ core counts them in
 * search_result_t::computed_distances; javascript/lib.cpp drops them), so they are not reported; what is
 * reported is `extra.indexSearches` and `extra.retrieved` (the keys the index returned).
 */
import usearch from 'usearch';
import type { Index } from 'usearch';
import { QattnError } from '../../core/errors.ts';
import { dot } from '../math.ts';
import { TopKHeap, meanSize, softmaxOverSelected } from '../select.ts';
import type { AttentionInput, AttentionOutput, CostReport, KvInput, Mechanism, PrepareCost, QueryInput } from '../types.ts';
import { defineMechanism, fullInput, selectedPerQuery, type TypedPrepared } from '../define.ts';
import { emptyCost } from '../types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../validate.ts';
import { K_MAX } from './topk-exact.ts';

const OPTIONS = {
  k: { type: 'int', default: 32, min: 1, max: K_MAX, description: 'keys kept per query (clamped to n; k ≥ visible keys skips the index)' },
  connectivity: { type: 'int', default: 16, min: 2, max: 256, description: 'HNSW graph degree M' },
  expansionAdd: { type: 'int', default: 128, min: 1, max: 4096, description: 'HNSW candidate list size while building (efConstruction)' },
  expansionSearch: { type: 'int', default: 64, min: 1, max: 4096, description: 'HNSW candidate list size while searching (ef); higher: better recall, slower' },
  buildThreads: { type: 'int', default: 1, min: 0, max: 256, description: 'threads of the index build (1: deterministic, append gives the index of the concatenation; 0: all cores, the graph then depends on scheduling); queries always use one' },
} as const;

/** The index and how many keys it holds: shared by a cache and the caches appended from it. */
interface Graph {
  readonly index: Index;
  readonly holds: { n: number };
}

interface State {
  /** null when k ≥ n (no query needs the index). */
  readonly graph: Graph | null;
}

type Opts = TypedPrepared<State, typeof OPTIONS>['options'];

function newIndex(d: number, o: Opts): Index {
  return new usearch.Index({
    dimensions: d,
    metric: usearch.MetricKind.IP,
    quantization: usearch.ScalarKind.F32,
    connectivity: o.connectivity,
    expansion_add: o.expansionAdd,
    expansion_search: o.expansionSearch,
    multi: false,
  });
}

/**
 * Inserts keys from … to−1 of K: one per call and one thread (see the module comment on why one per call), or
 * with threads ≠ 1 as one batch on that many threads (0: all cores) — usearch's parallel build, which a
 * practitioner would use for a long cache (measured, 2^15 keys, d = 64, 2 cores: 14.0 s one per call, 8.7 s
 * batched on two threads), at the price of a graph that depends on thread scheduling.
 */
function insert(index: Index, k: Float32Array, d: number, from: number, to: number, threads: number): void {
  if (threads !== 1) {
    const ids = new BigUint64Array(to - from);
    for (let j = from; j < to; j++) ids[j - from] = BigInt(j);
    index.add(ids, k.subarray(from * d, to * d), threads);
    return;
  }
  const id = new BigUint64Array(1);
  for (let j = from; j < to; j++) {
    id[0] = BigInt(j);
    index.add(id, k.subarray(j * d, (j + 1) * d), 1);
  }
}

function build(kv: KvInput, o: Opts): { state: State; cost: PrepareCost } {
  if (o.k >= kv.n) return { state: { graph: null }, cost: { scoreEvaluations: 0, extra: { indexInsertions: 0 } } };
  const index = newIndex(kv.d, o);
  insert(index, kv.k, kv.d, 0, kv.n, o.buildThreads);
  return { state: { graph: { index, holds: { n: kv.n } } }, cost: { scoreEvaluations: 0, extra: { indexInsertions: kv.n } } };
}

const SPENT = 'this ann-topk cache was grown by append, which adds to its usearch index in place; use the cache append returned';

/** Keys the index returns for query i that it may see, fetching more until k survive or n were asked for. */
function retrieve(input: AttentionInput, index: Index, i: number, k: number, cost: CostReport): number[] {
  const filtering = input.causal === true || input.mask !== undefined;
  const vis = visibleKeys(input, i);
  const q = input.q.subarray(i * input.d, (i + 1) * input.d); // a view: the binding reads from its byte offset
  let fetch = Math.min(input.n, filtering ? 2 * k : k);
  for (;;) {
    const res = index.search(q, fetch, 1);
    cost.extra.indexSearches! += 1;
    cost.extra.retrieved! += res.keys.length;
    const kept: number[] = [];
    for (const id of res.keys) {
      const j = Number(id);
      if (j < vis && maskAt(input, i, j) !== -Infinity) kept.push(j);
    }
    if (kept.length >= k || fetch >= input.n) return kept;
    fetch = Math.min(input.n, 2 * fetch);
  }
}

async function attend(p: TypedPrepared<State, typeof OPTIONS>, query: QueryInput): Promise<AttentionOutput> {
  const { graph } = p.state;
  if (graph && graph.holds.n !== p.kv.n) throw new QattnError(SPENT);
  const input = fullInput(p.kv, query);
  const { m, n, dv } = input;
  const k = Math.min(p.options.k, n);
  const cost = emptyCost();
  Object.assign(cost.extra, { indexSearches: 0, retrieved: 0 });
  const scale = effectiveScale(input);
  const out = new Float32Array(m * dv);
  const heap = new TopKHeap(k);
  const selected: Int32Array[] = [];
  let searched = false;
  for (let i = 0; i < m; i++) {
    const vis = visibleKeys(input, i);
    // null: every visible key 0 … vis−1 (k ≥ vis, or no index because k ≥ n ≥ vis); else the retrieved ones.
    const keys = k >= vis || !graph ? null : retrieve(input, graph.index, i, k, cost);
    searched ||= keys !== null;
    const count = keys ? keys.length : vis;
    const logits = new Float64Array(count);
    heap.clear();
    for (let t = 0; t < count; t++) {
      const j = keys ? keys[t]! : t;
      logits[t] = dot(input, i, j) * scale + maskAt(input, i, j);
      heap.push(j, logits[t]!); // by key index: ties go to the lower index, as for every selection method
    }
    cost.scoreEvaluations += count;
    const sel = heap.indices();
    // Logits by key: position = key when all visible keys were scored, else a map over the few retrieved.
    const byKey = keys ? new Map(keys.map((j, t) => [j, logits[t]!] as const)) : null;
    softmaxOverSelected(input, i, sel, (j) => (byKey ? byKey.get(j)! : logits[j]!), out);
    selected.push(sel);
  }
  cost.selectedPerQuery = meanSize(selected);
  return { out, cost, selected, weights: 'restricted-softmax', path: searched ? 'usearch-hnsw' : 'all-visible' };
}

export const annTopk: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'ann-topk',
  family: 'classical',
  summary: 'top-k keys from a usearch HNSW inner-product index over K built in prepare, exact softmax over them (RetrievalAttention); usearch\'s JS binding does not report its distance computations',
  reference: 'Liu et al., RetrievalAttention, arXiv 2409.10516; Malkov & Yashunin, HNSW, arXiv 1603.09320',
  options: OPTIONS,
  budget: {
    counts: 'keys retrieved and re-scored exactly (k, with ef ≥ k); the graph walk\'s distance computations are not reported by usearch',
    options: (b, _n, base) => ({ k: b, expansionSearch: Math.min(4096, Math.max(base.expansionSearch, b)) }),
    spent: selectedPerQuery,
    slack: 1,
  },
  tolerance: {
    kind: 'exhaustive',
    relL2: 1e-6,
    note: 'with k = n the index is bypassed and every visible key is re-scored exactly, so the output is the float64 softmax up to float32 rounding',
    options: (n: number) => ({ k: Math.min(n, K_MAX) }),
  },
  costFields: {
    scoreEvaluations: 'sum', selectedPerQuery: 'mean', 'extra.retrieved': 'sum', 'extra.indexSearches': 'sum',
  },
  notSupportedReasons: () => [],

  // The HNSW build: n insertions (indexInsertions); none when k ≥ n.
  prepare: (kv, o) => build(kv, o),

  // The new keys inserted into the same index, in order: the graph equals that of preparing the concatenation.
  append(p, grown) {
    const { graph } = p.state;
    if (!graph) return build(grown, p.options); // k ≥ the old n: the first index is built over the whole cache
    if (graph.holds.n !== p.kv.n) throw new QattnError(SPENT);
    insert(graph.index, grown.k, grown.d, p.kv.n, grown.n, p.options.buildThreads);
    graph.holds.n = grown.n;
    return { state: { graph }, cost: { scoreEvaluations: 0, extra: { indexInsertions: grown.n - p.kv.n } } };
  },
  attend,
});
