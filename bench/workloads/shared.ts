/**
 * Helpers shared by the synthetic workloads: per-request seeded streams and a cheap random rotation.
 */
import { createRng, type Rng } from '../../core/rng.ts';
import type { WorkloadRequest } from './types.ts';

/** FNV-1a over a string, to turn a workload name into a 32-bit salt. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The generator for one (workload, mode, n, m, d, seed). Every field is mixed in so that two cells never share
 * a stream by accident, and Q, K, V each get their own fork (`streams.q` …) so that changing how one matrix
 * is built never shifts another's numbers.
 */
export function workloadRng(name: string, req: WorkloadRequest): Rng {
  const salt = fnv1a(`${name}|${req.mode}|${req.n}|${req.m}|${req.d}|${req.causal ? 1 : 0}`);
  return createRng(req.seed).fork(salt);
}

/** Salts for `rng.fork`, one per matrix or structural choice. */
export const STREAM = { q: 1, k: 2, v: 3, structure: 4, rotation: 5 } as const;

/**
 * Applies one random Householder reflection H = I − 2uuᵀ to every row of each matrix (rows of width d). H is
 * orthogonal, so all dot products q·k are unchanged, but structure a generator placed on coordinate axes (a
 * salience channel on axis 0) is spread over every coordinate — O(rows·d) instead of O(rows·d²) for a full
 * random rotation.
 */
export function reflectRows(rng: Rng, d: number, ...mats: Float32Array[]): void {
  const u = new Float64Array(d);
  let norm = 0;
  for (let t = 0; t < d; t++) {
    u[t] = rng.normal();
    norm += u[t]! * u[t]!;
  }
  norm = Math.sqrt(norm);
  for (let t = 0; t < d; t++) u[t]! /= norm;
  for (const a of mats) {
    for (let o = 0; o < a.length; o += d) {
      let p = 0;
      for (let t = 0; t < d; t++) p += u[t]! * a[o + t]!;
      for (let t = 0; t < d; t++) a[o + t] = a[o + t]! - 2 * p * u[t]!;
    }
  }
}

/** A uniformly random permutation of 0…n−1 (Fisher–Yates; 4 bytes per key, so it scales to n = 2^24). */
export function permutation(rng: Rng, n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const r = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[r]!;
    p[r] = t;
  }
  return p;
}

/** `count` distinct integers from [0, n), in random order (Floyd's algorithm: O(count) memory for any n; for
 * count ≈ n use `permutation`). */
export function sampleDistinct(rng: Rng, n: number, count: number): number[] {
  const chosen = new Set<number>();
  const out: number[] = [];
  for (let j = n - count; j < n; j++) {
    const t = rng.int(j + 1);
    const pick = chosen.has(t) ? j : t;
    chosen.add(pick);
    out.push(pick);
  }
  // Floyd's order is biased towards large indices last; shuffle so position in `out` carries no information.
  for (let i = out.length - 1; i > 0; i--) {
    const r = rng.int(i + 1);
    [out[i], out[r]] = [out[r]!, out[i]!];
  }
  return out;
}
