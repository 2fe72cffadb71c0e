/**
 * One attention block as a list of heads, whatever pattern it came from, and the loop that runs a registered
 * mechanism head by head (one runAttention call per head, as everywhere in qattn).
 *
 * Masks: a block hands each head its full m×n additive mask. Before calling the mechanism the mask is reduced
 * to the simplest equivalent form — bottom-right causal flag, a length-n key mask, or nothing — because several
 * mechanisms (performer, lsh…) accept only those, and the reduction is exact: a key the model hides with a
 * mask value ≤ −1e30 contributes exp(≈ −∞) = 0 either way.
 */
import { attendHeads as runHeads, type HeadsRun } from '../attention/heads.ts';
import type { AttentionInput, AttentionOutput, OptionValue } from '../attention/types.ts';

/** One head's inputs: Q [m×d], K [n×d], V [n×dv], and the additive m×n mask (null = none). */
export interface HeadInput {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly mask: Float32Array | null;
}

export interface HeadsProblem {
  /** Heads over the whole batch (batch × heads per example). */
  readonly heads: number;
  /** Examples in the batch (heads / batch = heads per example). */
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly d: number;
  readonly dv: number;
  readonly scale: number;
  head(h: number): HeadInput;
  /** Shape of the block's output tensor. */
  readonly outShape: readonly number[];
  /** Writes head h's O [m×dv] into the block output. */
  write(out: Float32Array, h: number, o: Float32Array): void;
}

/** Mask values at or below this hide a key (exp underflows to exactly 0 in float32 and float64). */
export const HIDDEN = -1e30;

export interface ReducedMask {
  readonly causal: boolean;
  readonly mask?: Float32Array;
}

/** The simplest form of an m×n additive mask (see the module comment). */
export function reduceMask(mask: Float32Array | null, m: number, n: number): ReducedMask {
  if (!mask) return { causal: false };
  const visible = (i: number, j: number): boolean => j <= i + n - m;
  let causal = m <= n;
  for (let i = 0; i < m && causal; i++) for (let j = i + n - m + 1; j < n; j++) if (mask[i * n + j]! > HIDDEN) { causal = false; break; }
  const row = new Float32Array(n);
  const seen = new Uint8Array(n);
  let rowShared = true;
  for (let i = 0; i < m && rowShared; i++) {
    for (let j = 0; j < n; j++) {
      if (causal && !visible(i, j)) continue;
      const x = mask[i * n + j]!;
      if (!seen[j]) { row[j] = x; seen[j] = 1; } else if (row[j] !== x && !(row[j]! <= HIDDEN && x <= HIDDEN)) { rowShared = false; break; }
    }
  }
  if (!rowShared) return { causal: false, mask };
  const zero = row.every((x) => x === 0);
  return zero ? { causal } : { causal, mask: row };
}

export interface HeadsResult {
  readonly out: Float32Array;
  /** Whether every head's mask reduced to (bottom-right) causal. */
  readonly causal: boolean;
  /** Prepare plus attend, summed over heads, milliseconds. */
  readonly ms: number;
  /** The head loop's timings and combined costs (attention/heads.ts). */
  readonly run: HeadsRun;
}

/** Optional per-head hook (capture): called with the head inputs actually given to the mechanism. */
export type HeadHook = (h: number, input: HeadInput) => void;

/** Optional per-head hook on the mechanism's output, with the input it was given (eval's attention-row metrics). */
export type HeadOutputHook = (h: number, input: AttentionInput, output: AttentionOutput) => void;

export async function attendHeads(
  p: HeadsProblem, method: string, opts: Readonly<Record<string, OptionValue>>, seed: number, hook?: HeadHook, onOutput?: HeadOutputHook,
): Promise<HeadsResult> {
  const out = new Float32Array(p.outShape.reduce((a, b) => a * b, 1));
  let causal = p.heads > 0;
  const given = new Map<number, AttentionInput>();
  const head = (h: number): AttentionInput => {
    const input = p.head(h);
    hook?.(h, input);
    const red = reduceMask(input.mask, p.m, p.n);
    causal &&= red.causal;
    const a: AttentionInput = {
      q: input.q, k: input.k, v: input.v, m: p.m, n: p.n, d: p.d, dv: p.dv, scale: p.scale, seed,
      causal: red.causal, ...(red.mask ? { mask: red.mask } : {}),
    };
    if (onOutput) given.set(h, a);
    return a;
  };
  const r = await runHeads(method, p.heads, head, opts, (h, o) => {
    p.write(out, h, o.out);
    if (onOutput) {
      onOutput(h, given.get(h)!, o);
      given.delete(h);
    }
  });
  return { out, causal, ms: r.firstMs + r.prepareMs, run: r };
}
