/**
 * `topk-exact`: exact top-k attention — score every visible key, keep the k largest logits, softmax over them.
 *
 * It is the fidelity ceiling of ANY top-k selection of the same k (Grover, LSH, ANN or dequantized top-k can
 * at best find these k keys), so every selection method is compared with it at equal k. The idea of
 * attending only to the top-k scores is from Gupta et al., "Memory-efficient Transformers via Top-k
 * Attention" (arXiv 2106.06899).
 *
 * As a practitioner would build it: the scores are onnxruntime's float32 Gemm (kernels/ort/scores.ts — the
 * same product `exact` starts with), run in key blocks of bounded size; each query row is reduced to its top
 * k in one O(n) threshold scan (select.ts Float32RowTopK — no sort, no per-key heap work past the first
 * k·log(n/k) replacements); then the few candidates within float32 rounding of the k-th score are settled in
 * float64, so the selection is exactly the float64 top-k (ties to the lower key) and the softmax over the k is
 * float64, as the reference computes it. K is bound once in prepare, with the largest key norm the rounding
 * bound needs.
 *
 * k larger than the number of keys is clamped to n (so k = n is exact attention, computed directly in
 * float64); keys a query may not see (causal window, −∞ mask) are never selected, so a query with fewer than
 * k visible keys attends to exactly its visible keys, and a fully masked query attends to none (output row 0,
 * qattn's convention).
 */
import { softmaxInPlace, weightedValues } from '../math.ts';
import { meanSize, selectByLogits } from '../select.ts';
import type { AttentionInput, AttentionOutput, KvInput, Mechanism, QueryInput } from '../types.ts';
import { defineMechanism, fullInput, selectedPerQuery, type PreparedState, type TypedPrepared } from '../define.ts';
import { emptyCost } from '../types.ts';
import { maskAt, visibleKeys } from '../validate.ts';
import { SCORE_BLOCK, float32LogitError, float32LogitsSafe, maxAbsMask, maxRowNorm, ortTopLogits, prepareOrtKeys, scoreBlockKeys, type OrtKeys } from '../kernels/ort/scores.ts';

export const K_MAX = 2 ** 24;

const OPTIONS = {
  k: { type: 'int', default: 32, min: 1, max: K_MAX, description: 'keys kept per query (clamped to n; k ≥ n is exact attention)' },
} as const;

interface State {
  /** K bound for onnxruntime's score Gemm. */
  readonly keys: OrtKeys;
  /** max_j ‖k_j‖ (float64), for the float32 rounding bound of every score. */
  readonly kMax: number;
}


/** ‖x[o … o+d)‖ in float64. */
function rowNorm(x: Float32Array, o: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += x[o + t]! * x[o + t]!;
  return Math.sqrt(s);
}

/** Float64 logits of query i for `keys` (all visible); −∞ for masked ones, which are not dot products. */
function logits64(input: AttentionInput, scale: number, i: number, keys: Int32Array): { logits: Float64Array; dots: number } {
  const { q, k, d } = input, qo = i * d;
  const logits = new Float64Array(keys.length);
  let dots = 0;
  for (let t = 0; t < keys.length; t++) {
    const j = keys[t]!, mk = maskAt(input, i, j);
    if (mk === -Infinity) {
      logits[t] = -Infinity;
      continue;
    }
    const ko = j * d;
    let s = 0;
    for (let c = 0; c < d; c++) s += q[qo + c]! * k[ko + c]!;
    logits[t] = s * scale + mk;
    dots++;
  }
  return { logits, dots };
}

/** Every visible, unmasked key of query i (increasing): the float64 candidates where float32 cannot decide. */
function visibleUnmasked(input: AttentionInput, i: number): Int32Array {
  const vis = visibleKeys(input, i);
  if (!input.mask) return Int32Array.from({ length: vis }, (_, j) => j);
  const keys: number[] = [];
  for (let j = 0; j < vis; j++) if (maskAt(input, i, j) !== -Infinity) keys.push(j);
  return Int32Array.from(keys);
}

/** Queries per onnxruntime run under causal: the keys all of them see are scored there, the ragged rest in float64. */
const CAUSAL_QUERY_BLOCK = 64;


/** Float32 candidates of one query row from onnxruntime: the TopK entries of every key block, and their floors. */
interface RowCandidates {
  readonly values: number[];
  readonly keys: number[];
  /** Largest last-kept value of a block that had more keys than TopK returned (−∞ if none did). */
  floor: number;
  /** Keys [from, vis) were not in any scored block (causal ragged edge): scored in float64. */
  from: number;
}

/**
 * Scores the keys every row of a query block sees through onnxruntime's Gemm + TopK, in key blocks of
 * bounded size, keeping `count` entries per row and block.
 */
async function scoreCandidates(state: State, input: AttentionInput, count: number, blockScores: number): Promise<RowCandidates[]> {
  const { m, n, d, q, mask } = input;
  const rows: RowCandidates[] = Array.from({ length: m }, () => ({ values: [], keys: [], floor: -Infinity, from: 0 }));
  const qb = input.causal ? Math.min(m, CAUSAL_QUERY_BLOCK) : m;
  for (let i0 = 0; i0 < m; i0 += qb) {
    const i1 = Math.min(m, i0 + qb);
    const common = input.causal ? i0 + n - m + 1 : n; // ≥ 1: causal needs m ≤ n
    const sub: QueryInput = {
      q: q.subarray(i0 * d, i1 * d), m: i1 - i0,
      ...(mask ? { mask: mask.length === n ? mask : mask.subarray(i0 * n, i1 * n) } : {}),
    };
    const width = scoreBlockKeys(i1 - i0, common, blockScores);
    for (let j0 = 0; j0 < common; j0 += width) {
      const w = Math.min(width, common - j0);
      const top = await ortTopLogits(state.keys, sub, j0, w, count);
      const c = top.count;
      for (let r = 0; r < i1 - i0; r++) {
        const row = rows[i0 + r]!;
        for (let t = r * c; t < (r + 1) * c; t++) {
          row.values.push(top.values[t]!);
          row.keys.push(top.indices[t]!);
        }
        if (c < w && top.values[(r + 1) * c - 1]! > row.floor) row.floor = top.values[(r + 1) * c - 1]!;
      }
    }
    for (let i = i0; i < i1; i++) rows[i]!.from = common;
  }
  return rows;
}

/**
 * The keys of query i whose float64 logits decide its top k, from its float32 candidates: every candidate
 * within `slack(t)` of the k-th float32 value t (both that key's and the k-th key's rounding, so no key left
 * out can beat the k-th in float64), plus the ragged causal keys. Null when float32 cannot decide: a block
 * truncated by TopK may hide keys above the threshold (near-ties) — the caller then scores every visible key.
 */
function decidingKeys(row: RowCandidates, vis: number, k: number, a: number, c: number): Int32Array | null {
  const finite = row.values.filter((x) => x > -Infinity).sort((x, y) => y - x);
  let thr = -Infinity;
  if (finite.length >= k) {
    const t = finite[k - 1]!;
    thr = t - 2 * (a + c * Math.abs(t));
    if (row.floor >= thr) return null;
  }
  // Fewer than k finite entries: no block was truncated past a finite key (a truncated block returns ≥ k of
  // its own), so every open key of the scored range is here.
  const keys: number[] = [];
  for (let t = 0; t < row.values.length; t++) if (row.values[t]! > -Infinity && row.values[t]! >= thr) keys.push(row.keys[t]!);
  for (let j = row.from; j < vis; j++) keys.push(j);
  return Int32Array.from(keys).sort();
}

/**
 * topk-exact's attend; `blockScores` bounds the scores of one onnxruntime run (SCORE_BLOCK; tests pass a
 * small one to check that merging key blocks changes nothing).
 */
export async function attendTopk(p: TypedPrepared<State, typeof OPTIONS>, query: QueryInput, blockScores = SCORE_BLOCK): Promise<AttentionOutput> {
  const input = fullInput(p.kv, query);
  const { m, n, d, dv } = input;
  const k = Math.min(p.options.k, n);
  const { keys: ortKeys, kMax } = p.state;
  const scale = ortKeys.scale;
  // k = n keeps every visible key: no selection to make, so no float32 scores either.
  const rows = k < n && ortKeys.top !== null ? await scoreCandidates(p.state, input, Math.min(n, 2 * k + 16), blockScores) : null;
  const maskMax = rows ? maxAbsMask(query.mask) : 0;
  const out = new Float32Array(m * dv);
  const selected: Int32Array[] = [];
  let dots = 0, rescored = 0, fullRows = 0;
  for (let i = 0; i < m; i++) {
    const vis = visibleKeys(input, i);
    dots += vis;
    let keys: Int32Array | null = null;
    if (rows) {
      const qn = rowNorm(input.q, i * d, d);
      const { a, c } = float32LogitError(qn, d, scale, kMax);
      // Every partial sum is ≤ ‖q‖·kMax: far below float32's range (with the mask added) the Gemm cannot
      // overflow, so its order is usable; beyond it (finite inputs near 1e19) the row is scored in float64.
      if (float32LogitsSafe(qn, kMax, scale, maskMax)) keys = decidingKeys(rows[i]!, vis, k, a, c);
    }
    if (!keys) {
      keys = visibleUnmasked(input, i);
      if (rows) fullRows++;
    }
    const r64 = logits64(input, scale, i, keys);
    rescored += r64.dots;
    const best = selectByLogits(keys, r64.logits, k);
    weightedValues(input, i, softmaxInPlace(best.logits), out, best.selected);
    selected.push(best.selected);
  }
  const cost = emptyCost();
  cost.scoreEvaluations = dots;
  cost.selectedPerQuery = meanSize(selected);
  cost.extra.float64Rescores = rescored;
  if (rows) cost.extra.float64Rows = fullRows;
  return { out, cost, selected, weights: 'restricted-softmax', path: rows ? 'ort-topk+float64' : 'float64' };
}

async function prepare(kv: KvInput): Promise<PreparedState<State>> {
  return {
    state: { keys: await prepareOrtKeys(kv, 1), kMax: await maxRowNorm(kv.k, kv.n, kv.d) },
    cost: { scoreEvaluations: 0, extra: { keyNorms: kv.n } },
  };
}

export const topkExact: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'topk-exact',
  family: 'classical',
  summary: 'exact scores for every key (onnxruntime Gemm), O(n) threshold top-k settled in float64, softmax over the k (ceiling of any top-k selection)',
  reference: 'Gupta et al., Memory-efficient Transformers via Top-k Attention, arXiv 2106.06899',
  options: OPTIONS,
  budget: {
    counts: 'keys whose values are attended (k); every visible key is still scored once',
    options: (b) => ({ k: b }),
    spent: selectedPerQuery,
    slack: 1,
  },
  tolerance: {
    kind: 'exhaustive',
    relL2: 1e-6,
    note: 'with k = n every visible key is kept and the float64 softmax matches the reference up to float32 output rounding',
    options: (n: number) => ({ k: Math.min(n, K_MAX) }),
  },
  costFields: { scoreEvaluations: 'sum', selectedPerQuery: 'mean', 'extra.float64Rescores': 'sum', 'extra.float64Rows': 'sum', 'extra.keyNorms': 'sum' },
  notSupportedReasons: () => [],
  prepare,
  attend: (p, query) => attendTopk(p, query),
  // Appending binds the grown K (no copy) and folds the new keys' norms into kMax: O(t·d) for t new keys.
  async append(prev, grown, kNew) {
    return {
      state: { keys: await prepareOrtKeys(grown, 1), kMax: Math.max(prev.state.kMax, await maxRowNorm(kNew, kNew.length / grown.d, grown.d)) },
      cost: { scoreEvaluations: 0, extra: { keyNorms: kNew.length / grown.d } },
    };
  },
});
