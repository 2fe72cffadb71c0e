/**
 * `ann-topk`: top-k keys retrieved from an approximate-nearest-neighbour index, then exact softmax over them.
 *
 * RetrievalAttention (Liu et al., arXiv 2409.10516) builds a vector index over the KV cache once and, per
 * query, attends to the keys the index returns for maximum inner product. We use a real HNSW index (Malkov
 * & Yashunin, arXiv 1603.09320) from npm `usearch` with the inner-product metric (`ip`, distance 1 − q·k;
 * scale > 0 does not change the ranking). The index is built once per K and cached on the K Float32Array's
 * identity (WeakMap), so repeated calls on the same K — decode steps, many heads' queries — reuse it.
 * Mutating K in place after a call is not detected: pass a new array for new keys.
 *
 * The retrieved keys are re-scored exactly (float64 logits including the mask) and the top k of them kept.
 * Causal windows and −∞ masks are handled by filtering the retrieved keys; when filtering leaves fewer than
 * k, the fetch size doubles (from 2k) up to n. HNSW may return fewer than n keys even when asked for n, so a
 * query can end with fewer than k keys — that is the method's approximation. k ≥ the visible keys skips the
 * index and attends to all visible keys (exhaustive setting k = n).
 *
 * Determinism: insertion is single-threaded and usearch's level generator has a fixed internal seed, so the
 * same K gives the same graph; there is no seed option. usearch's JS binding does not report its distance
 * computations, so scoreEvaluations counts only the exact re-scoring dots; `extra.retrieved` counts the keys
 * the index returned and `extra.indexBuildInsertions` is n on the call that built the index, 0 on a cache hit.
 */
import usearch from 'usearch';
import type { Index } from 'usearch';
import { dot } from '../math.ts';
import { optNumber } from '../options.ts';
import { TopKHeap, meanSize, softmaxOverSelected } from '../select.ts';
import type { AttentionInput, AttentionOutput, CostReport, Mechanism, Options } from '../types.ts';
import { singlePhase } from '../define.ts';
import { emptyCost } from '../types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../validate.ts';
import { K_MAX } from './topk-exact.ts';

interface IndexParams {
  readonly connectivity: number;
  readonly expansionAdd: number;
  readonly expansionSearch: number;
}

const cache = new WeakMap<Float32Array, Map<string, Index>>();

/** The HNSW index over the rows of K for these parameters, built on first use. */
function indexFor(input: AttentionInput, p: IndexParams, cost: CostReport): Index {
  const key = `${input.n}x${input.d}:${p.connectivity}:${p.expansionAdd}:${p.expansionSearch}`;
  let perK = cache.get(input.k);
  if (!perK) cache.set(input.k, (perK = new Map()));
  const hit = perK.get(key);
  cost.extra.indexCacheHit = hit ? 1 : 0;
  cost.extra.indexBuildInsertions = hit ? 0 : input.n;
  if (hit) return hit;
  const index = new usearch.Index({
    dimensions: input.d,
    metric: usearch.MetricKind.IP,
    quantization: usearch.ScalarKind.F32,
    connectivity: p.connectivity,
    expansion_add: p.expansionAdd,
    expansion_search: p.expansionSearch,
    multi: false,
  });
  const ids = new BigUint64Array(input.n);
  for (let j = 0; j < input.n; j++) ids[j] = BigInt(j);
  index.add(ids, input.k.slice(), 1); // one thread: the graph (and so the output) is reproducible
  perK.set(key, index);
  return index;
}

/** Keys the index returns for query i that it may see, fetching more until k survive or n were asked for. */
function retrieve(input: AttentionInput, index: Index, i: number, k: number, cost: CostReport): number[] {
  const filtering = input.causal === true || input.mask !== undefined;
  const vis = visibleKeys(input, i);
  const q = input.q.slice(i * input.d, (i + 1) * input.d); // a copy: the binding reads from offset 0
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

async function attend(input: AttentionInput, options: Options): Promise<AttentionOutput> {
  const { m, n, dv } = input;
  const k = Math.min(optNumber(options, 'k'), n);
  const cost = emptyCost();
  Object.assign(cost.extra, { indexSearches: 0, retrieved: 0, indexBuildInsertions: 0, indexCacheHit: 0 });
  const params: IndexParams = {
    connectivity: optNumber(options, 'connectivity'),
    expansionAdd: optNumber(options, 'expansionAdd'),
    expansionSearch: optNumber(options, 'expansionSearch'),
  };
  const scale = effectiveScale(input);
  const out = new Float32Array(m * dv);
  const logits = new Float64Array(n);
  const heap = new TopKHeap(k);
  const selected: Int32Array[] = [];
  let index: Index | null = null;
  for (let i = 0; i < m; i++) {
    const vis = visibleKeys(input, i);
    let keys: ArrayLike<number>;
    if (k >= vis) keys = Array.from({ length: vis }, (_, j) => j);
    else keys = retrieve(input, (index ??= indexFor(input, params, cost)), i, k, cost);
    heap.clear();
    for (let t = 0; t < keys.length; t++) {
      const j = keys[t]!;
      logits[j] = dot(input, i, j) * scale + maskAt(input, i, j);
      heap.push(j, logits[j]!);
    }
    cost.scoreEvaluations += keys.length;
    const sel = heap.indices();
    softmaxOverSelected(input, i, sel, (j) => logits[j]!, out);
    selected.push(sel);
  }
  cost.selectedPerQuery = meanSize(selected);
  return { out, cost, selected, path: index ? 'usearch-hnsw' : 'all-visible' };
}

export const annTopk: Mechanism = singlePhase({
  name: 'ann-topk',
  family: 'classical',
  summary: 'top-k keys from a cached usearch HNSW inner-product index over K, exact softmax over them (RetrievalAttention)',
  reference: 'Liu et al., RetrievalAttention, arXiv 2409.10516; Malkov & Yashunin, HNSW, arXiv 1603.09320',
  options: {
    k: { type: 'int', default: 32, min: 1, max: K_MAX, description: 'keys kept per query (clamped to n; k ≥ visible keys skips the index)' },
    connectivity: { type: 'int', default: 16, min: 2, max: 256, description: 'HNSW graph degree M' },
    expansionAdd: { type: 'int', default: 128, min: 1, max: 4096, description: 'HNSW candidate list size while building (efConstruction)' },
    expansionSearch: { type: 'int', default: 64, min: 1, max: 4096, description: 'HNSW candidate list size while searching (ef); higher: better recall, slower' },
  },
  tolerance: {
    exhaustiveRelL2: 1e-6,
    note: 'with k = n the index is bypassed and every visible key is re-scored exactly, so the output is the float64 softmax up to float32 rounding',
  },
  costFields: {
    scoreEvaluations: 'sum', selectedPerQuery: 'mean', 'extra.retrieved': 'sum', 'extra.indexSearches': 'sum',
    'extra.indexBuildInsertions': 'sum', 'extra.indexCacheHit': 'mean',
  },
  exhaustiveOptions: (n) => ({ k: Math.min(n, K_MAX) }),
  notSupportedReasons: () => [],
  attend,
});
