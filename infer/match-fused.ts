/**
 * Fused attention ops: ONNX `Attention` (opset 23+), com.microsoft `MultiHeadAttention`, and com.microsoft
 * `Attention` and `GroupQueryAttention` (match-fused-ms.ts). The whole node is the block. Features outside the one-head contract (a KV cache through past/present, softcap, returning the
 * QK product, packed QKV) are refused with a message naming the node rather than computed wrong.
 */
import { QattnError } from '../core/errors.ts';
import { attrValue, getAttr, type NodeProto } from '../onnx/index.ts';
import type { AttentionBlock, FusedCore } from './block.ts';
import type { GraphIndex } from './graph.ts';
import { msAttention, msGroupQuery } from './match-fused-ms.ts';

const num = (n: NodeProto, name: string, dflt: number): number => {
  const a = getAttr(n, name);
  return a === undefined ? dflt : Number(attrValue(a));
};

function refuseExtras(n: NodeProto, label: string, inputsFrom: number, outputsFrom: number): void {
  const extraIn = (n.input ?? []).slice(inputsFrom).some((x) => x !== '');
  const extraOut = (n.output ?? []).slice(outputsFrom).some((x) => x !== '');
  if (extraIn || extraOut) {
    throw new QattnError(`${label} node '${n.name ?? ''}' uses a KV cache or extra outputs (past/present/qk); qattn infer swaps attention without a cache only`);
  }
}

function onnxAttention(n: NodeProto): FusedCore {
  const label = 'Attention';
  refuseExtras(n, label, 4, 1);
  if (num(n, 'softcap', 0) !== 0) throw new QattnError(`${label} node '${n.name ?? ''}' uses softcap, which no qattn mechanism implements`);
  const [q = '', k = '', v = '', mask = ''] = n.input ?? [];
  const qHeads = num(n, 'q_num_heads', 0), kvHeads = num(n, 'kv_num_heads', 0);
  const scale = getAttr(n, 'scale');
  return {
    kind: 'fused', q, k, v, mask, keyPadding: '', qkvBias: '', qHeads: qHeads || 1, kvHeads: kvHeads || qHeads || 1,
    scale: scale ? Number(attrValue(scale)) : null, causal: num(n, 'is_causal', 0) === 1, maskFilter: -Infinity,
  };
}

function msMultiHead(n: NodeProto): FusedCore {
  const label = 'com.microsoft MultiHeadAttention';
  refuseExtras(n, label, 6, 1);
  const [q = '', k = '', v = '', bias = '', keyPadding = '', attnBias = ''] = n.input ?? [];
  if (k === '' || v === '') throw new QattnError(`${label} node '${n.name ?? ''}' packs Q/K/V in one input; give query, key and value separately`);
  const heads = num(n, 'num_heads', 0);
  if (heads < 1) throw new QattnError(`${label} node '${n.name ?? ''}' lacks num_heads`);
  const scale = getAttr(n, 'scale');
  const s = scale ? Number(attrValue(scale)) : 0;
  return {
    kind: 'fused', q, k, v, mask: attnBias, keyPadding, qkvBias: bias, qHeads: heads, kvHeads: heads,
    scale: s === 0 ? null : s, causal: num(n, 'unidirectional', 0) === 1, maskFilter: num(n, 'mask_filter_value', -10000),
  };
}

/** The block core and pattern of node n, or undefined when n is no fused attention op. */
function fusedCore(n: NodeProto, g: GraphIndex): [AttentionBlock['core'], AttentionBlock['pattern']] | undefined {
  const domain = n.domain ?? '';
  if (n.opType === 'Attention' && (domain === '' || domain === 'ai.onnx')) return [onnxAttention(n), 'onnx-attention'];
  if (domain !== 'com.microsoft') return undefined;
  if (n.opType === 'MultiHeadAttention') return [msMultiHead(n), 'ms-multihead-attention'];
  if (n.opType === 'Attention') return [msAttention(n), 'ms-attention'];
  if (n.opType === 'GroupQueryAttention') return [msGroupQuery(n, g), 'ms-group-query-attention'];
  return undefined;
}

/** Every fused attention node of the graph, in graph order. */
export function matchFused(g: GraphIndex): AttentionBlock[] {
  const blocks: AttentionBlock[] = [];
  g.nodes.forEach((n, i) => {
    const found = fusedCore(n, g);
    if (!found) return;
    const output = n.output?.[0] ?? '';
    blocks.push({ name: n.name || `block${i}`, pattern: found[1], nodes: [i], output, core: found[0] });
  });
  return blocks;
}
