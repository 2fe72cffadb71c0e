/**
 * com.microsoft `Attention` and `GroupQueryAttention` nodes as blocks. Which variants are taken follows what
 * onnxruntime-node 1.30's CPU kernels run (checked with small graphs): anything else is refused here, with a
 * message naming the node and the reason, so no model reaches a run that is either wrong or impossible.
 */
import { QattnError } from '../core/errors.ts';
import { attrValue, getAttr, type NodeProto } from '../onnx/index.ts';
import type { GqaCore, MsAttentionCore } from './fused-ms-cores.ts';
import type { GraphIndex } from './graph.ts';

const num = (n: NodeProto, name: string, dflt: number): number => {
  const a = getAttr(n, name);
  return a === undefined ? dflt : Number(attrValue(a));
};
const used = (names: readonly string[] | undefined, from: number): boolean => (names ?? []).slice(from).some((x) => x !== '');
const scaleOf = (n: NodeProto): number | null => (num(n, 'scale', 0) === 0 ? null : num(n, 'scale', 0));

function qkvSizes(n: NodeProto, id: string): MsAttentionCore['qkvSizes'] {
  const a = getAttr(n, 'qkv_hidden_sizes');
  if (!a) return null;
  const s = (a.ints ?? []).map(Number);
  if (s.length !== 3 || s[0] !== s[1] || s.some((x) => x < 1)) throw new QattnError(`${id} has qkv_hidden_sizes [${s}]; expected 3 positive sizes with Q and K equal`);
  return [s[0]!, s[1]!, s[2]!];
}

/** com.microsoft `Attention` (input projection inside the op; see fused-ms-attention.ts). */
export function msAttention(n: NodeProto): MsAttentionCore {
  const id = `com.microsoft Attention node '${n.name ?? ''}'`;
  const [input = '', weights = '', bias = '', maskIndex = '', past = '', attnBias = '', pastLength = ''] = n.input ?? [];
  if (past !== '' || pastLength !== '' || used(n.output, 1)) throw new QattnError(`${id} uses a KV cache (past/present); qattn infer swaps attention without a cache only`);
  // Checked on onnxruntime-node 1.30: its CPU kernel dies with a segmentation fault when `bias` is absent, so
  // such a model cannot even run unmodified — refuse it before onnxruntime loads it.
  if (bias === '') throw new QattnError(`${id} has no bias input, which crashes onnxruntime-node's CPU Attention kernel; give a zero bias`);
  if (num(n, 'do_rotary', 0) === 1) throw new QattnError(`${id} uses do_rotary, which onnxruntime-node's CPU Attention kernel does not run (it asks for MultiHeadAttention + RotaryEmbedding instead)`);
  const heads = num(n, 'num_heads', 0);
  if (heads < 1) throw new QattnError(`${id} lacks num_heads`);
  return {
    kind: 'ms-attention', input, weights, bias, maskIndex, attnBias, heads, qkvSizes: qkvSizes(n, id), scale: scaleOf(n),
    causal: num(n, 'unidirectional', 0) === 1, maskFilter: num(n, 'mask_filter_value', -10000),
  };
}

/** Refusals of GroupQueryAttention features no qattn mechanism or block computes. */
function refuseGqaExtras(n: NodeProto, g: GraphIndex, id: string): void {
  const out = n.output ?? [];
  const read = (x: string | undefined): boolean => !!x && (g.graphOutputs.has(x) || (g.consumers.get(x) ?? []).length > 0);
  if (read(out[1]) || read(out[2])) throw new QattnError(`${id}: its present_key/present_value outputs are used downstream (a KV cache); qattn infer swaps attention without a cache only`);
  if (used(out, 3) || num(n, 'qk_output', 0) !== 0) throw new QattnError(`${id} returns its QK scores (output_qk), which the swapped block cannot give`);
  if (used(n.input, 9)) throw new QattnError(`${id} uses inputs past cos/sin_cache (position_ids, attention_bias, head_sink…), which qattn infer does not carry`);
  if (num(n, 'softcap', 0) !== 0) throw new QattnError(`${id} uses softcap, which no qattn mechanism implements`);
  if (num(n, 'smooth_softmax', 0) !== 0) throw new QattnError(`${id} uses smooth_softmax, which no qattn mechanism implements`);
}

/** com.microsoft `GroupQueryAttention` with separate Q/K/V (see fused-ms-gqa.ts). */
export function msGroupQuery(n: NodeProto, g: GraphIndex): GqaCore {
  const id = `com.microsoft GroupQueryAttention node '${n.name ?? ''}'`;
  refuseGqaExtras(n, g, id);
  const [query = '', key = '', value = '', pastKey = '', pastValue = '', seqlensK = '', totalLength = '', cos = '', sin = ''] = n.input ?? [];
  if (key === '' || value === '') throw new QattnError(`${id} packs Q/K/V in one input; give query, key and value separately`);
  if ((pastKey === '') !== (pastValue === '')) throw new QattnError(`${id} has only one of past_key/past_value`);
  if (seqlensK === '' || totalLength === '') throw new QattnError(`${id} lacks seqlens_k or total_sequence_length`);
  const heads = num(n, 'num_heads', 0), kvHeads = num(n, 'kv_num_heads', 0);
  if (heads < 1 || kvHeads < 1 || heads % kvHeads !== 0) throw new QattnError(`${id}: num_heads ${heads} is not a multiple of kv_num_heads ${kvHeads}`);
  const rotary = num(n, 'do_rotary', 0) === 1;
  if (rotary && (cos === '' || sin === '')) throw new QattnError(`${id} uses do_rotary without cos_cache and sin_cache`);
  return {
    kind: 'ms-gqa', query, key, value, pastKey, pastValue, seqlensK, totalLength, cosCache: rotary ? cos : '', sinCache: rotary ? sin : '',
    rotaryInterleaved: num(n, 'rotary_interleaved', 0) === 1, heads, kvHeads, scale: scaleOf(n), window: num(n, 'local_window_size', -1),
  };
}
