/**
 * The exact answer every cell is scored against. By default the float64 reference (the source of truth,
 * attention/kernels/reference.ts), computed once per (workload, n) and shared by all mechanisms; above a cost
 * limit — large prefill, where it is O(n²·d) in float64 — the `exact` mechanism's fast path stands in, and
 * records say which (`fidelity.reference`). With the float64 reference each query's softmax is kept summarized
 * (bench/reference-rows.ts: max, normalizer and the largest weights) for the selection metrics.
 *
 * Memory: the reference holds O(m·dv + m·top) numbers, never the m·n weights. Rows are split over the worker
 * pool only while the input is small enough to copy once into shared memory for the workers (at n = 2^24,
 * d = 64, K and V are 8 GiB); above that the main thread computes every row.
 */
import type { AttentionInput } from '../attention/types.ts';
import type { ReferencePool } from './reference-pool.ts';
import { referenceRows, type ReferenceRows, type RowSummary } from './reference-rows.ts';

export type ReferenceKind = 'float64' | 'exact-fast-path';

export interface Reference {
  readonly kind: ReferenceKind;
  /** O* [m×dv]. */
  readonly out: Float64Array | Float32Array;
  /** The softmax summary of each query (float64 reference only; null with the fast path). */
  readonly rows: readonly RowSummary[] | null;
  readonly ms: number;
  /** Threads that computed it (1 = main thread only). */
  readonly threads: number;
}

export interface ReferencePolicy {
  /** Float64 reference only up to this many multiply-adds (m·n·d); above it the exact fast path. */
  readonly maxFloat64Macs: number;
  /** Largest weights kept per query: min(n, max(1024, ⌊maxSummaryWeights / m⌋)). */
  readonly maxSummaryWeights: number;
  /** Split rows over the worker pool from this many multiply-adds on (below, thread start-up dominates). */
  readonly parallelMinMacs: number;
  /** …and only while Q, K and V (copied once into shared memory for the workers) take at most this many bytes. */
  readonly maxWorkerInputBytes: number;
}

// 2^34 multiply-adds is decode at n = 2^24 with m = 16, d = 64: about 15 s on one core, a fraction of what
// generating that input and running ten mechanisms on it take. 2^21 summary weights are 16 MiB.
export const DEFAULT_REFERENCE_POLICY: ReferencePolicy = {
  maxFloat64Macs: 2 ** 34, maxSummaryWeights: 2 ** 21, parallelMinMacs: 2 ** 26, maxWorkerInputBytes: 2 ** 30,
};

export function referenceKindFor(input: Pick<AttentionInput, 'm' | 'n' | 'd'>, policy: ReferencePolicy): ReferenceKind {
  return input.m * input.n * input.d <= policy.maxFloat64Macs ? 'float64' : 'exact-fast-path';
}

/** How many of each query's largest weights the float64 reference keeps. */
export function summaryTop(m: number, n: number, policy: ReferencePolicy): number {
  return Math.min(n, Math.max(1024, Math.floor(policy.maxSummaryWeights / m)));
}

/** Bytes of Q, K and V. */
export function inputBytes(s: Pick<AttentionInput, 'm' | 'n' | 'd' | 'dv'>): number {
  return 4 * (s.m * s.d + s.n * (s.d + s.dv));
}

function useWorkers(s: Pick<AttentionInput, 'm' | 'n' | 'd' | 'dv'>, policy: ReferencePolicy): boolean {
  return s.m > 1 && s.m * s.n * s.d >= policy.parallelMinMacs && inputBytes(s) <= policy.maxWorkerInputBytes;
}

/**
 * What computing the reference adds to the process's memory at its peak, bytes, for `workers` worker threads:
 * the output and summaries, each thread's float64 logits row, and the workers' shared copy of the input.
 */
export function referenceBytes(s: Pick<AttentionInput, 'm' | 'n' | 'd' | 'dv'>, policy: ReferencePolicy, workers: number): number {
  if (referenceKindFor(s, policy) === 'exact-fast-path') return 4 * s.m * s.dv;
  const threads = useWorkers(s, policy) ? workers + 1 : 1;
  return 8 * s.m * (s.dv + summaryTop(s.m, s.n, policy)) + threads * 8 * s.n + (threads > 1 ? inputBytes(s) : 0);
}

/** Row blocks [i0, i1) for `parts` threads. */
function blocks(m: number, parts: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let p = 0; p < parts; p++) {
    const i0 = Math.floor((p * m) / parts), i1 = Math.floor(((p + 1) * m) / parts);
    if (i1 > i0) out.push([i0, i1]);
  }
  return out;
}

/** `a` copied into shared memory: posted to a worker it is shared, not cloned (a memcpy instead of a clone). */
function shared(a: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** The float64 reference, its rows split between the pool's workers and this thread. */
async function float64Rows(input: AttentionInput, top: number, pool: ReferencePool | null): Promise<{ parts: ReferenceRows[]; threads: number }> {
  const parts = blocks(input.m, (pool?.size ?? 0) + 1);
  const local = parts.pop()!;
  // Every worker reads one shared copy of Q, K and V (structured cloning 512 MiB per worker took seconds).
  const toPost = parts.length ? { ...input, q: shared(input.q), k: shared(input.k), v: shared(input.v), ...(input.mask ? { mask: shared(input.mask) } : {}) } : input;
  const remote = parts.map(([i0, i1], w) => pool!.rows(w, toPost, i0, i1, top).catch(() => referenceRows(input, i0, i1, top)));
  const mine = referenceRows(input, local[0], local[1], top);
  return { parts: [...(await Promise.all(remote)), mine], threads: parts.length + 1 };
}

/**
 * Computes the reference for `input`. `exactFastPath` runs the `exact` mechanism (only called above the
 * float64 limit). `pool` is only called when the work is big enough to split; it may return null (one thread).
 */
export async function computeReference(
  input: AttentionInput,
  policy: ReferencePolicy,
  pool: () => ReferencePool | null,
  exactFastPath: () => Promise<Float32Array>,
): Promise<Reference> {
  const t0 = performance.now();
  if (referenceKindFor(input, policy) === 'exact-fast-path') {
    const out = await exactFastPath();
    return { kind: 'exact-fast-path', out, rows: null, ms: performance.now() - t0, threads: 1 };
  }
  const top = summaryTop(input.m, input.n, policy);
  const { parts, threads } = await float64Rows(input, top, useWorkers(input, policy) ? pool() : null);
  const out = new Float64Array(input.m * input.dv);
  let off = 0;
  for (const p of parts) {
    out.set(p.out, off);
    off += p.out.length;
  }
  return { kind: 'float64', out, rows: parts.flatMap((p) => p.rows), ms: performance.now() - t0, threads };
}
