/**
 * Small seeded transformer models written the way the exporters write them, for the infer tests and as
 * examples of the graphs `qattn infer` understands:
 * - gpt2: TorchScript exporter — fused QKV, Kᵀ by one Transpose(0,2,3,1), Div by √d, causal Where on a
 *   sliced boolean buffer with torch.finfo.min, Softmax, MatMul; logits output.
 * - bert: padding mask (1 − mask)·finfo.min unsqueezed to [B,1,1,S] and added; scale on the scores by Mul;
 *   Dropout (Identity in eval) after Softmax.
 * - llama: dynamo exporter SDPA — grouped-query heads repeated by Unsqueeze/Expand/Reshape, rotary positions,
 *   √scale on Q and on Kᵀ, additive −∞ causal mask, Cast after Softmax and the IsNaN→Where guard.
 */
import { GraphWriter, attr, DataType } from './synthetic-builder.ts';
import type { ModelProto } from '../onnx/index.ts';

export interface Dims { readonly vocab: number; readonly hidden: number; readonly heads: number; readonly layers: number; readonly maxLen: number }
export const SMALL: Dims = { vocab: 50, hidden: 16, heads: 4, layers: 2, maxLen: 32 };
const FMIN = -3.4028234663852886e38;

/** Token + position embeddings (positions from Shape → Gather → Range, as exporters write). */
function embed(w: GraphWriter, ids: string, dm: Dims): string {
  const tok = w.op('Gather', [w.weight('wte', [dm.vocab, dm.hidden], 0.5), ids]);
  const seq = w.op('Gather', [w.op('Shape', [ids]), w.i64('one', [1], [])], [attr.int('axis', 0)]);
  const pos = w.op('Range', [w.i64('zero', [0], []), seq, w.i64('step', [1], [])]);
  return w.op('Add', [tok, w.op('Gather', [w.weight('wpe', [dm.maxLen, dm.hidden], 0.5), pos])]);
}

function layerNorm(w: GraphWriter, x: string, dm: Dims): string {
  return w.op('LayerNormalization', [x, w.f32('ln_g', [dm.hidden], new Array(dm.hidden).fill(1)), w.f32('ln_b', [dm.hidden], new Array(dm.hidden).fill(0))], [attr.int('axis', -1)]);
}

/** [B,S,H·d] → [B,H,S,d] (perm 0,2,1,3) or with perm 0,2,3,1 → [B,H,d,S]. */
function heads(w: GraphWriter, x: string, h: number, d: number, perm: number[]): string {
  return w.op('Transpose', [w.op('Reshape', [x, w.i64('shape', [0, 0, h, d])])], [attr.ints('perm', perm)]);
}

function merge(w: GraphWriter, o: string, dm: Dims): string {
  return w.op('Reshape', [w.op('Transpose', [o], [attr.ints('perm', [0, 2, 1, 3])]), w.i64('shape', [0, 0, dm.hidden])]);
}

export function gpt2Model(dm: Dims = SMALL, seed = 1): ModelProto {
  const w = new GraphWriter(seed);
  const ids = w.input('input_ids', DataType.INT64, ['batch', 'seq']);
  const d = dm.hidden / dm.heads;
  let x = embed(w, ids, dm);
  const seq = w.op('Unsqueeze', [w.op('Gather', [w.op('Shape', [ids]), w.i64('one', [1], [])]), w.i64('ax', [0])]);
  const tril = Array.from({ length: dm.maxLen * dm.maxLen }, (_, k) => (k % dm.maxLen) <= Math.floor(k / dm.maxLen));
  const causal = w.op('Slice', [w.bool('bias', [1, 1, dm.maxLen, dm.maxLen], tril), w.i64('s', [0, 0]), w.op('Concat', [seq, seq], [attr.int('axis', 0)]), w.i64('axes', [2, 3])]);
  for (let l = 0; l < dm.layers; l++) {
    const [q, k, v] = w.multi('Split', [w.linear(layerNorm(w, x, dm), dm.hidden, 3 * dm.hidden, `c_attn${l}`), w.i64('split', [dm.hidden, dm.hidden, dm.hidden])], 3, [attr.int('axis', 2)]) as [string, string, string];
    const scores = w.op('Div', [w.op('MatMul', [heads(w, q, dm.heads, d, [0, 2, 1, 3]), heads(w, k, dm.heads, d, [0, 2, 3, 1])]), w.f32('sqrt_d', [], [Math.sqrt(d)])]);
    const masked = w.op('Where', [causal, scores, w.f32('fmin', [], [FMIN])]);
    const o = w.op('MatMul', [w.op('Softmax', [masked], [attr.int('axis', -1)]), heads(w, v, dm.heads, d, [0, 2, 1, 3])], [], '', `h.${l}.attn.matmul_1`);
    x = w.op('Add', [x, w.linear(merge(w, o, dm), dm.hidden, dm.hidden, `c_proj${l}`)]);
  }
  w.rename(w.op('MatMul', [layerNorm(w, x, dm), w.weight('lm_head', [dm.hidden, dm.vocab])]), 'logits');
  w.output('logits');
  return w.build('gpt2_torchscript', 17);
}

export function bertModel(dm: Dims = SMALL, seed = 2): ModelProto {
  const w = new GraphWriter(seed);
  const ids = w.input('input_ids', DataType.INT64, ['batch', 'seq']);
  const am = w.input('attention_mask', DataType.INT64, ['batch', 'seq']);
  const d = dm.hidden / dm.heads;
  let x = layerNorm(w, embed(w, ids, dm), dm);
  const ext = w.op('Unsqueeze', [w.op('Unsqueeze', [am, w.i64('a1', [1])]), w.i64('a2', [2])]);
  const inv = w.op('Sub', [w.f32('one', [], [1]), w.op('Cast', [ext], [attr.int('to', DataType.FLOAT)])]);
  const bias = w.op('Mul', [inv, w.f32('fmin', [], [FMIN])]);
  for (let l = 0; l < dm.layers; l++) {
    const q = heads(w, w.linear(x, dm.hidden, dm.hidden, `q${l}`), dm.heads, d, [0, 2, 1, 3]);
    const k = heads(w, w.linear(x, dm.hidden, dm.hidden, `k${l}`), dm.heads, d, [0, 2, 1, 3]);
    const v = heads(w, w.linear(x, dm.hidden, dm.hidden, `v${l}`), dm.heads, d, [0, 2, 1, 3]);
    const kt = w.op('Transpose', [k], [attr.ints('perm', [0, 1, 3, 2])]);
    const scores = w.op('Add', [w.op('Mul', [w.op('MatMul', [q, kt]), w.f32('inv_sqrt_d', [], [1 / Math.sqrt(d)])]), bias]);
    const p = w.op('Dropout', [w.op('Softmax', [scores], [attr.int('axis', -1)])]);
    const o = w.op('MatMul', [p, v], [], '', `layer.${l}.attention.matmul_1`);
    x = layerNorm(w, w.op('Add', [x, w.linear(merge(w, o, dm), dm.hidden, dm.hidden, `o${l}`)]), dm);
    x = layerNorm(w, w.op('Add', [x, w.linear(w.op('Relu', [w.linear(x, dm.hidden, 2 * dm.hidden, `f1${l}`)]), 2 * dm.hidden, dm.hidden, `f2${l}`)]), dm);
  }
  w.rename(x, 'last_hidden_state');
  w.output('last_hidden_state');
  return w.build('bert_torchscript', 17);
}

/** Rotary embedding x·cos + rotate_half(x)·sin, cos/sin sliced to the sequence length. */
function rotary(w: GraphWriter, x: string, cos: string, sin: string, d: number): string {
  const [a, b] = w.multi('Split', [x, w.i64('half', [d / 2, d / 2])], 2, [attr.int('axis', -1)]) as [string, string];
  const rot = w.op('Concat', [w.op('Neg', [b]), a], [attr.int('axis', -1)]);
  return w.op('Add', [w.op('Mul', [x, cos]), w.op('Mul', [rot, sin])]);
}

export function llamaModel(dm: Dims = SMALL, seed = 3, kvHeads = 2): ModelProto {
  const w = new GraphWriter(seed);
  const ids = w.input('input_ids', DataType.INT64, ['batch', 'seq']);
  const d = dm.hidden / dm.heads, rep = dm.heads / kvHeads;
  let x = w.op('Gather', [w.weight('embed', [dm.vocab, dm.hidden], 0.5), ids]);
  const seq = w.op('Unsqueeze', [w.op('Gather', [w.op('Shape', [ids]), w.i64('one', [1], [])]), w.i64('ax', [0])]);
  const ang = (p: number, j: number): number => p / 10000 ** ((2 * (j % (d / 2))) / d);
  const table = (f: (t: number) => number) => Array.from({ length: dm.maxLen * d }, (_, k) => f(ang(Math.floor(k / d), k % d)));
  const cut = (t: string) => w.op('Slice', [t, w.i64('s0', [0]), seq, w.i64('ax0', [0])]);
  const cos = cut(w.f32('cos', [dm.maxLen, d], table(Math.cos))), sin = cut(w.f32('sin', [dm.maxLen, d], table(Math.sin)));
  const range = w.op('Range', [w.i64('z', [0], []), w.op('Squeeze', [seq, w.i64('ax', [0])]), w.i64('st', [1], [])]);
  const future = w.op('Greater', [w.op('Unsqueeze', [range, w.i64('a', [0])]), w.op('Unsqueeze', [range, w.i64('b', [1])])]);
  const causal = w.op('Where', [future, w.f32('ninf', [], [-Infinity]), w.f32('zero', [], [0])]);
  const sqrtScale = w.f32('sqrt_scale', [], [1 / Math.sqrt(Math.sqrt(d))]);
  for (let l = 0; l < dm.layers; l++) {
    const h = layerNorm(w, x, dm);
    const q = rotary(w, heads(w, w.op('MatMul', [h, w.weight(`wq${l}`, [dm.hidden, dm.hidden])]), dm.heads, d, [0, 2, 1, 3]), cos, sin, d);
    const kh = rotary(w, heads(w, w.op('MatMul', [h, w.weight(`wk${l}`, [dm.hidden, kvHeads * d])]), kvHeads, d, [0, 2, 1, 3]), cos, sin, d);
    const vh = heads(w, w.op('MatMul', [h, w.weight(`wv${l}`, [dm.hidden, kvHeads * d])]), kvHeads, d, [0, 2, 1, 3]);
    const repeat = (t: string): string => {
      const shp = w.op('Shape', [t]);
      const [b, s] = [w.op('Gather', [shp, w.i64('i0', [0])]), w.op('Gather', [shp, w.i64('i2', [2])])];
      const big = w.op('Concat', [b, w.i64('kv', [kvHeads]), w.i64('rep', [rep]), s, w.i64('d', [d])], [attr.int('axis', 0)]);
      const ex = w.op('Expand', [w.op('Unsqueeze', [t, w.i64('u', [2])]), big]);
      return w.op('Reshape', [ex, w.op('Concat', [b, w.i64('h', [dm.heads]), s, w.i64('d', [d])], [attr.int('axis', 0)])]);
    };
    const kt = w.op('Mul', [w.op('Transpose', [repeat(kh)], [attr.ints('perm', [0, 1, 3, 2])]), sqrtScale]);
    const scores = w.op('Add', [w.op('MatMul', [w.op('Mul', [q, sqrtScale]), kt]), causal]);
    const p = w.op('Cast', [w.op('Softmax', [scores], [attr.int('axis', -1)])], [attr.int('to', DataType.FLOAT)]);
    const guarded = w.op('Where', [w.op('IsNaN', [p]), w.f32('z', [], [0]), p]);
    const o = w.op('MatMul', [guarded, repeat(vh)], [], '', `layers.${l}.self_attn.matmul_1`);
    x = w.op('Add', [x, w.op('MatMul', [merge(w, o, dm), w.weight(`wo${l}`, [dm.hidden, dm.hidden])])]);
  }
  w.rename(w.op('MatMul', [layerNorm(w, x, dm), w.weight('lm_head', [dm.hidden, dm.vocab])]), 'logits');
  w.output('logits');
  return w.build('llama_dynamo', 18);
}
