/**
 * The single-head attention graphs `exact` runs in onnxruntime, built in TypeScript with onnx/.
 *
 * Every dimension is symbolic (m, n, d, dv), so one session serves all shapes of a signature; what must be
 * fixed in the graph is the kind of graph, the causal flag, whether there is an additive mask input, and the
 * scale (an attribute in both graphs).
 *
 * - 'mha': com.microsoft MultiHeadAttention (onnxruntime contrib op; Q [1,m,d], K [1,n,d], V [1,n,dv],
 *   optional attention_bias [1,1,m,n]). Without bias or causal it takes ORT's fused CPU flash-attention path
 *   (no m×n buffer). Its `unidirectional` mask is top-left aligned (query i sees keys 0…i — checked against
 *   the float64 reference with m < n), so it is used for causal only when m = n, where both alignments agree.
 *   attention_bias must be [.,.,m,n] (ORT rejects a broadcast row), so a length-n mask goes to 'decomposed'.
 * - 'decomposed': Gemm(Q, K, mask; alpha = scale, transB) → [bottom-right causal] → Softmax → MatMul(·, V),
 *   plain opset-17 ops. The mask input is [bm, n] with bm ∈ {1, m} (Gemm broadcasts C), and causal keeps
 *   key j for query i iff j ≤ i + (n − m), via Trilu(k = n − m) on a boolean all-true [m, n] tensor then Where.
 * - 'lse': one key block of a split-K softmax (flash-decoding: Dao et al., "Flash-Decoding for long-context
 *   inference", 2023; the merge is the online-softmax rescaling of Milakov & Gimelshein, arXiv 1805.02867):
 *   Gemm(Q, K_b, mask_b) → row max mx → e = Exp(s − mx) → o = (e·V_b) / Σe, with mx and Σe as outputs, so the
 *   caller merges blocks as O = Σ_b w_b·o_b / Σ_b w_b, w_b = Σe_b·exp(mx_b − max_b mx_b). No causal node: the
 *   caller passes causal cuts in the mask block (kernels/ort/attention.ts).
 */
import {
  DataType, attr, encodeModel, graph, model, node, opset, tensor, tensorValueInfo,
} from '../../../onnx/index.ts';
import type { NodeProto, TensorProto, ValueInfoProto } from '../../../onnx/index.ts';

export type OrtGraphKind = 'mha' | 'decomposed' | 'lse';

/** What a session is built for; everything else about the input is a symbolic dimension. */
export interface OrtSignature {
  readonly kind: OrtGraphKind;
  /** Causal mask inside the graph (mha: requires m = n; decomposed: bottom-right aligned). */
  readonly causal: boolean;
  /** An additive mask input ('bias'). */
  readonly hasBias: boolean;
  /** Score scale, stored as float32 in the graph. */
  readonly scale: number;
}

/** Cache key of a signature (scale by its float32 value, since that is what the graph holds). */
export function signatureKey(sig: OrtSignature): string {
  return `${sig.kind}|causal=${sig.causal}|bias=${sig.hasBias}|scale=${Math.fround(sig.scale)}`;
}

/**
 * ONNX opset 17 for standard ops (Trilu needs ≥ 14, Softmax on the last axis ≥ 13) and version 1 of
 * onnxruntime's 'com.microsoft' contrib domain.
 */
const OPSETS = [opset('', 17), opset('com.microsoft', 1)];

function mhaGraph(sig: OrtSignature): { nodes: NodeProto[]; inputs: ValueInfoProto[]; outputs: ValueInfoProto[] } {
  const inputs = [
    tensorValueInfo('q', DataType.FLOAT, [1, 'm', 'd']),
    tensorValueInfo('k', DataType.FLOAT, [1, 'n', 'd']),
    tensorValueInfo('v', DataType.FLOAT, [1, 'n', 'dv']),
  ];
  // MultiHeadAttention inputs: query, key, value, bias, key_padding_mask, attention_bias ('' skips one).
  const nodeInputs = ['q', 'k', 'v', '', '', ''];
  if (sig.hasBias) {
    inputs.push(tensorValueInfo('bias', DataType.FLOAT, [1, 1, 'm', 'n']));
    nodeInputs[5] = 'bias';
  }
  const attributes = [
    attr.int('num_heads', 1),
    attr.float('scale', sig.scale),
    attr.int('unidirectional', sig.causal ? 1 : 0),
  ];
  return {
    nodes: [node('MultiHeadAttention', nodeInputs, ['o'], { domain: 'com.microsoft', attributes, name: 'attention' })],
    inputs,
    outputs: [tensorValueInfo('o', DataType.FLOAT, [1, 'm', 'dv'])],
  };
}

/** Nodes turning scores 's' into 's_causal' (−∞ where key j > i + n − m), plus their constants. */
function causalNodes(): { nodes: NodeProto[]; initializers: TensorProto[] } {
  const initializers = [
    tensor('zero_i64', [], new BigInt64Array([0n])),
    tensor('neg_inf', [], new Float32Array([-Infinity])),
  ];
  const allTrue = tensor('', [1], new Uint8Array([1]), DataType.BOOL);
  const nodes = [
    node('Shape', ['q'], ['q_shape']),
    node('Shape', ['k'], ['k_shape']),
    node('Gather', ['q_shape', 'zero_i64'], ['m_len']),
    node('Gather', ['k_shape', 'zero_i64'], ['n_len']),
    node('Sub', ['n_len', 'm_len'], ['diag_offset']),
    node('Shape', ['s'], ['s_shape']),
    node('ConstantOfShape', ['s_shape'], ['all_true'], { attributes: [attr.tensor('value', allTrue)] }),
    node('Trilu', ['all_true', 'diag_offset'], ['visible'], { attributes: [attr.int('upper', 0)] }),
    node('Where', ['visible', 's', 'neg_inf'], ['s_causal']),
  ];
  return { nodes, initializers };
}

/** Q [m, d], K [n, d], V [n, dv] (+ bias [bm, n]) and the score Gemm S = Q·Kᵀ·scale (+ bias) of both plain-op graphs. */
function scoreProduct(sig: OrtSignature): { inputs: ValueInfoProto[]; gemm: NodeProto } {
  const inputs = [
    tensorValueInfo('q', DataType.FLOAT, ['m', 'd']),
    tensorValueInfo('k', DataType.FLOAT, ['n', 'd']),
    tensorValueInfo('v', DataType.FLOAT, ['n', 'dv']),
  ];
  const gemmInputs = ['q', 'k'];
  if (sig.hasBias) {
    inputs.push(tensorValueInfo('bias', DataType.FLOAT, ['bm', 'n']));
    gemmInputs.push('bias');
  }
  return { inputs, gemm: node('Gemm', gemmInputs, ['s'], { attributes: [attr.float('alpha', sig.scale), attr.int('transB', 1)] }) };
}

function decomposedGraph(sig: OrtSignature): { nodes: NodeProto[]; inputs: ValueInfoProto[]; outputs: ValueInfoProto[]; initializers: TensorProto[] } {
  const { inputs, gemm } = scoreProduct(sig);
  const nodes = [gemm];
  let initializers: TensorProto[] = [];
  let scores = 's';
  if (sig.causal) {
    const c = causalNodes();
    nodes.push(...c.nodes);
    initializers = c.initializers;
    scores = 's_causal';
  }
  nodes.push(node('Softmax', [scores], ['p'], { attributes: [attr.int('axis', -1)] }), node('MatMul', ['p', 'v'], ['o']));
  return { nodes, inputs, outputs: [tensorValueInfo('o', DataType.FLOAT, ['m', 'dv'])], initializers };
}

function lseGraph(sig: OrtSignature): { nodes: NodeProto[]; inputs: ValueInfoProto[]; outputs: ValueInfoProto[]; initializers: TensorProto[] } {
  const { inputs, gemm } = scoreProduct(sig);
  const initializers = [tensor('axis1', [1], new BigInt64Array([1n]))];
  const nodes = [
    gemm,
    node('ReduceMax', ['s'], ['mx'], { attributes: [attr.ints('axes', [1]), attr.int('keepdims', 1)] }),
    node('Sub', ['s', 'mx'], ['z']),
    node('Exp', ['z'], ['e']),
    node('ReduceSum', ['e', 'axis1'], ['sum'], { attributes: [attr.int('keepdims', 1)] }),
    node('MatMul', ['e', 'v'], ['ou']),
    node('Div', ['ou', 'sum'], ['o']),
  ];
  const outputs = [
    tensorValueInfo('o', DataType.FLOAT, ['m', 'dv']),
    tensorValueInfo('mx', DataType.FLOAT, ['m', 1]),
    tensorValueInfo('sum', DataType.FLOAT, ['m', 1]),
  ];
  return { nodes, inputs, outputs, initializers };
}

/** The serialized model for a signature. */
export function buildAttentionModel(sig: OrtSignature): Uint8Array {
  const g = sig.kind === 'mha' ? { initializers: [], ...mhaGraph(sig) } : sig.kind === 'lse' ? lseGraph(sig) : decomposedGraph(sig);
  return encodeModel(model({ graph: graph({ name: `qattn_exact_${sig.kind}`, ...g }), opsets: OPSETS }));
}
