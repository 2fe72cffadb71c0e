/**
 * The dense products of `performer` (FAVOR+, mechanisms/performer.ts) in onnxruntime, float32, one
 * intra-op thread (like `exact`'s default, so per-core speed is what the benchmark compares).
 *
 * Two graphs with symbolic dimensions (rows, d, r features, dv), one cached session each:
 * - 'keys': a = K·W′ + shift (one Gemm, shift broadcast as C), B = max over keys of a (per feature),
 *   E = exp(a − B), Z = Σ_j E_j and S = Eᵀ·V — the key sums of performer's prefix-sum state, relative to B.
 *   The n×r feature matrix never leaves ORT: in JS the max and exp passes alone took ~0.2 s at n·r = 2^24
 *   (measured, one core), more than ORT's whole graph (~0.11 s at n = 2^16, d = dv = 64, r = 256).
 *   A masked key's shift is −∞, so its row of a is −∞ and of E is 0.
 *   performer runs it on chunks of a few thousand keys (its intermediates are rows×r) and combines the chunks'
 *   (B, Z, S) in float64, once in prepare.
 * - 'project': a = X·W′ + shift, the log-features of the queries (and of keys a causal call adds one by one);
 *   with a zero shift it is also `lsh`'s key projection on its hyperplanes (K·Pᵀ).
 *
 * W′ = (W·√scale)ᵀ [d×r] and shift_j = −‖x_j·√scale‖²/2 + mask_j are made in JS (float64, then rounded), so
 * a is performer's log-feature w·x′ − ‖x′‖²/2 + mask: the same math as the JS path, rounded to float32.
 */
import type * as Ort from 'onnxruntime-node';
import { DataType, attr, encodeModel, graph, model, node, opset, tensor, tensorValueInfo } from '../../../onnx/index.ts';
import type { AttentionInput } from '../../types.ts';
import { effectiveScale } from '../../validate.ts';
import { cachedSession, loadOrt, ortUnavailableReason } from './sessions.ts';

type FavorGraph = 'keys' | 'project';

/**
 * Largest ‖x′‖² the float32 graphs take. It keeps −‖x′‖²/2 and |w·x′| ≤ ‖w‖·‖x′‖ (‖w‖ is a χ_d draw,
 * a few times √d) far below float32's 3.4e38; beyond it only the float64 JS path is exact enough to be finite.
 */
export const MAX_SQ_NORM = 1e30;

/** Standard ops only; ReduceMax still takes its axes as an attribute at opset 17, ReduceSum as an input. */
const OPSETS = [opset('', 17)];

function keysGraph(): Uint8Array {
  const nodes = [
    node('Gemm', ['x', 'wt', 'shift'], ['a']),
    node('ReduceMax', ['a'], ['b'], { attributes: [attr.ints('axes', [0]), attr.int('keepdims', 1)] }),
    node('Sub', ['a', 'b'], ['a_rel']),
    node('Exp', ['a_rel'], ['e']),
    node('ReduceSum', ['e', 'axis0'], ['z'], { attributes: [attr.int('keepdims', 1)] }),
    node('Gemm', ['e', 'v'], ['s'], { attributes: [attr.int('transA', 1)] }),
  ];
  const g = graph({
    name: 'qattn_favor_keys',
    nodes,
    inputs: [
      tensorValueInfo('x', DataType.FLOAT, ['rows', 'd']),
      tensorValueInfo('wt', DataType.FLOAT, ['d', 'r']),
      tensorValueInfo('shift', DataType.FLOAT, ['rows', 1]),
      tensorValueInfo('v', DataType.FLOAT, ['rows', 'dv']),
    ],
    outputs: [
      tensorValueInfo('b', DataType.FLOAT, [1, 'r']),
      tensorValueInfo('z', DataType.FLOAT, [1, 'r']),
      tensorValueInfo('s', DataType.FLOAT, ['r', 'dv']),
    ],
    initializers: [tensor('axis0', [1], new BigInt64Array([0n]))],
  });
  return encodeModel(model({ graph: g, opsets: OPSETS }));
}

function projectGraph(): Uint8Array {
  const g = graph({
    name: 'qattn_favor_project',
    nodes: [node('Gemm', ['x', 'wt', 'shift'], ['a'])],
    inputs: [
      tensorValueInfo('x', DataType.FLOAT, ['rows', 'd']),
      tensorValueInfo('wt', DataType.FLOAT, ['d', 'r']),
      tensorValueInfo('shift', DataType.FLOAT, ['rows', 1]),
    ],
    outputs: [tensorValueInfo('a', DataType.FLOAT, ['rows', 'r'])],
  });
  return encodeModel(model({ graph: g, opsets: OPSETS }));
}

// Every dimension is symbolic, so one session per graph serves all shapes, scales and seeds.
function session(kind: FavorGraph): Promise<Ort.InferenceSession> {
  return cachedSession(`favor|${kind}`, kind === 'keys' ? keysGraph : projectGraph, 1);
}

/** (W·√scale)ᵀ as float32 [d×r], from W [r×d] float64. */
export function scaledFeaturesT(w: Float64Array, r: number, d: number, sqrtScale: number): Float32Array {
  const wt = new Float32Array(d * r);
  for (let f = 0; f < r; f++) for (let c = 0; c < d; c++) wt[c * r + f] = w[f * d + c]! * sqrtScale;
  return wt;
}

/**
 * shift_j = −‖x_j·√scale‖²/2 + mask_j (float64, rounded to float32; −∞ for a masked row) of rows 0 … rows−1 of x,
 * or null if some row has ‖x′‖² > MAX_SQ_NORM. `mask` is indexed like the rows.
 */
export function featureShifts(x: Float32Array, rows: number, d: number, sqrtScale: number, mask?: Float32Array): Float32Array | null {
  const out = new Float32Array(rows);
  for (let j = 0; j < rows; j++) {
    let sq = 0;
    for (let c = 0; c < d; c++) sq += (x[j * d + c]! * sqrtScale) ** 2;
    if (sq > MAX_SQ_NORM) return null;
    out[j] = -sq / 2 + (mask ? mask[j]! : 0);
  }
  return out;
}

/** Per-row shifts of K (mask folded in) and Q. */
export interface FavorShifts { readonly k: Float32Array; readonly q: Float32Array }

/** The shifts of an input, or null where some Q or K norm is too large for float32 features. */
export function favorShifts(input: AttentionInput, sqrtScale: number): FavorShifts | null {
  const k = featureShifts(input.k, input.n, input.d, sqrtScale, input.mask);
  const q = k && featureShifts(input.q, input.m, input.d, sqrtScale);
  return k && q ? { k, q } : null;
}

/** Why performer's ORT path cannot run this input (one line), or null. O(size of Q and K). */
export function favorCannotRunReason(input: AttentionInput): string | null {
  const unavailable = ortUnavailableReason();
  if (unavailable) return unavailable;
  if (favorShifts(input, Math.sqrt(effectiveScale(input))) === null) {
    return `a Q or K row has ‖x·√scale‖² > ${MAX_SQ_NORM}, beyond what float32 features hold; use path=js`;
  }
  return null;
}

function output(result: Ort.InferenceSession.OnnxValueMapType, name: string, length: number): Float32Array {
  const t = result[name];
  if (!t || !(t.data instanceof Float32Array) || t.data.length !== length) {
    throw new Error(`internal: ORT favor graph returned ${t ? `${t.type} [${t.dims.join(',')}]` : 'no'} '${name}'`);
  }
  return t.data;
}

/** Key sums over `rows` keys (some shift must be finite, or B is −∞ and E is NaN): B [r], Z [r], S [r×dv]. */
export async function ortKeySums(
  k: Float32Array, v: Float32Array, shift: Float32Array, wt: Float32Array, dims: { rows: number; d: number; r: number; dv: number },
): Promise<{ b: Float32Array; z: Float32Array; s: Float32Array }> {
  const ort = loadOrt();
  if (ort instanceof Error) throw ort;
  const { rows, d, r, dv } = dims;
  const result = await (await session('keys')).run({
    x: new ort.Tensor('float32', k, [rows, d]),
    wt: new ort.Tensor('float32', wt, [d, r]),
    shift: new ort.Tensor('float32', shift, [rows, 1]),
    v: new ort.Tensor('float32', v, [rows, dv]),
  });
  return { b: output(result, 'b', r), z: output(result, 'z', r), s: output(result, 's', r * dv) };
}

/** Log-features a = X·W′ + shift [rows×r] of `rows` ≥ 1 rows. */
export async function ortProject(x: Float32Array, shift: Float32Array, wt: Float32Array, dims: { rows: number; d: number; r: number }): Promise<Float32Array> {
  const ort = loadOrt();
  if (ort instanceof Error) throw ort;
  const { rows, d, r } = dims;
  const result = await (await session('project')).run({
    x: new ort.Tensor('float32', x, [rows, d]),
    wt: new ort.Tensor('float32', wt, [d, r]),
    shift: new ort.Tensor('float32', shift, [rows, 1]),
  });
  return output(result, 'a', rows * r);
}
