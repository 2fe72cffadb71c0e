/**
 * A fused attention op's inputs as heads: ONNX `Attention` (opset 23) and com.microsoft `MultiHeadAttention`
 * here; com.microsoft `Attention` and `GroupQueryAttention` in fused-ms-attention.ts and fused-ms-gqa.ts.
 * Q/K/V are 4-D [B, H, S, d] or 3-D [B, S, H·d]; grouped-query K/V (fewer KV heads) serve query head h from
 * KV head ⌊h·Hkv/Hq⌋, as both ops define it. Causal masks of these ops are upper-left aligned (query i sees
 * keys 0…i), so they are written into the per-head mask rather than passed as qattn's bottom-right flag.
 */
import { QattnError } from '../core/errors.ts';
import type { FusedCore } from './block.ts';
import { msAttentionHeads } from './fused-ms-attention.ts';
import type { GqaCore, MsAttentionCore } from './fused-ms-cores.ts';
import { gqaHeads } from './fused-ms-gqa.ts';
import type { HeadsProblem } from './heads.ts';
import { asFloat32, broadcastStrides, leadOffset, type HostTensor } from './tensors.ts';

type Fetch = (name: string) => HostTensor;

interface Layout { readonly b: number; readonly s: number; readonly heads: number; readonly dim: number; readonly fourD: boolean }

function layout(t: HostTensor, heads: number, what: string): Layout {
  if (t.dims.length === 4) return { b: t.dims[0]!, heads: t.dims[1]!, s: t.dims[2]!, dim: t.dims[3]!, fourD: true };
  if (t.dims.length !== 3) throw new QattnError(`${what} must be 3-D [B, S, H·d] or 4-D [B, H, S, d], got [${t.dims}]`);
  const hidden = t.dims[2]!;
  if (hidden % heads !== 0) throw new QattnError(`${what}: hidden size ${hidden} is not a multiple of ${heads} heads`);
  return { b: t.dims[0]!, heads, s: t.dims[1]!, dim: hidden / heads, fourD: false };
}

/** Row-major [S×dim] matrix of head h of batch b (optionally plus a bias slice). */
function headMatrix(data: Float32Array, l: Layout, b: number, h: number, bias?: Float32Array): Float32Array {
  const out = new Float32Array(l.s * l.dim);
  for (let i = 0; i < l.s; i++) {
    const base = l.fourD ? ((b * l.heads + h) * l.s + i) * l.dim : (b * l.s + i) * l.heads * l.dim + h * l.dim;
    for (let j = 0; j < l.dim; j++) out[i * l.dim + j] = data[base + j]! + (bias ? bias[h * l.dim + j]! : 0);
  }
  return out;
}

export function fusedHeads(name: string, c: FusedCore | MsAttentionCore | GqaCore, fetch: Fetch): HeadsProblem {
  if (c.kind === 'ms-attention') return msAttentionHeads(name, c, fetch);
  if (c.kind === 'ms-gqa') return gqaHeads(name, c, fetch);
  return qkvHeads(name, c, fetch);
}

/** Heads of an op that is given Q, K and V (ONNX Attention, com.microsoft MultiHeadAttention). */
function qkvHeads(name: string, c: FusedCore, fetch: Fetch): HeadsProblem {
  const Q = fetch(c.q), K = fetch(c.k), V = fetch(c.v);
  const lq = layout(Q, c.qHeads, `Q of ${name}`), lk = layout(K, c.kvHeads, `K of ${name}`), lv = layout(V, c.kvHeads, `V of ${name}`);
  if (lk.heads !== lv.heads || lk.s !== lv.s || lq.dim !== lk.dim || lq.heads % lk.heads !== 0 || lq.b !== lk.b) {
    throw new QattnError(`block ${name}: Q [${Q.dims}], K [${K.dims}], V [${V.dims}] do not make an attention`);
  }
  const [m, n, d, dv, H, Hkv] = [lq.s, lk.s, lq.dim, lv.dim, lq.heads, lk.heads];
  const q = asFloat32(Q, 'Q'), k = asFloat32(K, 'K'), v = asFloat32(V, 'V');
  const bias = c.qkvBias ? asFloat32(fetch(c.qkvBias), 'bias') : undefined;
  const qb = bias?.subarray(0, H * d), kb = bias?.subarray(H * d, 2 * H * d), vb = bias?.subarray(2 * H * d);
  const target = [lq.b, H, m, n];
  const mask = c.mask ? fetch(c.mask) : undefined;
  const maskData = mask && asFloat32(mask, 'mask');
  const maskStrides = mask && broadcastStrides(mask.dims, target);
  const pad = c.keyPadding ? asFloat32(fetch(c.keyPadding), 'key_padding_mask') : undefined;
  const maskFor = (b: number, h: number): Float32Array | null => {
    if (!maskData && !pad && !c.causal) return null;
    const M = new Float32Array(m * n);
    const base = maskStrides ? leadOffset(b * H + h, target, maskStrides, 2) : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let x = 0;
        if (maskData && maskStrides) {
          const y = maskData[base + i * maskStrides[2]! + j * maskStrides[3]!]!;
          x = mask!.type === 'bool' ? (y ? 0 : -Infinity) : y;
        }
        if (pad && pad[b * n + j] === 0) x += c.maskFilter;
        if (c.causal && j > i) x = -Infinity;
        M[i * n + j] = x;
      }
    }
    return M;
  };
  const outFourD = lq.fourD;
  return {
    heads: lq.b * H, batch: lq.b, m, n, d, dv, scale: c.scale ?? 1 / Math.sqrt(d),
    outShape: outFourD ? [lq.b, H, m, dv] : [lq.b, m, H * dv],
    head: (bh) => {
      const b = Math.floor(bh / H), h = bh % H, kvh = Math.floor((h * Hkv) / H);
      return { q: headMatrix(q, lq, b, h, qb), k: headMatrix(k, lk, b, kvh, kb), v: headMatrix(v, lv, b, kvh, vb), mask: maskFor(b, h) };
    },
    write: (out, bh, o) => {
      const b = Math.floor(bh / H), h = bh % H;
      for (let i = 0; i < m; i++) {
        const base = outFourD ? ((b * H + h) * m + i) * dv : (b * m + i) * H * dv + h * dv;
        out.set(o.subarray(i * dv, (i + 1) * dv), base);
      }
    },
  };
}
