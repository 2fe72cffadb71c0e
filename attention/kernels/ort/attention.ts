/**
 * Exact attention through onnxruntime: picks the graph an input needs (graphs.ts), feeds the caller's arrays
 * without copying, and applies qattn's conventions ORT does not share.
 *
 * Measured with onnxruntime-node 1.30 against the float64 reference (test/exact.test.ts keeps these honest):
 * - MultiHeadAttention's `unidirectional` is top-left aligned, so bottom-right causal with 1 < m < n runs
 *   in the decomposed graph; with m = 1 bottom-right causal sees every key, so it is not causal at all.
 * - attention_bias must be [1,1,m,n]: a length-n padding mask would have to be expanded to m×n in JS,
 *   which costs as much as the attention — the decomposed graph broadcasts it instead.
 * - A row whose every visible score is −∞ comes out NaN (softmax of all −∞); qattn's convention is a zero
 *   row (attention/math.ts softmaxInPlace), so such rows are found from the mask and zeroed.
 */
import type * as Ort from 'onnxruntime-node';
import type { AttentionInput, KvInput } from '../../types.ts';
import { effectiveScale, visibleKeys } from '../../validate.ts';
import type { OrtGraphKind, OrtSignature } from './graphs.ts';
import { getSession, loadOrt, ortUnavailableReason } from './sessions.ts';

/**
 * Most m·n scores a graph that materialises them may hold: 2^26 float32 = 256 MiB per buffer (ORT keeps a
 * few such buffers alive between nodes). Beyond it, prefill without mask or causal takes the fused MHA path
 * (blocked like FlashAttention) and everything else the key-blocked 'lse' graph (split-K, below).
 */
export const ORT_MAX_SCORES = 2 ** 26;

export type OrtPath = 'ort-mha' | 'ort-decomposed' | 'ort-blocked';

export interface OrtPlan {
  readonly sig: OrtSignature;
  /** Whether the graph holds all m×n scores at once (the decomposed graph, and MHA with a mask or causal). */
  readonly materialisesScores: boolean;
}

/**
 * The graph `input` runs in. `force = 'decomposed'` runs the plain-op graph even where MHA could (a
 * cross-check of the fused kernel); the reverse is not offered, since MHA is wrong for causal 1 < m < n.
 */
export function planOrt(input: AttentionInput, force?: 'decomposed', maxScores = ORT_MAX_SCORES): OrtPlan {
  const { m, n, mask } = input;
  const causal = !!input.causal && m > 1; // m = 1: bottom-right causal sees all n keys
  const rowMask = mask !== undefined && mask.length === n && m > 1;
  const hasBias = mask !== undefined;
  const scale = effectiveScale(input);
  // Beyond the score limit: fused MHA for prefill without mask or causal (its own blocking holds no m×n
  // buffer); otherwise key blocks of the 'lse' graph merged in float64. Not MHA for decode there: MHA
  // re-lays-out K and V per call, a second copy of the whole cache (measured: 2^24 keys, m = 16, d = 64 peaked
  // at 17.7 GiB through MHA, 9.4 GiB in key blocks). Decode over more than LSE_FROM_KEYS keys takes the key
  // blocks too: as fast as one decomposed graph, and its float32 sums stay short (measured at n = 2^20,
  // m = 16, a needle key: relL2 2.0e-3 decomposed, 2.9e-5 in blocks of 2^14 keys, 240–300 ms either way).
  const decode = m <= DECODE_MAX_QUERIES;
  if (!force && (m * n > maxScores || (decode && n > LSE_FROM_KEYS))) {
    const mha = !decode && !hasBias && !causal;
    return mha
      ? { sig: { kind: 'mha', causal: false, hasBias: false, scale }, materialisesScores: false }
      : { sig: { kind: 'lse', causal: false, hasBias: true, scale }, materialisesScores: false };
  }
  // Decode (few queries over many keys): the decomposed Gemm–Softmax–MatMul graph is ~2× faster than fused
  // MHA on CPU and scales linearly in n, because MHA re-lays-out K and V on every call (measured with one
  // thread, m = 16, d = 64: n = 2^12…2^17 → MHA 0.45…22.5 ms, decomposed 0.27…12.7 ms). Its m×n score
  // buffer is small while m·n stays under ORT_MAX_SCORES.
  const kind: OrtGraphKind = force ?? (rowMask || (causal && m !== n) || decode ? 'decomposed' : 'mha');
  return {
    sig: { kind, causal, hasBias, scale },
    materialisesScores: kind !== 'mha' || hasBias || causal,
  };
}

/** Up to this many queries, auto prefers the decomposed graph (decode); measured break-even ≈ 64–256. */
export const DECODE_MAX_QUERIES = 64;

/** Decode over more keys than this runs in key blocks (planOrt). */
export const LSE_FROM_KEYS = 2 ** 15;

/** Keys per block of the 'lse' graph: float32 sums of at most this many terms. */
export const LSE_BLOCK_KEYS = 2 ** 14;

/** Why ORT cannot take this input (one line), or null if it can. */
export function ortCannotRunReason(input: AttentionInput, force?: 'decomposed'): string | null {
  const unavailable = ortUnavailableReason();
  if (unavailable) return unavailable;
  const scores = input.m * input.n;
  if (force && scores > ORT_MAX_SCORES) {
    return `the ${force} ORT graph would hold m×n = ${scores} scores (limit ${ORT_MAX_SCORES}); use path=auto (key blocks)`;
  }
  return null;
}

/** Queries whose every visible key has mask −∞ (their output row must be 0). */
export function fullyMaskedRows(input: AttentionInput): number[] {
  const { m, n, mask } = input;
  if (!mask) return [];
  const rows: number[] = [];
  if (mask.length === n) {
    let firstOpen = 0;
    while (firstOpen < n && mask[firstOpen] === -Infinity) firstOpen++;
    for (let i = 0; i < m; i++) if (firstOpen >= visibleKeys(input, i)) rows.push(i);
    return rows;
  }
  for (let i = 0; i < m; i++) {
    const end = visibleKeys(input, i), base = i * n;
    let j = 0;
    while (j < end && mask[base + j] === -Infinity) j++;
    if (j === end) rows.push(i);
  }
  return rows;
}

/**
 * K and V bound as ORT tensors once per cache (`exact`'s prepare), in both layouts the graphs take: [n, ·] for
 * the decomposed graph and [1, n, ·] for MHA. Tensors over the caller's arrays: nothing is copied.
 */
export interface OrtKv {
  readonly kv: KvInput;
  readonly k2: Ort.Tensor;
  readonly v2: Ort.Tensor;
  readonly k3: Ort.Tensor;
  readonly v3: Ort.Tensor;
}

/** Binds K and V (null where onnxruntime is unavailable). */
export function bindOrtKv(kv: KvInput): OrtKv | null {
  const ort = loadOrt();
  if (ort instanceof Error) return null;
  const { k, v, n, d, dv } = kv;
  return {
    kv,
    k2: new ort.Tensor('float32', k, [n, d]), v2: new ort.Tensor('float32', v, [n, dv]),
    k3: new ort.Tensor('float32', k, [1, n, d]), v3: new ort.Tensor('float32', v, [1, n, dv]),
  };
}

/** Sessions that have had their first run (a session identity, not data: it never changes a result). */
const warmed = new WeakSet<Ort.InferenceSession>();

/**
 * Builds (or finds cached) the sessions of every mask-free signature at this scale — both graphs, causal or
 * not — so the first attend of a prepared cache pays no graph build (a few ms each, ~0.1 s for the first
 * session of a process, which loads the binding). Sessions with a mask input are built on first use.
 */
export async function warmOrtSessions(scale: number, threads: number): Promise<void> {
  const ort = loadOrt();
  if (ort instanceof Error) return;
  // One 1×1 run per session as well: onnxruntime initialises a kernel's state on its first run (measured:
  // the first N = 4096 prefill attend after a bare build took ~12 ms more than the next, ~7 ms after this).
  const one = new Float32Array(1);
  await getSession({ kind: 'lse', causal: false, hasBias: true, scale }, threads); // built, not run: it needs a bias
  for (const kind of ['mha', 'decomposed'] as const) {
    for (const causal of [false, true]) {
      const session = await getSession({ kind, causal, hasBias: false, scale }, threads);
      if (warmed.has(session)) continue;
      warmed.add(session);
      const dims = kind === 'mha' ? [1, 1, 1] : [1, 1];
      const t = new ort.Tensor('float32', one, dims);
      await session.run({ q: t, k: t, v: t });
    }
  }
}

function feeds(ort: typeof Ort, input: AttentionInput, kind: OrtGraphKind, bound?: OrtKv): Record<string, Ort.Tensor> {
  const { q, k, v, m, n, d, dv, mask } = input;
  const lead = kind === 'mha' ? [1] : [];
  const own = bound && bound.kv.k === k && bound.kv.v === v ? bound : undefined;
  const f: Record<string, Ort.Tensor> = {
    q: new ort.Tensor('float32', q, [...lead, m, d]),
    k: own ? (kind === 'mha' ? own.k3 : own.k2) : new ort.Tensor('float32', k, [...lead, n, d]),
    v: own ? (kind === 'mha' ? own.v3 : own.v2) : new ort.Tensor('float32', v, [...lead, n, dv]),
  };
  if (mask) {
    const rows = mask.length / n; // 1 (broadcast row) or m; the MHA plan only sees rows = m
    f.bias = new ort.Tensor('float32', mask, kind === 'mha' ? [1, 1, rows, n] : [rows, n]);
  }
  return f;
}

/** Keys per 'lse' block for m queries: LSE_BLOCK_KEYS, fewer where m·LSE_BLOCK_KEYS > blockScores (at least 1). */
export function lseBlockKeys(m: number, n: number, blockScores = ORT_MAX_SCORES): number {
  return Math.min(n, LSE_BLOCK_KEYS, Math.max(1, Math.floor(blockScores / m)));
}

/** Keys every query sees: all n, or under bottom-right causal (m > 1) the first n − m + 1. */
function commonPrefix(input: AttentionInput): number {
  return input.causal && input.m > 1 ? input.n - input.m + 1 : input.n;
}

/**
 * The additive bias of keys [j0, j0 + w) as a tensor: the mask columns (a view for a broadcast row that needs
 * no causal cut, else a copy) with −∞ at causal-invisible keys; a shared zero row where neither applies.
 */
function blockBias(ort: typeof Ort, input: AttentionInput, j0: number, w: number, zeros: Float32Array): Ort.Tensor {
  const { m, n, mask } = input;
  const causalCut = j0 + w > commonPrefix(input);
  if (!causalCut) {
    if (!mask) return new ort.Tensor('float32', zeros.subarray(0, w), [1, w]);
    if (mask.length === n) return new ort.Tensor('float32', mask.subarray(j0, j0 + w), [1, w]);
  }
  const b = new Float32Array(m * w);
  for (let i = 0; i < m; i++) {
    const row = b.subarray(i * w, (i + 1) * w);
    if (mask) row.set(mask.length === n ? mask.subarray(j0, j0 + w) : mask.subarray(i * n + j0, i * n + j0 + w));
    const from = visibleKeys(input, i) - j0; // keys ≥ visible are cut
    if (from < w) row.fill(-Infinity, Math.max(0, from));
  }
  return new ort.Tensor('float32', b, [m, w]);
}

/**
 * Exact attention over key blocks of the 'lse' graph (split-K, graphs.ts), merged in float64: the way past
 * ORT_MAX_SCORES without a second copy of K and V (blocks are tensors over subarrays of the caller's arrays)
 * and without an m×n buffer (at most m × blockScores scores at a time). A block where a row sees no key has
 * row max −∞ and weight 0; a non-finite max or sum otherwise (float32 overflow) makes the row NaN, which
 * exact's output check turns into its streaming fallback.
 */
async function blockedAttention(ort: typeof Ort, input: AttentionInput, threads: number, blockScores: number): Promise<Float32Array> {
  const { q, k, v, m, n, d, dv } = input;
  const session = await getSession({ kind: 'lse', causal: false, hasBias: true, scale: effectiveScale(input) }, threads);
  const width = lseBlockKeys(m, n, blockScores);
  const zeros = new Float32Array(width);
  const acc = new Float64Array(m * dv), best = new Float64Array(m).fill(-Infinity), total = new Float64Array(m);
  const bad = new Uint8Array(m);
  const qT = new ort.Tensor('float32', q, [m, d]);
  // Blocks end at the common prefix, so the causal cut touches only the blocks after it.
  const cuts = [0];
  for (const end of [commonPrefix(input), n]) {
    while (cuts.at(-1)! < end) cuts.push(Math.min(end, cuts.at(-1)! + width));
  }
  for (let b = 0; b + 1 < cuts.length; b++) {
    const j0 = cuts[b]!, w = cuts[b + 1]! - j0;
    const r = await session.run({
      q: qT,
      k: new ort.Tensor('float32', k.subarray(j0 * d, (j0 + w) * d), [w, d]),
      v: new ort.Tensor('float32', v.subarray(j0 * dv, (j0 + w) * dv), [w, dv]),
      bias: blockBias(ort, input, j0, w, zeros),
    });
    const o = r.o!.data as Float32Array, mx = r.mx!.data as Float32Array, sum = r.sum!.data as Float32Array;
    for (let i = 0; i < m; i++) {
      const mi = mx[i]!, si = sum[i]!;
      if (mi === -Infinity) continue; // no visible key in this block
      if (!Number.isFinite(mi) || !Number.isFinite(si)) {
        bad[i] = 1;
        continue;
      }
      // Rescale what is accumulated so far to the larger max (online softmax), then add this block.
      const top = Math.max(best[i]!, mi);
      const old = Math.exp(best[i]! - top), here = si * Math.exp(mi - top);
      total[i] = total[i]! * old + here;
      for (let c = 0; c < dv; c++) acc[i * dv + c] = acc[i * dv + c]! * old + here * o[i * dv + c]!;
      best[i] = top;
    }
  }
  const out = new Float32Array(m * dv);
  for (let i = 0; i < m; i++) {
    if (bad[i]) out.fill(NaN, i * dv, (i + 1) * dv);
    else if (total[i]! > 0) for (let c = 0; c < dv; c++) out[i * dv + c] = acc[i * dv + c]! / total[i]!;
  }
  return out;
}

/**
 * Exact attention in onnxruntime (float32). Call only when ortCannotRunReason(input, force) is null.
 * Returns O [m×dv] and which graph ran. `bound` (bindOrtKv of this input's K and V) reuses prepared tensors.
 * `blockScores` (ORT_MAX_SCORES; smaller only in tests) is where key blocks start.
 */
export async function ortAttention(
  input: AttentionInput,
  force?: 'decomposed',
  threads = 0,
  bound?: OrtKv,
  blockScores = ORT_MAX_SCORES,
): Promise<{ out: Float32Array; path: OrtPath }> {
  const ort = loadOrt();
  if (ort instanceof Error) throw ort;
  const { sig } = planOrt(input, force, blockScores);
  if (sig.kind === 'lse') return { out: await blockedAttention(ort, input, threads, blockScores), path: 'ort-blocked' };
  const session = await getSession(sig, threads);
  const result = await session.run(feeds(ort, input, sig.kind, bound));
  const o = result.o;
  if (!o || !(o.data instanceof Float32Array) || o.data.length !== input.m * input.dv) {
    throw new Error(`internal: ORT ${sig.kind} attention returned ${o ? `${o.type} [${o.dims.join(',')}]` : 'no output'}`);
  }
  const out = o.data;
  for (const i of fullyMaskedRows(input)) out.fill(0, i * input.dv, (i + 1) * input.dv);
  return { out, path: sig.kind === 'mha' ? 'ort-mha' : 'ort-decomposed' };
}
