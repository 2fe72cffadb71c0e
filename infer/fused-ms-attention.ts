/**
 * com.microsoft `Attention` as heads. The op projects its input itself (Q|K|V = X·W + b). qattn does that
 * projection here, once per block, in float32 storage (accumulated in float64, so it differs from ORT's float32
 * GEMM by float32 rounding only), rather than by inserting MatMul/Add nodes into the stage graphs: the splitter
 * runs the model's own nodes, and one GEMM is not worth rewriting the model for.
 *
 * Masks follow ORT's CPU kernel (PrepareMask in attention_helper.h; each form checked against onnxruntime-node
 * 1.30): a key hidden by mask_index adds mask_filter_value (−10000 by default — not −∞, so it is carried as an
 * additive mask), `unidirectional` hides keys j > i outright, and attention_bias is added on top.
 */
import { QattnError } from '../core/errors.ts';
import type { MsAttentionCore } from './fused-ms-cores.ts';
import type { HeadsProblem } from './heads.ts';
import { asFloat32, broadcastStrides, leadOffset, type HostTensor } from './tensors.ts';

type Fetch = (name: string) => HostTensor;

/** X·W + b for every row of X: [B·S, tot]. */
function project(x: Float32Array, w: Float32Array, bias: Float32Array, rows: number, dIn: number, tot: number): Float32Array {
  const out = new Float32Array(rows * tot);
  const acc = new Float64Array(tot);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let t = 0; t < dIn; t++) {
      const xv = x[r * dIn + t]!, base = t * tot;
      if (xv !== 0) for (let c = 0; c < tot; c++) acc[c]! += xv * w[base + c]!;
    }
    for (let c = 0; c < tot; c++) out[r * tot + c] = acc[c]! + bias[c]!;
  }
  return out;
}

/** Whether mask_index hides key j from query i of example b, per the forms ORT's CPU kernel reads. */
function maskIndexRule(t: HostTensor | undefined, b: number, s: number, id: string): ((bi: number, i: number, j: number) => boolean) | null {
  if (!t) return null;
  const v = asFloat32(t, `mask_index of ${id}`), dims = t.dims;
  if (dims.length === 1 && (dims[0] === b || dims[0] === 2 * b)) {
    const starts = dims[0] === 2 * b;
    return (bi, _i, j) => j >= v[bi]! || (starts && j < Math.min(v[bi + b]!, s));
  }
  if (dims.length === 2 && dims[0] === b && dims[1] === s) return (bi, _i, j) => !(v[bi * s + j]! > 0);
  if (dims.length === 3 && dims[0] === b && dims[1] === s && dims[2] === s) return (bi, i, j) => !(v[(bi * s + i) * s + j]! > 0);
  if (dims.length === 4) throw new QattnError(`${id}: onnxruntime's CPU Attention kernel does not support a 4-D mask_index`);
  throw new QattnError(`${id}: mask_index [${dims}] is none of [B], [2B], [B, T], [B, S, T] for B=${b}, S=T=${s}`);
}

interface Shapes { b: number; s: number; dIn: number; hq: number; hk: number; hv: number; tot: number }

function shapes(c: MsAttentionCore, X: HostTensor, W: HostTensor, bias: HostTensor, id: string): Shapes {
  if (X.dims.length !== 3) throw new QattnError(`${id}: input must be 3-D [B, S, D], got [${X.dims}]`);
  const [b, s, dIn] = X.dims as [number, number, number];
  const tot = W.dims[1] ?? 0;
  const [hq, hk, hv] = c.qkvSizes ?? [tot / 3, tot / 3, tot / 3];
  if (W.dims.length !== 2 || W.dims[0] !== dIn || hq + hk + hv !== tot || !Number.isInteger(hq)) {
    throw new QattnError(`${id}: weights [${W.dims}] do not project [${X.dims}] to Q|K|V${c.qkvSizes ? ` of sizes [${c.qkvSizes}]` : ''}`);
  }
  if (bias.dims.length !== 1 || bias.dims[0] !== tot) throw new QattnError(`${id}: bias [${bias.dims}] is not [${tot}]`);
  if (hq % c.heads !== 0 || hv % c.heads !== 0) throw new QattnError(`${id}: Q/V widths ${hq}/${hv} are not multiples of ${c.heads} heads`);
  return { b, s, dIn, hq, hk, hv, tot };
}

export function msAttentionHeads(name: string, c: MsAttentionCore, fetch: Fetch): HeadsProblem {
  const id = `block ${name}`;
  const X = fetch(c.input), W = fetch(c.weights), B = fetch(c.bias);
  const { b, s, dIn, hq, hv, tot } = shapes(c, X, W, B, id);
  const H = c.heads, d = hq / H, dv = hv / H;
  const qkv = project(asFloat32(X, 'input'), asFloat32(W, 'weights'), asFloat32(B, 'bias'), b * s, dIn, tot);
  const hidden = maskIndexRule(c.maskIndex ? fetch(c.maskIndex) : undefined, b, s, id);
  const ab = c.attnBias ? fetch(c.attnBias) : undefined;
  const target = [b, H, s, s];
  const abData = ab && asFloat32(ab, 'attention_bias'), abStrides = ab && broadcastStrides(ab.dims, target);
  const slice = (bi: number, off: number, width: number): Float32Array => {
    const out = new Float32Array(s * width);
    for (let i = 0; i < s; i++) out.set(qkv.subarray((bi * s + i) * tot + off, (bi * s + i) * tot + off + width), i * width);
    return out;
  };
  const maskFor = (bi: number, h: number): Float32Array | null => {
    if (!hidden && !c.causal && !abData) return null;
    const M = new Float32Array(s * s);
    const base = abStrides ? leadOffset(bi * H + h, target, abStrides, 2) : 0;
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < s; j++) {
        let x = hidden?.(bi, i, j) ? c.maskFilter : 0;
        if (c.causal && j > i) x = -Infinity;
        if (abData && abStrides) x += abData[base + i * abStrides[2]! + j * abStrides[3]!]!;
        M[i * s + j] = x;
      }
    }
    return M;
  };
  return {
    heads: b * H, batch: b, m: s, n: s, d, dv, scale: c.scale ?? 1 / Math.sqrt(d), outShape: [b, s, hv],
    head: (bh) => {
      const bi = Math.floor(bh / H), h = bh % H;
      return { q: slice(bi, h * d, d), k: slice(bi, hq + h * d, d), v: slice(bi, 2 * hq + h * dv, dv), mask: maskFor(bi, h) };
    },
    write: (out, bh, o) => {
      const bi = Math.floor(bh / H), h = bh % H;
      for (let i = 0; i < s; i++) out.set(o.subarray(i * dv, (i + 1) * dv), (bi * s + i) * hv + h * dv);
    },
  };
}
