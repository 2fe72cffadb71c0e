import { QattnError } from '../core/errors.ts';
import type { AttentionInput, KvInput, QueryInput } from './types.ts';

/** Index of the first NaN or ±Inf, or −1. */
export function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
}

function checkFinite(name: string, a: Float32Array): void {
  const i = firstNonFinite(a);
  if (i >= 0) throw new QattnError(`${name} contains ${Number.isNaN(a[i]!) ? 'NaN' : 'Inf'} at flat index ${i}`);
}

const positive = (k: string, x: number): void => {
  if (!Number.isInteger(x) || x < 1) throw new QattnError(`${k} must be a positive integer (empty tensors are not allowed), got ${x}`);
};

/** Checks the KV cache: shapes, finite K and V, scale. O(n·(d + dv)), once per prepare. */
export function validateKv(kv: KvInput): void {
  const { n, d, dv } = kv;
  for (const [k, x] of [['n', n], ['d', d], ['dv', dv]] as const) positive(k, x);
  if (kv.k.length !== n * d) throw new QattnError(`K has ${kv.k.length} values, expected n×d = ${n}×${d}`);
  if (kv.v.length !== n * dv) throw new QattnError(`V has ${kv.v.length} values, expected n×dv = ${n}×${dv}`);
  checkFinite('K', kv.k);
  checkFinite('V', kv.v);
  if (kv.scale !== undefined && !(Number.isFinite(kv.scale) && kv.scale > 0)) {
    throw new QattnError(`scale must be a positive finite number, got ${kv.scale}`);
  }
}

/** Checks a query against a (valid) cache: Q's shape and values, causal needing m ≤ n, the mask. O(m·d + mask). */
export function validateQuery(kv: KvInput, query: QueryInput): void {
  const { m } = query, { n, d } = kv;
  positive('m', m);
  if (query.q.length !== m * d) throw new QattnError(`Q has ${query.q.length} values, expected m×d = ${m}×${d}`);
  checkFinite('Q', query.q);
  if (query.causal && m > n) {
    throw new QattnError(`causal attention needs m ≤ n (bottom-right aligned: query i sees keys 0…i+n−m), got m=${m}, n=${n}`);
  }
  if (query.mask) {
    const len = query.mask.length;
    if (len !== n && len !== m * n) throw new QattnError(`mask has ${len} values, expected n = ${n} or m×n = ${m * n}`);
    for (let i = 0; i < len; i++) {
      const x = query.mask[i]!;
      if (Number.isNaN(x) || x === Infinity) throw new QattnError(`mask contains ${x} at flat index ${i} (only finite values and -Infinity are allowed)`);
    }
  }
}

/**
 * Checks shapes, finiteness and mask/causal consistency of a one-call attention input. Throws QattnError with one
 * line naming the problem. O(size of the input).
 */
export function validateInput(input: AttentionInput): void {
  positive('m', input.m);
  validateKv(input);
  validateQuery(input, input);
}

/** The scale actually used: input.scale or 1/√d. */
export function effectiveScale(input: AttentionInput): number {
  return input.scale ?? 1 / Math.sqrt(input.d);
}

/** Number of keys query i may see: i + n − m + 1 under the causal convention, else n. */
export function visibleKeys(input: AttentionInput, i: number): number {
  return input.causal ? i + input.n - input.m + 1 : input.n;
}

/** The additive mask value for (query i, key j), 0 without a mask. */
export function maskAt(input: AttentionInput, i: number, j: number): number {
  const mk = input.mask;
  if (!mk) return 0;
  return mk.length === input.n ? mk[j]! : mk[i * input.n + j]!;
}
