/**
 * The score product S = Q·Kᵀ·scale + mask in onnxruntime — the same Gemm (alpha = scale, transB = 1, mask as
 * the broadcast C input) that `exact`'s decomposed graph starts with (graphs.ts), run on its own so selection
 * methods (topk-exact, grover-topk) score every key at onnxruntime's fp32 GEMM speed instead of a JS loop.
 *
 * Two phases, like the mechanisms that use it: `prepareOrtKeys` binds K once as an ORT tensor (over the
 * caller's array — no copy) and builds the sessions; `ortLogits` runs a query set against it. Results are
 * m×n row-major float32 logits with −∞ where a key is causal-invisible (bottom-right aligned, applied in JS
 * after the Gemm: it touches only the invisible triangle) or masked with −∞. `ortTopLogits` runs the same
 * Gemm followed by ONNX TopK, so a selection method gets each row's best entries without the m×n scores
 * ever reaching JS (measured at n = 2^20, m = 16, d = 64, one thread: Gemm + TopK ≈ Gemm alone, while
 * handing the 64 MiB of scores to JS and scanning them there cost ~1.5× the Gemm again).
 *
 * One intra-op thread by default, for the reason `exact` has (mechanisms/exact.ts): every qattn mechanism is
 * compared per core, and ORT's spinning pool makes timings on a busy second core erratic.
 *
 * float32 caveat: |q·k| beyond ~3.4e38 overflows to ±∞ (or NaN once added to a −∞ mask or summed with the
 * opposite infinity) at a visible key. ortLogits does not hide that: such entries stay non-finite, and a caller
 * that needs exact order there re-evaluates in float64 (topk-exact does, see `float32LogitError`).
 */
import type * as Ort from 'onnxruntime-node';
import { DataType, attr, encodeModel, graph, model, node, opset, tensorValueInfo } from '../../../onnx/index.ts';
import type { KvInput, QueryInput } from '../../types.ts';
import { cachedSession, loadOrt, ortUnavailableReason } from './sessions.ts';

/**
 * Most scores one ORT run produces (2^24 float32 = 64 MiB). Longer products are run in key blocks of
 * ⌊SCORE_BLOCK / m⌋ keys (every block reads its K rows once, so K is still streamed once per call) and copied
 * into the caller's m×n buffer; a block this size stays in the last-level cache while it is copied.
 */
export const SCORE_BLOCK = 2 ** 24;

/** K bound for the score product: the cache, its scale, and (where ORT runs) the K tensor and sessions. */
export interface OrtKeys {
  readonly kv: KvInput;
  /** Effective score scale (kv.scale or 1/√d), the Gemm's alpha as float32. */
  readonly scale: number;
  /** onnxruntime intra-op threads of the sessions used. */
  readonly threads: number;
  /** K [n×d] as an ORT tensor over kv.k (no copy); null where ORT is unavailable (JS loop). */
  readonly kTensor: Ort.Tensor | null;
  /** The score session without a mask input (built in prepare, so attend pays no build). */
  readonly plain: Ort.InferenceSession | null;
  /** The score-then-TopK session without a mask input (also built in prepare). */
  readonly top: Ort.InferenceSession | null;
}

/**
 * 'scores': S = Gemm(q, k, bias; alpha = scale, transB = 1) [m×n]. 'top': the same Gemm, then ONNX TopK
 * (largest, sorted) of each row with the count as an int64 input, so one session serves every k and only the
 * [m×count] values and indices leave onnxruntime — the m×n scores stay in its arena.
 */
function scoresGraph(kind: 'scores' | 'top', scale: number, hasBias: boolean): Uint8Array {
  const inputs = [tensorValueInfo('q', DataType.FLOAT, ['m', 'd']), tensorValueInfo('k', DataType.FLOAT, ['n', 'd'])];
  const gemmInputs = ['q', 'k'];
  if (hasBias) {
    inputs.push(tensorValueInfo('bias', DataType.FLOAT, ['bm', 'n']));
    gemmInputs.push('bias');
  }
  const nodes = [node('Gemm', gemmInputs, ['s'], { attributes: [attr.float('alpha', scale), attr.int('transB', 1)] })];
  let outputs = [tensorValueInfo('s', DataType.FLOAT, ['m', 'n'])];
  if (kind === 'top') {
    inputs.push(tensorValueInfo('count', DataType.INT64, [1]));
    nodes.push(node('TopK', ['s', 'count'], ['values', 'indices'], { attributes: [attr.int('axis', -1), attr.int('largest', 1), attr.int('sorted', 1)] }));
    outputs = [tensorValueInfo('values', DataType.FLOAT, ['m', 'c']), tensorValueInfo('indices', DataType.INT64, ['m', 'c'])];
  }
  return encodeModel(model({ graph: graph({ name: `qattn_${kind}`, nodes, inputs, outputs }), opsets: [opset('', 17)] }));
}

function scoresSession(kind: 'scores' | 'top', scale: number, hasBias: boolean, threads: number): Promise<Ort.InferenceSession> {
  return cachedSession(`${kind}|bias=${hasBias}|scale=${Math.fround(scale)}`, () => scoresGraph(kind, scale, hasBias), threads);
}

/** Why ortLogits would use its JS loop here (one line), or null when it runs in onnxruntime. */
export function ortLogitsCannotRunReason(): string | null {
  return ortUnavailableReason();
}

/**
 * Binds K for the score product: an ORT tensor over kv.k and the mask-free session. O(1) work on K itself
 * (nothing is copied; onnxruntime-node reads the caller's buffer).
 */
export async function prepareOrtKeys(kv: KvInput, threads = 1): Promise<OrtKeys> {
  const scale = kv.scale ?? 1 / Math.sqrt(kv.d);
  const ort = loadOrt();
  if (ort instanceof Error) return { kv, scale, threads, kTensor: null, plain: null, top: null };
  const kTensor = new ort.Tensor('float32', kv.k, [kv.n, kv.d]);
  const [plain, top] = await Promise.all([scoresSession('scores', scale, false, threads), scoresSession('top', scale, false, threads)]);
  return { kv, scale, threads, kTensor, plain, top };
}

/** Keys per ORT run for m queries (the whole cache when m·n ≤ blockScores). */
export function scoreBlockKeys(m: number, n: number, blockScores = SCORE_BLOCK): number {
  return Math.min(n, Math.max(1, Math.floor(blockScores / m)));
}

/** Sets −∞ at causal-invisible keys j ≥ i + n − m + 1 of rows [0, m) of an m×width block of keys [j0, j0 + width). */
function applyCausal(s: Float32Array, m: number, n: number, j0: number, width: number): void {
  for (let i = 0; i < m; i++) {
    const from = Math.max(0, i + n - m + 1 - j0);
    if (from < width) s.fill(-Infinity, i * width + from, (i + 1) * width);
  }
}

/** Float64 scores rounded to float32 into an m×width block: the JS loop where onnxruntime is unavailable. */
function jsBlock(keys: OrtKeys, query: QueryInput, j0: number, width: number, out: Float32Array): void {
  const { k, d, n } = keys.kv, { q, m, mask } = query;
  const rowMask = mask !== undefined && mask.length === n;
  for (let i = 0; i < m; i++) {
    const qo = i * d, mo = mask ? (rowMask ? 0 : i * n) : 0;
    for (let t = 0; t < width; t++) {
      const j = j0 + t, ko = j * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += q[qo + c]! * k[ko + c]!;
      out[i * width + t] = s * keys.scale + (mask ? mask[mo + j]! : 0);
    }
  }
}

/** The mask columns [j0, j0 + width) as a [bm × width] tensor (a copy only when the block is narrower than n). */
function maskBlock(ort: typeof Ort, mask: Float32Array, m: number, n: number, j0: number, width: number): Ort.Tensor {
  const rows = mask.length === n ? 1 : m;
  if (width === n) return new ort.Tensor('float32', mask, [rows, n]);
  const blk = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) blk.set(mask.subarray(r * n + j0, r * n + j0 + width), r * width);
  return new ort.Tensor('float32', blk, [rows, width]);
}

/** Feeds of the score Gemm for keys [j0, j0 + width): tensors over the caller's arrays (mask columns copied if narrower). */
function scoreFeeds(ort: typeof Ort, keys: OrtKeys, query: QueryInput, j0: number, width: number): Record<string, Ort.Tensor> {
  const { n, d } = keys.kv, { m } = query;
  const kT = width === n ? keys.kTensor! : new ort.Tensor('float32', keys.kv.k.subarray(j0 * d, (j0 + width) * d), [width, d]);
  const feeds: Record<string, Ort.Tensor> = { q: new ort.Tensor('float32', query.q, [m, d]), k: kT };
  if (query.mask) feeds.bias = maskBlock(ort, query.mask, m, n, j0, width);
  return feeds;
}

/**
 * Logits of the m queries against keys [j0, j0 + width) as an m×width row-major block in `out` (which must
 * hold m·width values; a fresh array if omitted): the building block of ortLogits, for callers that consume
 * scores block by block (bounded memory at any n). −∞ at causal-invisible and −∞-masked keys.
 */
export async function ortLogitsBlock(keys: OrtKeys, query: QueryInput, j0: number, width: number, out?: Float32Array): Promise<Float32Array> {
  const { n, d } = keys.kv, { m } = query;
  if (!(j0 >= 0 && width >= 1 && j0 + width <= n)) throw new Error(`internal: score block [${j0}, ${j0 + width}) outside [0, ${n})`);
  const dst = out ?? new Float32Array(m * width);
  if (dst.length !== m * width) throw new Error(`internal: score block buffer holds ${dst.length} values, expected ${m * width}`);
  const ort = loadOrt();
  if (keys.kTensor === null || ort instanceof Error) {
    jsBlock(keys, query, j0, width, dst);
  } else {
    const feeds = scoreFeeds(ort, keys, query, j0, width);
    const session = query.mask ? await scoresSession('scores', keys.scale, true, keys.threads) : keys.plain!;
    // ORT writes the Gemm straight into `dst` (a pre-allocated output), so no m×width copy is made here.
    const result = await session.run(feeds, { s: new ort.Tensor('float32', dst, [m, width]) });
    const s = result.s;
    if (!s || !(s.data instanceof Float32Array) || s.data.length !== m * width) {
      throw new Error(`internal: ORT score graph returned ${s ? `${s.type} [${s.dims.join(',')}]` : 'no output'}`);
    }
    if (s.data !== dst && s.data.buffer !== dst.buffer) dst.set(s.data);
  }
  if (query.causal) applyCausal(dst, m, n, j0, width);
  return dst;
}

/**
 * All m×n scaled logits q·k·scale + mask (row-major), −∞ at causal-invisible and −∞-masked positions.
 * onnxruntime's Gemm (float32 accumulation) where the binding loaded, else a JS loop (float64 rounded to
 * float32). Size never forces the JS loop: products beyond `blockScores` (SCORE_BLOCK; smaller only in tests)
 * are run in key blocks and copied into `out`, so onnxruntime never holds more than that many scores.
 */
export async function ortLogits(keys: OrtKeys, query: QueryInput, out?: Float32Array, blockScores = SCORE_BLOCK): Promise<Float32Array> {
  const { n } = keys.kv, { m } = query;
  const dst = out ?? new Float32Array(m * n);
  if (dst.length !== m * n) throw new Error(`internal: logits buffer holds ${dst.length} values, expected m×n = ${m * n}`);
  const width = scoreBlockKeys(m, n, blockScores);
  if (width === n) return ortLogitsBlock(keys, query, 0, n, dst);
  const blk = new Float32Array(m * width);
  for (let j0 = 0; j0 < n; j0 += width) {
    const w = Math.min(width, n - j0);
    const b = await ortLogitsBlock(keys, query, j0, w, w === width ? blk : blk.subarray(0, m * w));
    for (let i = 0; i < m; i++) dst.set(b.subarray(i * w, (i + 1) * w), i * n + j0);
  }
  return dst;
}

function normGraph(): Uint8Array {
  const nodes = [
    node('ReduceSumSquare', ['x'], ['sq'], { attributes: [attr.ints('axes', [1]), attr.int('keepdims', 0)] }),
    node('ReduceMax', ['sq'], ['max'], { attributes: [attr.int('keepdims', 1)] }),
  ];
  const g = graph({
    name: 'qattn_max_row_norm', nodes,
    inputs: [tensorValueInfo('x', DataType.FLOAT, ['rows', 'd'])],
    outputs: [tensorValueInfo('max', DataType.FLOAT, [1])],
  });
  return encodeModel(model({ graph: g, opsets: [opset('', 17)] }));
}

/** Largest row norm of a row-major [rows × d] array in float64 (the JS loop; exact up to float64 rounding). */
export function maxRowNormJs(x: Float32Array, d: number): number {
  let best = 0;
  for (let o = 0; o < x.length; o += d) {
    let a0 = 0, a1 = 0, t = 0;
    for (; t + 1 < d; t += 2) {
      a0 += x[o + t]! * x[o + t]!;
      a1 += x[o + t + 1]! * x[o + t + 1]!;
    }
    if (t < d) a0 += x[o + t]! * x[o + t]!;
    if (a0 + a1 > best) best = a0 + a1;
  }
  return Math.sqrt(best);
}

/**
 * An upper bound on max_j ‖x_j‖ over the rows of x [rows × d] — what float32LogitError needs of the keys.
 * onnxruntime's ReduceSumSquare + ReduceMax where it is loaded (~3× the JS loop's speed: one streaming pass),
 * its float32 sum of squares inflated by (1 + (d + 2)·2^-23) so it stays an upper bound; the JS loop
 * (float64) otherwise, or where a squared norm could overflow float32.
 */
export async function maxRowNorm(x: Float32Array, rows: number, d: number, threads = 1): Promise<number> {
  const ort = loadOrt();
  if (ort instanceof Error || rows === 0) return maxRowNormJs(x, d);
  const session = await cachedSession('max-row-norm', normGraph, threads);
  const r = (await session.run({ x: new ort.Tensor('float32', x, [rows, d]) })).max;
  if (!r || !(r.data instanceof Float32Array)) throw new Error('internal: ORT max-row-norm graph returned no float32 output');
  const sq = r.data[0]!;
  if (!Number.isFinite(sq) || sq > 1e37) return maxRowNormJs(x, d);
  return Math.sqrt(sq * (1 + (d + 2) * 2 ** -23));
}

/** The `count` largest float32 logits of each query row over a key range, best first. */
export interface TopLogits {
  /** Entries per row (min(count, width)). */
  readonly count: number;
  /** [m × count] logits, descending per row (−∞ where fewer keys are open). */
  readonly values: Float32Array;
  /** [m × count] key indices (global: j0 already added), aligned with values. */
  readonly indices: Int32Array;
}

/**
 * The `count` largest logits q·k·scale + mask of each of the m query rows over keys [j0, j0 + width), from
 * onnxruntime's Gemm followed by its TopK (the scores never reach JS). `query.causal` is NOT applied: pass a
 * key range every row may see. Needs onnxruntime (ortLogitsCannotRunReason() === null). Order among equal
 * float32 values is onnxruntime's; callers that need exact ranks settle near-ties in float64
 * (float32LogitError).
 */
export async function ortTopLogits(keys: OrtKeys, query: QueryInput, j0: number, width: number, count: number): Promise<TopLogits> {
  const { n } = keys.kv, { m } = query;
  if (!(j0 >= 0 && width >= 1 && j0 + width <= n)) throw new Error(`internal: score block [${j0}, ${j0 + width}) outside [0, ${n})`);
  const ort = loadOrt();
  if (keys.kTensor === null || keys.top === null || ort instanceof Error) throw new Error('internal: ortTopLogits without onnxruntime');
  const c = Math.min(Math.max(1, count), width);
  const feeds = scoreFeeds(ort, keys, query, j0, width);
  feeds.count = new ort.Tensor('int64', BigInt64Array.of(BigInt(c)), [1]);
  const session = query.mask ? await scoresSession('top', keys.scale, true, keys.threads) : keys.top;
  const result = await session.run(feeds);
  const values = result.values, idx = result.indices;
  if (!values || !(values.data instanceof Float32Array) || values.data.length !== m * c || !idx || !(idx.data instanceof BigInt64Array) || idx.data.length !== m * c) {
    throw new Error(`internal: ORT TopK graph returned ${values ? `${values.type} [${values.dims.join(',')}]` : 'no values'}`);
  }
  const raw = idx.data;
  const indices = new Int32Array(m * c);
  for (let t = 0; t < indices.length; t++) indices[t] = Number(raw[t]!) + j0;
  return { count: c, values: values.data, indices };
}

/**
 * Coefficients of a bound |float32 logit − exact logit| ≤ a + c·|logit| for a query of norm qNorm against any
 * key of norm ≤ kMax: the Gemm's dot product (γ_d ≈ d·u relative to Σ|q_t·k_t| ≤ ‖q‖·‖k‖, in any summation
 * order — Higham, Accuracy and Stability of Numerical Algorithms, 2002, §3.1), alpha rounded to float32 and
 * the multiply by it (2u on scale·|q·k| ≤ scale·‖q‖·kMax), and the final mask add (u on the result), with
 * u = 2^-24 — each term doubled for margin. It holds for the JS loop too (one rounding, u·|logit|), and only
 * while nothing overflows: scale·‖q‖·kMax and ‖q‖·kMax (plus the largest |mask|) far below 3.4e38.
 * Selection methods use it to know which float32 near-ties to settle in float64.
 */
export function float32LogitError(qNorm: number, d: number, scale: number, kMax: number): { a: number; c: number } {
  const u = 2 ** -24;
  return { a: 2 * (d + 2) * u * scale * qNorm * kMax, c: 2 * u };
}

/** Magnitudes the float32 Gemm is trusted with (float32's largest finite value is 3.4e38). */
export const FLOAT32_SAFE = 1e37;

/** Largest |finite mask value| (0 without a mask): the overflow check of the float32 scores needs it. */
export function maxAbsMask(mask: Float32Array | undefined): number {
  let best = 0;
  if (mask) for (let t = 0; t < mask.length; t++) { const x = Math.abs(mask[t]!); if (x > best && x !== Infinity) best = x; }
  return best;
}

/**
 * Whether no float32 logit of a query of norm qNorm against keys of norm ≤ kMax can overflow: every partial
 * sum is ≤ ‖q‖·kMax, so far below float32's range (with the mask added) the Gemm's order is usable.
 */
export function float32LogitsSafe(qNorm: number, kMax: number, scale: number, maskMax: number): boolean {
  return qNorm * kMax < FLOAT32_SAFE && qNorm * kMax * scale + maskMax < FLOAT32_SAFE;
}
