/**
 * Where grover-topk's searches end, in keys: its DHHM runs search rank scores (oracles/oracle.ts rankScores —
 * position p is the p-th best key of the query's window in the oracle's order: logit descending, ties to the
 * lower key, the tie rule Dürr–Høyer assume when they take the values distinct), so only the keys at the
 * ranks a run ends on are ever looked up. Per query row that is a prefix of its window's order: ranks
 * [0, need), where need is one past the worst rank the run kept (k when it found the true top-k).
 *
 * How the prefix is found, cheapest first:
 * - onnxruntime's Gemm + TopK (kernels/ort/scores.ts ortTopLogits, the path topk-exact takes), in key blocks
 *   merged by (logit, key), when no row is causal-ragged, the prefix is short and the float32 product cannot
 *   overflow (the topk-exact bound: ‖q‖·max‖k‖ far below 3.4e38) — the m×n logits never reach JS;
 * - otherwise the window's logits (ortLogits, or its JS loop), checked for NaN, and a heap for short prefixes
 *   or a stable LSD radix argsort (Knuth, TAOCP vol. 3, §5.2.5) for long ones (noise scatters a run's ranks
 *   over the whole window).
 * Both read the same float32 logits (the same Gemm), and ONNX TopK breaks ties to the lower index like the
 * JS paths, so the order does not depend on the path.
 *
 * A −∞ logit (a masked key) ranks after every finite one, so the returned prefix holds only finite-logit keys:
 * a rank at or past its length is a masked key, which grover-topk never attends to.
 */
import { QattnError } from '../../core/errors.ts';
import type { AttentionInput, QueryInput } from '../types.ts';
import { TopKHeap } from '../select.ts';
import { maskAt, visibleKeys } from '../validate.ts';
import { SCORE_BLOCK, float32LogitsSafe, maxAbsMask, ortLogits, ortTopLogits, scoreBlockKeys, type OrtKeys } from '../kernels/ort/scores.ts';

/** The finite-logit keys at ranks [0, length) of one query's window, best first, and their float32 logits. */
export interface RankedRow {
  readonly keys: Int32Array;
  readonly logits: Float32Array;
}

/** Longest prefix fetched with onnxruntime's TopK (a heap of this size per row); longer ones read all logits. */
const TOPK_PREFIX_MAX = 1024;
/** Prefixes up to this long are selected from the logits with a heap; longer ones by a full argsort. */
const HEAP_PREFIX_MAX = 4096;
/** Logits of at most this many (query, key) pairs are held at once on the logits path (256 MiB). */
const LOGIT_BLOCK_SCORES = 2 ** 26;

/** What the lookup needs of the keys: onnxruntime's binding and the largest key norm (for the overflow bound). */
export interface RankKeys {
  readonly keys: OrtKeys;
  readonly kMax: number;
}

/** The rows' prefixes (null where need is 0), and how many logits the simulator read to find them. */
export interface RankLookup {
  readonly rows: (RankedRow | null)[];
  readonly reads: number;
}

/** Whether every query's float32 logits are far below overflow (then TopK's order is the exact float32 order). */
function cannotOverflow(rk: RankKeys, input: AttentionInput): boolean {
  const { q, m, d } = input, maskMax = maxAbsMask(input.mask);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += q[i * d + c]! ** 2;
    if (!float32LogitsSafe(Math.sqrt(s), rk.kMax, rk.keys.scale, maskMax)) return false;
  }
  return true;
}

/**
 * For each query row i with need[i] > 0: the finite-logit keys at ranks [0, need[i]) of its window (fewer when
 * the window has fewer finite logits). `blockScores` bounds one onnxruntime run (tests pass a small one to
 * check that merging key blocks changes nothing).
 */
export async function rankedKeys(rk: RankKeys, input: AttentionInput, need: Int32Array, blockScores = SCORE_BLOCK): Promise<RankLookup> {
  let most = 0;
  for (let i = 0; i < need.length; i++) most = Math.max(most, need[i]!);
  if (most === 0) return { rows: Array.from(need, () => null), reads: 0 };
  if (rk.keys.top !== null && !input.causal && most <= TOPK_PREFIX_MAX && cannotOverflow(rk, input)) return topkPrefixes(rk.keys, input, need, most, blockScores);
  return logitPrefixes(rk.keys, input, need);
}

/** Prefixes from onnxruntime's Gemm + TopK over key blocks (every row's window is all n keys). */
async function topkPrefixes(keys: OrtKeys, input: AttentionInput, need: Int32Array, most: number, blockScores: number): Promise<RankLookup> {
  const { m, n } = input;
  const query: QueryInput = { q: input.q, m, ...(input.mask ? { mask: input.mask } : {}) };
  const width = scoreBlockKeys(m, n, blockScores);
  const parts: { values: Float32Array; indices: Int32Array; count: number }[] = [];
  for (let j0 = 0; j0 < n; j0 += width) parts.push(await ortTopLogits(keys, query, j0, Math.min(width, n - j0), most));
  const rows = Array.from(need, (c, i) => (c > 0 ? mergeRow(parts, i, c) : null));
  let reads = 0;
  for (let i = 0; i < m; i++) if (need[i]! > 0) reads += n;
  return { rows, reads };
}

/** Row i's best `count` finite entries over the blocks' TopK lists, by (logit descending, key ascending). */
function mergeRow(parts: readonly { values: Float32Array; indices: Int32Array; count: number }[], i: number, count: number): RankedRow {
  const vals: number[] = [], ids: number[] = [];
  for (const p of parts) {
    for (let t = i * p.count; t < (i + 1) * p.count; t++) {
      if (p.values[t]! > -Infinity) {
        vals.push(p.values[t]!);
        ids.push(p.indices[t]!);
      }
    }
  }
  let order = Array.from(vals.keys());
  // One block is already in that order (ONNX TopK: sorted, ties to the lower index); several are merged.
  if (parts.length > 1) order.sort((a, b) => vals[b]! - vals[a]! || ids[a]! - ids[b]!);
  order = order.slice(0, count);
  return { keys: Int32Array.from(order, (t) => ids[t]!), logits: Float32Array.from(order, (t) => vals[t]!) };
}

/** Prefixes from each window's logits, computed in blocks of query rows (causal windows, long prefixes, no onnxruntime). */
async function logitPrefixes(keys: OrtKeys, input: AttentionInput, need: Int32Array): Promise<RankLookup> {
  const { m, n, d, q, mask } = input;
  const rows: (RankedRow | null)[] = Array.from(need, () => null);
  const per = Math.max(1, Math.min(m, Math.floor(LOGIT_BLOCK_SCORES / n)));
  let reads = 0;
  const buf = lendLogits(per * n);
  try {
    for (let i0 = 0; i0 < m; i0 += per) {
      const i1 = Math.min(m, i0 + per);
      let any = false;
      for (let i = i0; i < i1; i++) any ||= need[i]! > 0;
      if (!any) continue;
      const sub: QueryInput = {
        q: q.subarray(i0 * d, i1 * d), m: i1 - i0,
        ...(mask ? { mask: mask.length === n ? mask : mask.subarray(i0 * n, i1 * n) } : {}),
      };
      // No causal cut here: each row reads only its window's prefix [0, vis).
      const logits = await ortLogits(keys, sub, buf.subarray(0, (i1 - i0) * n));
      for (let i = i0; i < i1; i++) {
        if (need[i]! === 0) continue;
        const vis = visibleKeys(input, i);
        const row = logits.subarray((i - i0) * n, (i - i0) * n + vis);
        checkOverflow(input, i, row);
        rows[i] = need[i]! <= HEAP_PREFIX_MAX ? heapPrefix(row, need[i]!) : sortedPrefix(row, need[i]!);
        reads += vis;
      }
    }
  } finally {
    returnLogits(buf);
  }
  return { rows, reads };
}

/**
 * Logits buffers kept between calls: a fresh 64 MiB Float32Array costs its first-touch page faults on every
 * call (about 50 ms of a 2^20-key, 16-query call measured here), a kept one does not. A buffer is lent to one
 * call at a time (attends may overlap: they await onnxruntime), and at most one idle buffer is kept.
 */
let idleLogits: Float32Array | null = null;

function lendLogits(length: number): Float32Array {
  const buf = idleLogits && idleLogits.length >= length ? idleLogits : new Float32Array(length);
  if (buf === idleLogits) idleLogits = null;
  return buf;
}

function returnLogits(buf: Float32Array): void {
  if (!idleLogits || idleLogits.length < buf.length) idleLogits = buf;
}

/**
 * On this path the float32 product may overflow (cannotOverflow said so, or it was not asked): a key whose
 * logit came out ±∞ without a −∞ mask would be ranked wrongly (+∞ ties by index, −∞ reads as masked), so it
 * is refused like a NaN.
 */
function checkOverflow(input: AttentionInput, i: number, row: Float32Array): void {
  for (let j = 0; j < row.length; j++) {
    const v = row[j]!;
    if ((v === Infinity || v === -Infinity) && maskAt(input, i, j) !== -Infinity) {
      throw new QattnError(`grover-topk: the float32 logit of key ${j} for query ${i} overflows to ${v} (scale the inputs down)`);
    }
  }
}

function nanAt(j: number): never {
  throw new QattnError(`grover-topk: the float32 logit of key ${j} is NaN (q·k overflows float32; scale the inputs down)`);
}

/** The best `count` finite entries by select.ts's heap (its order: logit descending, ties to the lower key). */
function heapPrefix(row: Float32Array, count: number): RankedRow {
  const heap = new TopKHeap(count);
  for (let j = 0; j < row.length; j++) {
    const v = row[j]!;
    if (v !== v) nanAt(j);
    heap.push(j, v); // −∞ is never kept
  }
  const keys = heap.indices();
  return { keys, logits: Float32Array.from(keys, (j) => row[j]!) };
}

/**
 * The best `count` finite entries from a full argsort: a stable LSD radix sort of the keys in index order on
 * an order-reversing 32-bit image of each float (so: logit descending, ties to the lower key), three 11-bit
 * digits. O(vis) — a comparison sort of 2^20 logits would take seconds in JS.
 */
function sortedPrefix(row: Float32Array, count: number): RankedRow {
  const bits = new Uint32Array(row.buffer, row.byteOffset, row.length);
  let finite = 0;
  for (let j = 0; j < row.length; j++) {
    const v = row[j]!;
    if (v !== v) nanAt(j);
    if (v > -Infinity) finite++;
  }
  let ids = new Int32Array(finite), keyOf = new Uint32Array(finite);
  for (let j = 0, c = 0; j < row.length; j++) {
    if (!(row[j]! > -Infinity)) continue;
    const u = bits[j] === 0x80000000 ? 0 : bits[j]!; // −0 ties with +0, as the float comparison says
    // Ascending order of (u ≥ 2^31 ? ~u : u | 2^31) is the float order; its complement sorts descending.
    keyOf[c] = ~(u >= 0x80000000 ? ~u : u | 0x80000000) >>> 0;
    ids[c++] = j;
  }
  let ids2 = new Int32Array(finite), key2 = new Uint32Array(finite);
  const hist = new Int32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    hist.fill(0);
    for (let t = 0; t < finite; t++) hist[(keyOf[t]! >>> shift) & 2047]!++;
    for (let b = 0, acc = 0; b < 2048; b++) { const h = hist[b]!; hist[b] = acc; acc += h; }
    for (let t = 0; t < finite; t++) {
      const p = hist[(keyOf[t]! >>> shift) & 2047]!++;
      ids2[p] = ids[t]!;
      key2[p] = keyOf[t]!;
    }
    [ids, ids2] = [ids2, ids];
    [keyOf, key2] = [key2, keyOf];
  }
  const c = Math.min(count, finite);
  const keysOut = ids.slice(0, c);
  return { keys: keysOut, logits: Float32Array.from(keysOut, (j) => row[j]!) };
}

export const __test = { heapPrefix, sortedPrefix };
