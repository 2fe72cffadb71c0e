/**
 * What a pattern matcher found: one attention block, described by the tensors its core reads and writes, so
 * that the splitter (split.ts) can cut it out and execute.ts can compute it with any registered mechanism (head
 * by head, through decomposed-heads.ts / fused-heads.ts and heads.ts).
 */
import { msCoreReads, type GqaCore, type MsAttentionCore } from './fused-ms-cores.ts';

/** The patterns `qattn infer` recognises, in the words its messages and --json use. */
export const PATTERN_NAMES = ['decomposed', 'onnx-attention', 'ms-multihead-attention', 'ms-attention', 'ms-group-query-attention'] as const;
export type PatternName = (typeof PATTERN_NAMES)[number];

/** One step applied to the raw scores Q·Kᵀ before softmax, in graph order. */
export type ScoreOp =
  | { readonly kind: 'scale'; readonly factor: number }
  | { readonly kind: 'add'; readonly tensor: string }
  /** Where(cond, scores, fill) when `keepWhen` is true, Where(cond, fill, scores) when false. */
  | { readonly kind: 'where'; readonly cond: string; readonly fill: string; readonly keepWhen: boolean };

/** softmax(Q·Kᵀ ⊙ ops)·V written out of plain ops (MatMul, Mul/Div, Add/Where, Softmax, MatMul). */
export interface DecomposedCore {
  readonly kind: 'decomposed';
  /** Q as [..., m, d]. */
  readonly q: string;
  /** K as [..., n, d] when `kIsTransposed` is false, else Kᵀ as [..., d, n]. */
  readonly k: string;
  readonly kIsTransposed: boolean;
  /** V as [..., n, dv]. */
  readonly v: string;
  readonly ops: readonly ScoreOp[];
  /** Softmax axis as written (−1 or a non-negative axis, checked against the rank at run time). */
  readonly softmaxAxis: number;
}

/**
 * A fused attention op: ONNX `Attention` (opset 23) or com.microsoft `MultiHeadAttention`. Q/K/V are either
 * [B, H, S, d] or [B, S, H·d]; the head counts come from attributes.
 */
export interface FusedCore {
  readonly kind: 'fused';
  readonly q: string;
  readonly k: string;
  readonly v: string;
  /** Boolean (true = attend) or additive mask broadcastable to [B, H, m, n]; '' when absent. */
  readonly mask: string;
  /** com.microsoft key_padding_mask ([B, n] of 0/1); '' when absent. */
  readonly keyPadding: string;
  /** Additive bias for Q|K|V packed as [3·H·d] (com.microsoft MultiHeadAttention `bias`); '' when absent. */
  readonly qkvBias: string;
  readonly qHeads: number;
  readonly kvHeads: number;
  /** null = 1/√d. */
  readonly scale: number | null;
  /** Causal alignment: ONNX Attention is upper-left aligned; com.microsoft `unidirectional` too. */
  readonly causal: boolean;
  /** Value an additive mask uses for masked-out keys (com.microsoft mask_filter_value); −∞ otherwise. */
  readonly maskFilter: number;
}

export interface AttentionBlock {
  /** Stable name: the name of the node that writes the block's output, else `block<i>`. */
  readonly name: string;
  readonly pattern: PatternName;
  /** Indices (into the graph's node list) of the nodes the block replaces. */
  readonly nodes: readonly number[];
  /** The tensor the block writes (O as [..., m, dv] or [B, S, H·dv]). */
  readonly output: string;
  readonly core: DecomposedCore | FusedCore | MsAttentionCore | GqaCore;
}

/** The tensors a block reads, for the splitter (constants included; it reads those from the model). */
export function blockReads(b: AttentionBlock): string[] {
  const c = b.core;
  const names = c.kind === 'decomposed'
    ? [c.q, c.k, c.v, ...c.ops.flatMap((op) => (op.kind === 'add' ? [op.tensor] : op.kind === 'where' ? [op.cond, op.fill] : []))]
    : c.kind === 'fused' ? [c.q, c.k, c.v, c.mask, c.keyPadding, c.qkvBias] : msCoreReads(c);
  return [...new Set(names.filter((x) => x !== ''))];
}
