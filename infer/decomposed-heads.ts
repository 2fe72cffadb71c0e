/**
 * A decomposed block's fetched tensors as heads: Q [...lead, m, d], K [...lead, n, d] (or Kᵀ [..., d, n]),
 * V [...lead, n, dv] and the score ops, broadcast the way MatMul/Add/Where broadcast them.
 *
 * The score ops fold into α·(Q·Kᵀ) + M: a scale multiplies α and the mask so far, an Add adds to M, and a
 * Where puts its fill into M where it drops the scores. The last is exact because fills are −∞ or a value
 * (torch.finfo.min) that absorbs any score in float32; a moderate fill would differ and is refused.
 */
import { QattnError } from '../core/errors.ts';
import type { DecomposedCore } from './block.ts';
import { HIDDEN, type HeadsProblem } from './heads.ts';
import { asFloat32, broadcastShapes, broadcastStrides, leadOffset, type HostTensor } from './tensors.ts';

type Fetch = (name: string) => HostTensor;

interface MaskTerm {
  readonly kind: 'scale' | 'add' | 'where';
  readonly factor: number;
  readonly a?: { data: Float32Array; strides: number[] };
  readonly fill?: { data: Float32Array; strides: number[] };
  readonly keepWhen: boolean;
}

export function decomposedHeads(name: string, core: DecomposedCore, fetch: Fetch): HeadsProblem {
  const Q = fetch(core.q), K = fetch(core.k), V = fetch(core.v);
  if (Q.dims.length < 2 || K.dims.length < 2 || V.dims.length < 2) throw new QattnError(`block ${name}: Q, K and V must be at least 2-D`);
  const m = Q.dims.at(-1 - 1)!, d = Q.dims.at(-1)!;
  const n = core.kIsTransposed ? K.dims.at(-1)! : K.dims.at(-2)!;
  const dk = core.kIsTransposed ? K.dims.at(-2)! : K.dims.at(-1)!;
  const dv = V.dims.at(-1)!;
  if (dk !== d || V.dims.at(-2) !== n) throw new QattnError(`block ${name}: Q [${Q.dims}], K [${K.dims}], V [${V.dims}] do not make an attention`);
  const maskShapes = core.ops.flatMap((op) => (op.kind === 'add' ? [fetch(op.tensor).dims] : op.kind === 'where' ? [fetch(op.cond).dims, fetch(op.fill).dims] : []));
  const full = broadcastShapes([[...Q.dims.slice(0, -2), m, 1], [...K.dims.slice(0, -2), 1, n], ...maskShapes], `block ${name}`);
  const leadDims = broadcastShapes([full.slice(0, -2), V.dims.slice(0, -2)], `block ${name}`);
  const target = [...leadDims, m, n];
  const rank = target.length;
  if (core.softmaxAxis !== -1 && core.softmaxAxis !== rank - 1) throw new QattnError(`block ${name}: softmax over axis ${core.softmaxAxis} of a rank-${rank} score tensor is not attention over keys`);
  const lead = leadDims.length;
  const heads = leadDims.reduce((a, b) => a * b, 1);
  const qs = broadcastStrides(Q.dims, [...leadDims, m, d]), ks = broadcastStrides(K.dims, [...leadDims, K.dims.at(-2)!, K.dims.at(-1)!]);
  const vs = broadcastStrides(V.dims, [...leadDims, n, dv]);
  const q = asFloat32(Q, `Q of ${name}`), k = asFloat32(K, `K of ${name}`), v = asFloat32(V, `V of ${name}`);
  let scale = 1;
  const terms: MaskTerm[] = core.ops.map((op) => {
    if (op.kind === 'scale') { scale *= op.factor; return { kind: 'scale', factor: op.factor, keepWhen: true }; }
    const src = (t: string) => { const x = fetch(t); return { data: asFloat32(x, t), strides: broadcastStrides(x.dims, target) }; };
    if (op.kind === 'add') return { kind: 'add', factor: 1, a: src(op.tensor), keepWhen: true };
    const fill = src(op.fill);
    if (fill.data.some((x) => x > HIDDEN)) throw new QattnError(`block ${name}: a Where mask fills with ${fill.data.find((x) => x > HIDDEN)}, not −∞ or ≤ −1e30; only hiding masks are supported`);
    return { kind: 'where', factor: 1, a: src(op.cond), fill, keepWhen: op.keepWhen };
  });
  const slice = (data: Float32Array, strides: number[], h: number, rows: number, cols: number, transpose: boolean): Float32Array => {
    const base = leadOffset(h, target, strides, lead);
    const [sr, sc] = [strides[rank - 2]!, strides[rank - 1]!];
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = transpose ? data[base + j * sr + i * sc]! : data[base + i * sr + j * sc]!;
    return out;
  };
  const maskFor = (h: number): Float32Array | null => {
    let M: Float32Array | null = null;
    for (const t of terms) {
      if (t.kind === 'scale') { if (M) for (let i = 0; i < M.length; i++) M[i]! *= t.factor; continue; }
      const a = slice(t.a!.data, t.a!.strides, h, m, n, false);
      if (t.kind === 'add') { if (M) for (let i = 0; i < M.length; i++) M[i]! += a[i]!; else M = a; continue; }
      const f = slice(t.fill!.data, t.fill!.strides, h, m, n, false);
      M ??= new Float32Array(m * n);
      for (let i = 0; i < M.length; i++) if ((a[i] !== 0) !== t.keepWhen) M[i] = f[i]!;
    }
    return M;
  };
  return {
    heads, batch: heads / (leadDims.at(-1) ?? 1), m, n, d, dv, scale, outShape: [...leadDims, m, dv],
    head: (h) => ({
      q: slice(q, qs, h, m, d, false),
      k: core.kIsTransposed ? slice(k, ks, h, n, d, true) : slice(k, ks, h, n, d, false),
      v: slice(v, vs, h, n, dv, false),
      mask: maskFor(h),
    }),
    write: (out, h, o) => out.set(o, h * m * dv),
  };
}
