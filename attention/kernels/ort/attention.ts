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
 * few such buffers alive between nodes). Only the fused MHA path without mask or causal stays below this
 * regardless of n (it is blocked like FlashAttention); beyond the limit `exact` streams instead.
 */
export const ORT_MAX_SCORES = 2 ** 26;

export type OrtPath = 'ort-mha' | 'ort-decomposed';

export interface OrtPlan {
  readonly sig: OrtSignature;
  /** Whether the graph holds m×n scores (everything but the fused MHA path). */
  readonly materialisesScores: boolean;
}

/**
 * The graph `input` runs in. `force = 'decomposed'` runs the plain-op graph even where MHA could (a
 * cross-check of the fused kernel); the reverse is not offered, since MHA is wrong for causal 1 < m < n.
 */
export function planOrt(input: AttentionInput, force?: 'decomposed'): OrtPlan {
  const { m, n, mask } = input;
  const causal = !!input.causal && m > 1; // m = 1: bottom-right causal sees all n keys
  const rowMask = mask !== undefined && mask.length === n && m > 1;
  // Decode (few queries over many keys): the decomposed Gemm–Softmax–MatMul graph is ~2× faster than fused
  // MHA on CPU and scales linearly in n, because MHA re-lays-out K and V on every call (measured with one
  // thread, m = 16, d = 64: n = 2^12…2^17 → MHA 0.45…22.5 ms, decomposed 0.27…12.7 ms). Its m×n score
  // buffer is small while m·n stays under ORT_MAX_SCORES.
  const decode = m <= DECODE_MAX_QUERIES && m * n <= ORT_MAX_SCORES;
  const kind: OrtGraphKind = force ?? (rowMask || (causal && m !== n) || decode ? 'decomposed' : 'mha');
  const hasBias = mask !== undefined;
  return {
    sig: { kind, causal, hasBias, scale: effectiveScale(input) },
    materialisesScores: kind !== 'mha' || hasBias || causal,
  };
}

/** Up to this many queries, auto prefers the decomposed graph (decode); measured break-even ≈ 64–256. */
export const DECODE_MAX_QUERIES = 64;

/** Why ORT cannot take this input (one line), or null if it can. */
export function ortCannotRunReason(input: AttentionInput, force?: 'decomposed'): string | null {
  const unavailable = ortUnavailableReason();
  if (unavailable) return unavailable;
  const plan = planOrt(input, force);
  const scores = input.m * input.n;
  if (plan.materialisesScores && scores > ORT_MAX_SCORES) {
    return `the ${plan.sig.kind} ORT graph would hold m×n = ${scores} scores (limit ${ORT_MAX_SCORES}); use path=streaming`;
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

/**
 * Exact attention in onnxruntime (float32). Call only when ortCannotRunReason(input, force) is null.
 * Returns O [m×dv] and which graph ran. `bound` (bindOrtKv of this input's K and V) reuses prepared tensors.
 */
export async function ortAttention(
  input: AttentionInput,
  force?: 'decomposed',
  threads = 0,
  bound?: OrtKv,
): Promise<{ out: Float32Array; path: OrtPath }> {
  const ort = loadOrt();
  if (ort instanceof Error) throw ort;
  const { sig } = planOrt(input, force);
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
