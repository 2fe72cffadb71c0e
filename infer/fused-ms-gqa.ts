/**
 * com.microsoft `GroupQueryAttention` as heads, following what onnxruntime-node 1.30's CPU kernel computes
 * (each rule below checked against it with small graphs):
 * - Sequence b holds T_b = seqlens_k[b] + 1 keys. On the first prompt (S = total_sequence_length) the cache is
 *   ignored and the keys are the S new ones; otherwise the first P_b = T_b − S keys come from past_key and the
 *   S new ones follow. Query i sees keys j ≤ P_b + i with j < T_b — causal, bottom-right aligned in the cache —
 *   and with local_window_size w only the last w of them (j > P_b + i − w).
 * - Query head h reads KV head ⌊h / (num_heads / kv_num_heads)⌋.
 * - do_rotary rotates the new Q and K (not the cached K, stored rotated) at position P_b + i, by cos/sin_cache
 *   rows, over the first 2·cache-width dims: halves (x[t], x[t + r/2]) or, interleaved, pairs (x[2t], x[2t+1]).
 * The kernel itself refuses head sizes that are not a multiple of 8 (16 with rotary) and S > 1 after a cache
 * with batch > 1; the unmodified run already fails on those, with onnxruntime's message.
 */
import { QattnError } from '../core/errors.ts';
import type { GqaCore } from './fused-ms-cores.ts';
import type { HeadsProblem } from './heads.ts';
import { asFloat32, type HostTensor } from './tensors.ts';

type Fetch = (name: string) => HostTensor;

interface Rotary { readonly cos: Float32Array; readonly sin: Float32Array; readonly half: number; readonly positions: number; readonly interleaved: boolean }

/** Row `pos` of the rotary caches applied to x[off, off+d) → out[outOff, outOff+d). */
function rotate(x: Float32Array, off: number, d: number, pos: number, r: Rotary | null, out: Float32Array, outOff: number): void {
  for (let t = 0; t < d; t++) out[outOff + t] = x[off + t]!;
  if (!r) return;
  for (let t = 0; t < r.half; t++) {
    const c = r.cos[pos * r.half + t]!, s = r.sin[pos * r.half + t]!;
    const [a, b] = r.interleaved ? [2 * t, 2 * t + 1] : [t, t + r.half];
    const xa = x[off + a]!, xb = x[off + b]!;
    out[outOff + a] = xa * c - xb * s;
    out[outOff + b] = xb * c + xa * s;
  }
}

function rotary(c: GqaCore, fetch: Fetch, d: number, id: string): Rotary | null {
  if (!c.cosCache) return null;
  const cos = fetch(c.cosCache), sin = fetch(c.sinCache);
  const half = cos.dims[1] ?? 0;
  if (cos.dims.length !== 2 || sin.dims.join() !== cos.dims.join() || 2 * half > d) throw new QattnError(`${id}: cos/sin_cache [${cos.dims}]/[${sin.dims}] are not [positions, ≤ ${d / 2}]`);
  return { cos: asFloat32(cos, 'cos_cache'), sin: asFloat32(sin, 'sin_cache'), half, positions: cos.dims[0]!, interleaved: c.rotaryInterleaved };
}

/** P_b (keys before the new ones) and T_b (keys seen) of each sequence; throws where ORT would read past its inputs. */
function cacheLengths(c: GqaCore, fetch: Fetch, b: number, s: number, p: number, id: string): { past: number[]; total: number[] } {
  const seqlens = asFloat32(fetch(c.seqlensK), 'seqlens_k'), totalT = asFloat32(fetch(c.totalLength), 'total_sequence_length');
  if (seqlens.length !== b || totalT.length !== 1) throw new QattnError(`${id}: seqlens_k must hold ${b} lengths and total_sequence_length one`);
  const first = totalT[0] === s;
  const total = Array.from(seqlens, (x) => x + 1), past = total.map((t) => (first ? 0 : t - s));
  total.forEach((t, i) => {
    if (first ? t < 1 || t > s : past[i]! < 0 || past[i]! > p) throw new QattnError(`${id}: seqlens_k[${i}] = ${t - 1} does not fit ${s} new tokens and a cache of ${p}`);
  });
  return { past, total };
}

export function gqaHeads(name: string, c: GqaCore, fetch: Fetch): HeadsProblem {
  const id = `block ${name}`;
  const Q = fetch(c.query), K = fetch(c.key), V = fetch(c.value);
  const [b = 0, s = 0, qw = 0] = Q.dims, H = c.heads, Hkv = c.kvHeads, d = qw / H;
  if (Q.dims.length !== 3 || !Number.isInteger(d) || K.dims.join() !== [b, s, Hkv * d].join() || V.dims.join() !== K.dims.join()) {
    throw new QattnError(`${id}: query [${Q.dims}], key [${K.dims}], value [${V.dims}] are not [B, S, ${H}·d], [B, S, ${Hkv}·d]`);
  }
  const PK = c.pastKey ? fetch(c.pastKey) : undefined, PV = c.pastValue ? fetch(c.pastValue) : undefined;
  const p = PK?.dims[2] ?? 0;
  if (PK && (PK.dims.join() !== [b, Hkv, p, d].join() || PV?.dims.join() !== PK.dims.join())) throw new QattnError(`${id}: past_key/past_value are not [${b}, ${Hkv}, P, ${d}]`);
  const { past, total } = cacheLengths(c, fetch, b, s, p, id);
  const rot = rotary(c, fetch, d, id);
  if (rot && Math.max(...past) + s > rot.positions) throw new QattnError(`${id}: positions up to ${Math.max(...past) + s - 1} exceed the rotary caches' ${rot.positions}`);
  const n = Math.max(s, ...past.map((x) => x + s));
  const q = asFloat32(Q, 'query'), k = asFloat32(K, 'key'), v = asFloat32(V, 'value');
  const pk = PK && asFloat32(PK, 'past_key'), pv = PV && asFloat32(PV, 'past_value');
  const keys = (x: Float32Array, cache: Float32Array | undefined, bi: number, kvh: number, r: Rotary | null): Float32Array => {
    const out = new Float32Array(n * d), pb = past[bi]!;
    if (cache) out.set(cache.subarray((bi * Hkv + kvh) * p * d, ((bi * Hkv + kvh) * p + pb) * d));
    for (let j = 0; j < s; j++) rotate(x, ((bi * s + j) * Hkv + kvh) * d, d, pb + j, r, out, (pb + j) * d);
    return out;
  };
  const mask = (bi: number): Float32Array => {
    const M = new Float32Array(s * n), pb = past[bi]!, tb = total[bi]!;
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < n; j++) M[i * n + j] = j <= pb + i && j < tb && (c.window <= 0 || j > pb + i - c.window) ? 0 : -Infinity;
    }
    return M;
  };
  return {
    heads: b * H, batch: b, m: s, n, d, dv: d, scale: c.scale ?? 1 / Math.sqrt(d), outShape: [b, s, H * d],
    head: (bh) => {
      const bi = Math.floor(bh / H), h = bh % H, kvh = Math.floor(h / (H / Hkv));
      const qh = new Float32Array(s * d);
      for (let i = 0; i < s; i++) rotate(q, ((bi * s + i) * H + h) * d, d, past[bi]! + i, rot, qh, i * d);
      return { q: qh, k: keys(k, pk, bi, kvh, rot), v: keys(v, pv, bi, kvh, null), mask: mask(bi) };
    },
    write: (out, bh, o) => {
      const bi = Math.floor(bh / H), h = bh % H;
      for (let i = 0; i < s; i++) out.set(o.subarray(i * d, (i + 1) * d), ((bi * s + i) * H + h) * d);
    },
  };
}
