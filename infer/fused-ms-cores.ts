/**
 * What a block of com.microsoft `Attention` or `GroupQueryAttention` reads. These ops do more inside the node
 * than FusedCore describes (Attention projects its input to Q|K|V itself; GroupQueryAttention appends to a KV
 * cache and may apply rotary embeddings), so they get cores of their own rather than extra FusedCore fields.
 * This file imports nothing from block.ts, which imports it.
 */

/** com.microsoft `Attention`: Q|K|V = input·weights + bias, computed inside the op. */
export interface MsAttentionCore {
  readonly kind: 'ms-attention';
  /** [B, S, D]. */
  readonly input: string;
  /** [D, hq + hk + hv], the Q, K and V projections side by side. */
  readonly weights: string;
  /** [hq + hk + hv]. */
  readonly bias: string;
  /** int32: [B] end positions, [2B] end and start positions, [B, T] or [B, S, T] of 0/1; '' when absent. */
  readonly maskIndex: string;
  /** Additive [B or 1, N or 1, S, T]; '' when absent. */
  readonly attnBias: string;
  readonly heads: number;
  /** qkv_hidden_sizes; null = three equal thirds of the weights' columns. */
  readonly qkvSizes: readonly [number, number, number] | null;
  /** null = 1/√d. */
  readonly scale: number | null;
  /** `unidirectional`: query i sees keys 0…i. */
  readonly causal: boolean;
  /** What a masked-out key adds to its score (mask_filter_value). */
  readonly maskFilter: number;
}

/** com.microsoft `GroupQueryAttention` with separate query/key/value (always causal, bottom-right in the cache). */
export interface GqaCore {
  readonly kind: 'ms-gqa';
  /** [B, S, N·d]. */
  readonly query: string;
  /** [B, S, Nkv·d]. */
  readonly key: string;
  readonly value: string;
  /** [B, Nkv, P, d]; '' when absent (no cache). */
  readonly pastKey: string;
  readonly pastValue: string;
  /** int32 [B]: total length − 1 of each sequence. */
  readonly seqlensK: string;
  /** int32 scalar. */
  readonly totalLength: string;
  /** [max position, rotary_dim / 2]; '' unless the op applies rotary embeddings. */
  readonly cosCache: string;
  readonly sinCache: string;
  readonly rotaryInterleaved: boolean;
  readonly heads: number;
  readonly kvHeads: number;
  readonly scale: number | null;
  /** local_window_size: a query sees at most this many keys (itself included); ≤ 0 = unlimited. */
  readonly window: number;
}

/** The tensors a com.microsoft core reads (for the splitter and the block's fetcher). */
export function msCoreReads(c: MsAttentionCore | GqaCore): string[] {
  return c.kind === 'ms-attention'
    ? [c.input, c.weights, c.bias, c.maskIndex, c.attnBias]
    : [c.query, c.key, c.value, c.pastKey, c.pastValue, c.seqlensK, c.totalLength, c.cosCache, c.sinCache];
}
