/**
 * Small seeded models around fused attention ops, for the infer tests: ONNX `Attention` (opset 23, 3-D
 * inputs with grouped-query KV heads and is_causal), com.microsoft `MultiHeadAttention` (3-D inputs, packed
 * QKV bias and a key padding mask), com.microsoft `Attention` (projection inside the op) and com.microsoft
 * `GroupQueryAttention` (KV cache inputs, optional rotary). All read input `x` [B, S, hidden] and write `y`.
 */
import { node, type AttributeProto, type ModelProto } from '../onnx/index.ts';
import { GraphWriter, attr, DataType } from './synthetic-builder.ts';

export function onnxAttentionModel(hidden = 16, heads = 4, kvHeads = 2, seed = 4): ModelProto {
  const w = new GraphWriter(seed);
  const x = w.input('x', DataType.FLOAT, ['batch', 'seq', hidden]);
  const d = hidden / heads;
  const q = w.op('MatMul', [x, w.weight('wq', [hidden, hidden])]);
  const k = w.op('MatMul', [x, w.weight('wk', [hidden, kvHeads * d])]);
  const v = w.op('MatMul', [x, w.weight('wv', [hidden, kvHeads * d])]);
  const o = w.op('Attention', [q, k, v], [attr.int('q_num_heads', heads), attr.int('kv_num_heads', kvHeads), attr.int('is_causal', 1)], '', 'attn');
  w.rename(w.op('MatMul', [o, w.weight('wo', [hidden, hidden])]), 'y');
  w.output('y');
  return w.build('onnx_attention', 23, [], 10);
}

export function msMultiHeadModel(hidden = 16, heads = 4, seed = 5): ModelProto {
  const w = new GraphWriter(seed);
  const x = w.input('x', DataType.FLOAT, ['batch', 'seq', hidden]);
  const pad = w.input('key_padding_mask', DataType.INT32, ['batch', 'seq']);
  const q = w.op('MatMul', [x, w.weight('wq', [hidden, hidden])]);
  const k = w.op('MatMul', [x, w.weight('wk', [hidden, hidden])]);
  const v = w.op('MatMul', [x, w.weight('wv', [hidden, hidden])]);
  const o = w.op('MultiHeadAttention', [q, k, v, w.weight('bias', [3 * hidden], 0.1), pad], [attr.int('num_heads', heads)], 'com.microsoft', 'mha');
  w.rename(w.op('MatMul', [o, w.weight('wo', [hidden, hidden])]), 'y');
  w.output('y');
  return w.build('ms_mha', 17, [['com.microsoft', 1]]);
}

export interface MsAttentionOptions {
  readonly hidden?: number;
  readonly heads?: number;
  /** `unidirectional`. */
  readonly causal?: boolean;
  /** qkv_hidden_sizes (V may be narrower than Q/K). */
  readonly qkvSizes?: readonly [number, number, number];
  /** mask_index input: 2 = raw [batch, seq] 0/1, 1 = [batch] end positions, 0 = none. */
  readonly maskRank?: 0 | 1 | 2;
  /** Whether the node has its bias input (onnxruntime-node 1.30 crashes without it; for refusal tests). */
  readonly bias?: boolean;
  readonly scale?: number;
  readonly extraAttrs?: readonly AttributeProto[];
  readonly seed?: number;
}

/** com.microsoft `Attention` (packed projection inside the op), reading `x` and optionally `mask_index`. */
export function msAttentionModel(o: MsAttentionOptions = {}): ModelProto {
  const hidden = o.hidden ?? 16, heads = o.heads ?? 4;
  const [hq, hk, hv] = o.qkvSizes ?? [hidden, hidden, hidden];
  const w = new GraphWriter(o.seed ?? 6);
  const x = w.input('x', DataType.FLOAT, ['batch', 'seq', hidden]);
  const maskRank = o.maskRank ?? 2;
  const mask = maskRank === 0 ? '' : w.input('mask_index', DataType.INT32, maskRank === 2 ? ['batch', 'seq'] : ['batch']);
  const bias = o.bias === false ? '' : w.weight('bias', [hq + hk + hv], 0.1);
  const attrs = [
    attr.int('num_heads', heads), ...(o.causal ? [attr.int('unidirectional', 1)] : []),
    ...(o.qkvSizes ? [attr.ints('qkv_hidden_sizes', o.qkvSizes)] : []), ...(o.scale ? [attr.float('scale', o.scale)] : []), ...(o.extraAttrs ?? []),
  ];
  const a = w.op('Attention', [x, w.weight('wqkv', [hidden, hq + hk + hv]), bias, mask], attrs, 'com.microsoft', 'attn');
  w.rename(w.op('MatMul', [a, w.weight('wo', [hv, hidden])]), 'y');
  w.output('y');
  return w.build('ms_attention', 17, [['com.microsoft', 1]]);
}

export interface GqaOptions {
  readonly heads?: number;
  readonly kvHeads?: number;
  /** Head size: onnxruntime's CPU kernel wants a multiple of 8 (of 16 with rotary). */
  readonly headSize?: number;
  /** do_rotary with cos/sin caches over the whole head (interleaved or halves). */
  readonly rotary?: 'halves' | 'interleaved';
  /** Also return present_key/present_value as model outputs (a KV cache; refused). */
  readonly presentOutputs?: boolean;
  /** Q|K|V packed in the query input (refused). */
  readonly packed?: boolean;
  readonly extraAttrs?: readonly AttributeProto[];
  readonly seed?: number;
}

/** Rotary caches [positions, d/2] with the usual θ_t = 10000^(−2t/d). */
function rotaryCaches(w: GraphWriter, positions: number, d: number): [string, string] {
  const half = d / 2, cos = new Float32Array(positions * half), sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let t = 0; t < half; t++) {
      const th = p / Math.pow(10000, (2 * t) / d);
      cos[p * half + t] = Math.cos(th);
      sin[p * half + t] = Math.sin(th);
    }
  }
  return [w.init('cos_cache', [positions, half], cos), w.init('sin_cache', [positions, half], sin)];
}

/**
 * com.microsoft `GroupQueryAttention` reading `x` [batch, seq, heads·d], the cache `past_key`/`past_value`
 * [batch, kvHeads, past, d] (zero-length on a first prompt), `seqlens_k` (int32 [batch], total length − 1) and
 * `total_sequence_length` (int32 scalar), as onnxruntime's CPU kernel needs them.
 */
export function msGqaModel(o: GqaOptions = {}): ModelProto {
  const heads = o.heads ?? 4, kvHeads = o.kvHeads ?? 2, d = o.headSize ?? 16, hidden = heads * d;
  const w = new GraphWriter(o.seed ?? 7);
  const x = w.input('x', DataType.FLOAT, ['batch', 'seq', hidden]);
  const pk = w.input('past_key', DataType.FLOAT, ['batch', kvHeads, 'past', d]);
  const pv = w.input('past_value', DataType.FLOAT, ['batch', kvHeads, 'past', d]);
  const seqlens = w.input('seqlens_k', DataType.INT32, ['batch']);
  const total = w.input('total_sequence_length', DataType.INT32, []);
  const qkv = o.packed
    ? [w.op('MatMul', [x, w.weight('wqkv', [hidden, (heads + 2 * kvHeads) * d])]), '', '']
    : [w.op('MatMul', [x, w.weight('wq', [hidden, hidden])]), w.op('MatMul', [x, w.weight('wk', [hidden, kvHeads * d])]), w.op('MatMul', [x, w.weight('wv', [hidden, kvHeads * d])])];
  const caches = o.rotary ? rotaryCaches(w, 64, d) : [];
  const attrs = [
    attr.int('num_heads', heads), attr.int('kv_num_heads', kvHeads), ...(o.extraAttrs ?? []),
    ...(o.rotary ? [attr.int('do_rotary', 1), attr.int('rotary_interleaved', o.rotary === 'interleaved' ? 1 : 0)] : []),
  ];
  w.nodes.push(node('GroupQueryAttention', [...qkv, pk, pv, seqlens, total, ...caches], ['gqa_out', 'present_key', 'present_value'], { attributes: attrs, domain: 'com.microsoft', name: 'gqa' }));
  w.rename(w.op('MatMul', ['gqa_out', w.weight('wo', [hidden, hidden])]), 'y');
  w.output('y');
  if (o.presentOutputs) ['present_key', 'present_value'].forEach((p) => w.output(p));
  return w.build('ms_gqa', 17, [['com.microsoft', 1]]);
}
