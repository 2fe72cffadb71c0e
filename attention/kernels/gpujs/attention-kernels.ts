/**
 * Exact attention as four gpu.js kernels over one tile of Tm queries (float32 throughout):
 *
 *   S = Q_tile·Kᵀ·scale + mask   [Tm × n]   (invisible / −∞-masked entries are the sentinel NEG)
 *   M = rowmax(S)                [Tm]
 *   P = exp(S − M)               [Tm × n]   (0 at NEG entries and on fully masked rows)
 *   O = (P·V) / rowsum(P)        [Tm × dv]  (the normaliser is summed in the same loop as P·V)
 *
 * Why four kernels and not one: a gpu.js thread computes one output cell, so a fused online-softmax kernel
 * would recompute every q·k dot product (and exp) once per value column — dv× the work. Materialising S and
 * P costs Tm·n floats per tile instead, which the tiling bounds.
 *
 * Kernel sources are plain functions that gpu.js transpiles (GLSL, WebAssembly or JS): only arithmetic,
 * loops with compile-time bounds (constants) and array reads — no closures, no outer variables, so NEG and
 * MASKED are literals. They are compiled per shape (n, d, dv, Tm, causal, mask kind) and cached.
 */
import type { KernelThis } from '../../../core/gpujs/runtime.ts';

/**
 * The float32 "−∞": below any finite score, yet finite, so GLSL never sees an infinity (GL float textures
 * and exp(−∞ − (−∞)) are where infinities go wrong). Masks are mapped onto it on the host.
 */
export const NEG = -1e38;
/**
 * Anything at or below this is "masked". Not NEG itself: NEG rounds differently as a float32 texel than as a
 * double literal in gpu.js's JavaScript backend, so an equality-tight test would miss masked entries there.
 */
export const MASKED = -1e37;

/** 0: no mask; 1: one length-n row for every query; 2: one row per query (the tile's Tm·n slice). */
export type MaskKind = 0 | 1 | 2;

export interface ScoreConstants {
  readonly n: number;
  readonly d: number;
  readonly causal: number;
  readonly maskKind: number;
}

/**
 * S[r][j] for tile row r = thread.y, key j = thread.x. `rowsLeft` (= m − i0) marks padding rows of the last
 * tile; with causal, key j is visible to row r iff j < r + off (off = i0 + n − m + 1, bottom-right aligned).
 */
export function scoreKernel(
  this: KernelThis<ScoreConstants>, q: Float32Array, k: Float32Array, mask: Float32Array, rowsLeft: number, off: number, scale: number,
): number {
  const j = this.thread.x;
  const r = this.thread.y;
  if (r >= rowsLeft) return -1e38;
  if (this.constants.causal > 0 && j >= r + off) return -1e38;
  let s = 0;
  for (let t = 0; t < this.constants.d; t++) s += q[r * this.constants.d + t]! * k[j * this.constants.d + t]!;
  s = s * scale;
  let mk = 0;
  if (this.constants.maskKind === 1) mk = mask[j]!;
  if (this.constants.maskKind === 2) mk = mask[r * this.constants.n + j]!;
  if (mk <= -1e37) return -1e38;
  return s + mk;
}

export interface RowConstants {
  readonly n: number;
}

/** M[r] = max_j S[r][j] (NEG when every key of row r is invisible or masked). */
export function rowMaxKernel(this: KernelThis<RowConstants>, s: readonly Float32Array[]): number {
  let mx = -1e38;
  for (let j = 0; j < this.constants.n; j++) mx = Math.max(mx, s[this.thread.x]![j]!);
  return mx;
}

/** P[r][j] = exp(S[r][j] − M[r]); 0 for masked entries and fully masked rows (qattn's convention: O row = 0). */
export function probKernel(this: KernelThis<RowConstants>, s: readonly Float32Array[], mx: Float32Array): number {
  const m = mx[this.thread.y]!;
  const x = s[this.thread.y]![this.thread.x]!;
  if (m <= -1e37) return 0;
  if (x <= -1e37) return 0;
  return Math.exp(x - m);
}

export interface ValueConstants {
  readonly n: number;
  readonly dv: number;
}

/** O[r][c] = Σ_j P[r][j]·V[j][c] / Σ_j P[r][j]; a row with Σ P = 0 (fully masked) is 0. */
export function weightedSumKernel(this: KernelThis<ValueConstants>, p: readonly Float32Array[], v: Float32Array): number {
  let acc = 0;
  let z = 0;
  for (let j = 0; j < this.constants.n; j++) {
    const w = p[this.thread.y]![j]!;
    acc += w * v[j * this.constants.dv + this.thread.x]!;
    z += w;
  }
  if (z > 0) return acc / z;
  return 0;
}
