/**
 * The exact answer every cell is scored against. By default the float64 reference (the source of truth,
 * attention/kernels/reference.ts), computed once per (workload, n) and shared by all mechanisms; above a cost
 * limit — large prefill, where it is O(n²·d) in float64 — the `exact` mechanism's fast path stands in, and
 * records say which (`fidelity.reference`). With the float64 reference the exact attention weights of each
 * query are kept (float32, when they fit the cache limit) for the selection metrics.
 */
import { referenceWeights } from '../attention/kernels/reference.ts';
import type { AttentionInput } from '../attention/types.ts';
import type { ReferencePool } from './reference-pool.ts';
import { referenceRows, type ReferenceRows } from './reference-rows.ts';

export type ReferenceKind = 'float64' | 'exact-fast-path';

export interface Reference {
  readonly kind: ReferenceKind;
  /** O* [m×dv]. */
  readonly out: Float64Array | Float32Array;
  /** Exact attention weights of query i (float64 reference only; null with the fast path). */
  readonly weights: ((i: number) => ArrayLike<number>) | null;
  readonly ms: number;
  /** Threads that computed it (1 = main thread only). */
  readonly threads: number;
}

export interface ReferencePolicy {
  /** Float64 reference only up to this many multiply-adds (m·n·d); above it the exact fast path. */
  readonly maxFloat64Macs: number;
  /** Keep the m×n weights (float32) when m·n is at most this; otherwise recompute a row when asked. */
  readonly maxCachedWeights: number;
  /** Split rows over the worker pool from this many multiply-adds on (below, thread start-up dominates). */
  readonly parallelMinMacs: number;
}

// 2^32 multiply-adds is a few seconds on two cores; 2^24 float32 weights is 64 MiB.
export const DEFAULT_REFERENCE_POLICY: ReferencePolicy = { maxFloat64Macs: 2 ** 32, maxCachedWeights: 2 ** 24, parallelMinMacs: 2 ** 26 };

export function referenceKindFor(input: AttentionInput, policy: ReferencePolicy): ReferenceKind {
  return input.m * input.n * input.d <= policy.maxFloat64Macs ? 'float64' : 'exact-fast-path';
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

/** The float64 reference, its rows split between the pool's workers and this thread. */
async function float64Rows(input: AttentionInput, keep: boolean, pool: ReferencePool | null): Promise<{ parts: ReferenceRows[]; threads: number }> {
  const parts = blocks(input.m, (pool?.size ?? 0) + 1);
  const local = parts.pop()!;
  const remote = parts.map(([i0, i1], w) => pool!.rows(w, input, i0, i1, keep).catch(() => referenceRows(input, i0, i1, keep)));
  const mine = referenceRows(input, local[0], local[1], keep);
  return { parts: [...(await Promise.all(remote)), mine], threads: parts.length + 1 };
}

function concat<T extends Float64Array | Float32Array>(parts: readonly T[], make: (len: number) => T): T {
  const out = make(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
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
    return { kind: 'exact-fast-path', out, weights: null, ms: performance.now() - t0, threads: 1 };
  }
  const keep = input.m * input.n <= policy.maxCachedWeights;
  const parallel = input.m > 1 && input.m * input.n * input.d >= policy.parallelMinMacs;
  const { parts, threads } = await float64Rows(input, keep, parallel ? pool() : null);
  const out = concat(parts.map((p) => p.out), (len) => new Float64Array(len));
  const cached = keep ? concat(parts.map((p) => p.weights!), (len) => new Float32Array(len)) : null;
  const n = input.n;
  const weights = cached ? (i: number) => cached.subarray(i * n, (i + 1) * n) : (i: number) => referenceWeights(input, i);
  return { kind: 'float64', out, weights, ms: performance.now() - t0, threads };
}
