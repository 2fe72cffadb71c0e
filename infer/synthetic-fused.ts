/**
 * Small seeded models around fused attention ops, for the infer tests: ONNX `Attention` (opset 23, 3-D
 * inputs with grouped-query KV heads and is_causal) and com.microsoft `MultiHeadAttention` (3-D inputs,
 * packed QKV bias and a key padding mask). Both read input `x` [B, S, hidden] and write `y`.
 */
import type { ModelProto } from '../onnx/index.ts';
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
