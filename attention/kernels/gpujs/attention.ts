/**
 * Exact attention on gpu.js: tiles the queries so that each tile's score and probability matrices
 * (Tm × n floats each) stay within TILE_SCORES, pads the last tile to the same shape (one compiled kernel set
 * per input shape), and runs the four kernels of attention-kernels.ts per tile. K and V are uploaded once per
 * call and S, M, P stay resident (GPU textures under GL): a tile moves only its Q rows (and mask rows) in
 * and its O rows out.
 *
 * float32 everywhere (GL highp / WebAssembly f32 / JS) — see GPUJS_REL_L2 for the error against float64.
 */
import type { AttentionInput } from '../../types.ts';
import { effectiveScale } from '../../validate.ts';
import {
  MASKED, NEG, probKernel, rowMaxKernel, scoreKernel, weightedSumKernel,
  type MaskKind, type RowConstants, type ScoreConstants, type ValueConstants,
} from './attention-kernels.ts';
import {
  checkRan, copyKernel, kernel2d, maxTextureSize, residentKernel, type GpujsKernel, type GpujsMode, type GpujsRan, type Resident,
} from '../../../core/gpujs/runtime.ts';

/** Scores per tile: 2^22 floats = 16 MiB for S and for P — small next to a GPU, and a bounded host copy. */
export const TILE_SCORES = 2 ** 22;
/**
 * Largest flat array index the kernels form (n·d, n·dv, Tm·n): GL addresses textures with float32 indices,
 * which are exact integers only up to 2^24.
 */
export const MAX_FLAT_INDEX = 2 ** 24;

/**
 * Declared float32 tolerance (relative L2 against the float64 reference), as for exact's float32 paths.
 * Measured: a few 1e-7 at n ≤ 1024, 3e-6 at n = 2^14 (the P·V and Σ P loops are sequential float32 sums, so
 * the error grows with n; the declared bound is for the conformance suite's sizes).
 */
export const GPUJS_REL_L2 = 1e-5;

/** Why the gpu.js kernels cannot take this input, or null. */
export function gpujsCannotRunReason(input: AttentionInput): string | null {
  const { n, d, dv } = input;
  const widest = Math.max(n * d, n * dv, n);
  if (widest > MAX_FLAT_INDEX) {
    return `gpu.js kernels index arrays with float32 (exact up to 2^24 elements); n·max(d, dv) = ${n * Math.max(d, dv)} is too large`;
  }
  return float32ScoreOverflow(input);
}

const maxAbs = (a: Float32Array): number => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/**
 * The kernels compute scores in float32: finite inputs with |q·k|·scale beyond ~3.4e38 (entries near 1e20) would
 * overflow to ±∞, and the kernels' masked-row convention then turns the row into zeros — silently wrong. The
 * bound max|q|·max|k|·d·scale is checked up front (O((m+n)·d), once per call), with a 10× margin.
 */
function float32ScoreOverflow(input: AttentionInput): string | null {
  const bound = maxAbs(input.q) * maxAbs(input.k) * input.d * effectiveScale(input) + (input.mask ? maxAbs(input.mask.map((x) => (x === -Infinity ? 0 : x))) : 0);
  if (bound < 3.4e37) return null;
  return `scores may overflow float32 in the gpu.js kernels (max|q|·max|k|·d·scale = ${bound.toExponential(2)} ≥ 3.4e37); ` +
    'use exact, which falls back to its float64-accumulating streaming kernel';
}

/**
 * Queries per tile: as many as keep Tm·n ≤ tileScores (at least 1, at most m). Under GL a [n × Tm] output is
 * an n-wide texture, so n beyond the texture limit forces Tm = 1 (gpu.js then folds the row into a square).
 */
export function tileRows(input: AttentionInput, tileScores = TILE_SCORES, maxTexture = Infinity): number {
  if (input.n > maxTexture) return 1;
  return Math.max(1, Math.min(input.m, Math.floor(tileScores / input.n)));
}

/** K, V, S, M and P stay resident (on the GPU under GL); only O comes back to the host. */
interface KernelSet {
  readonly loadK: GpujsKernel<[Float32Array], Resident>;
  readonly loadV: GpujsKernel<[Float32Array], Resident>;
  readonly scores: GpujsKernel<[Float32Array, Float32Array, Float32Array, number, number, number], Resident>;
  readonly rowMax: GpujsKernel<[readonly Float32Array[]], Resident>;
  readonly probs: GpujsKernel<[readonly Float32Array[], Float32Array], Resident>;
  readonly weighted: GpujsKernel<[readonly Float32Array[], Float32Array], readonly Float32Array[]>;
}

interface Shape {
  readonly n: number;
  readonly d: number;
  readonly dv: number;
  readonly tm: number;
  readonly causal: boolean;
  readonly maskKind: MaskKind;
}

/** Compiled kernel sets, most recently used last; bounded so a sweep over shapes does not hoard kernels. */
const cache = new Map<string, KernelSet>();
const CACHE_SIZE = 12;

function compile(mode: GpujsMode, s: Shape): KernelSet {
  const sc: ScoreConstants = { n: s.n, d: s.d, causal: s.causal ? 1 : 0, maskKind: s.maskKind };
  const rc: RowConstants = { n: s.n };
  const vc: ValueConstants = { n: s.n, dv: s.dv };
  return {
    loadK: residentKernel(mode, { fn: copyKernel, output: [s.n * s.d], constants: {} }),
    loadV: residentKernel(mode, { fn: copyKernel, output: [s.n * s.dv], constants: {} }),
    scores: residentKernel(mode, { fn: scoreKernel, output: [s.n, s.tm], constants: sc }),
    rowMax: residentKernel(mode, { fn: rowMaxKernel, output: [s.tm], constants: rc }),
    probs: residentKernel(mode, { fn: probKernel, output: [s.n, s.tm], constants: rc }),
    weighted: kernel2d(mode, { fn: weightedSumKernel, output: [s.dv, s.tm], constants: vc }),
  };
}

function kernelsFor(mode: GpujsMode, s: Shape): KernelSet {
  const key = `${mode}:${s.n}:${s.d}:${s.dv}:${s.tm}:${s.causal}:${s.maskKind}`;
  let set = cache.get(key);
  if (set) cache.delete(key);
  else set = compile(mode, s);
  cache.set(key, set);
  for (const [old, evicted] of cache) {
    if (cache.size <= CACHE_SIZE) break;
    cache.delete(old);
    for (const k of Object.values(evicted)) k.destroy();
  }
  return set;
}

/** The mask as the kernels read it: −∞ (and anything ≤ MASKED) becomes NEG; a 1-element dummy without one. */
function kernelMask(input: AttentionInput): { kind: MaskKind; values: Float32Array } {
  const { mask, n } = input;
  if (!mask) return { kind: 0, values: new Float32Array(1) };
  return { kind: mask.length === n ? 1 : 2, values: mask.map((x) => (x <= MASKED ? NEG : x)) };
}

/** Rows [i0, i0 + tm) of a row-major [rows × width] array, zero-padded past `rows`. */
function paddedRows(a: Float32Array, rows: number, width: number, i0: number, tm: number): Float32Array {
  const out = new Float32Array(tm * width);
  out.set(a.subarray(i0 * width, Math.min(rows, i0 + tm) * width));
  return out;
}

/**
 * O = softmax(Q·Kᵀ·scale + mask)·V on gpu.js in `mode`; returns O [m×dv] float32 and the gpu.js modes the
 * kernels actually ran in (one entry unless gpu.js degraded some kernel). `tileScores` is for tests that need
 * several (and a padded) query tile on small inputs.
 */
export function gpujsAttention(input: AttentionInput, mode: GpujsMode, tileScores = TILE_SCORES): { out: Float32Array; ran: GpujsRan[] } {
  const { m, n, d, dv } = input;
  const mask = kernelMask(input);
  const tm = tileRows(input, tileScores, maxTextureSize(mode));
  const ks = kernelsFor(mode, { n, d, dv, tm, causal: input.causal === true, maskKind: mask.kind });
  const scale = effectiveScale(input);
  const out = new Float32Array(m * dv);
  const k = ks.loadK.run(input.k), v = ks.loadV.run(input.v);
  for (let i0 = 0; i0 < m; i0 += tm) {
    const qTile = paddedRows(input.q, m, d, i0, tm);
    const maskTile = mask.kind === 2 ? paddedRows(mask.values, m, n, i0, tm) : mask.values;
    const s = ks.scores.run(qTile, k, maskTile, m - i0, i0 + n - m + 1, scale);
    const p = ks.probs.run(s, ks.rowMax.run(s));
    const o = ks.weighted.run(p, v);
    for (let r = 0; r < tm && i0 + r < m; r++) out.set(o[r]!, (i0 + r) * dv);
  }
  const ran = [...new Set(Object.values(ks).map((k) => k.ran()))];
  for (const r of ran) checkRan(mode, r);
  return { out, ran };
}
