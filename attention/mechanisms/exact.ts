/**
 * `exact`: softmax(Q·Kᵀ·scale + mask)·V with no approximation — the baseline every other mechanism is
 * measured against, in three executions:
 * - onnxruntime (kernels/ort/): com.microsoft MultiHeadAttention, or a decomposed Gemm–Softmax–MatMul graph
 *   where MHA cannot express the input; float32, about the machine's fp32 GEMM throughput;
 * - streaming (kernels/streaming.ts): blocked online softmax in TypeScript, O(m·dv + block) memory, for
 *   inputs ORT cannot take (score buffers beyond ORT_MAX_SCORES, no native binding);
 * - reference (kernels/reference.ts): the float64 source of truth, rounded to float32.
 */
import { QattnError } from '../../core/errors.ts';
import type { AttentionInput, AttentionOutput, CostReport, Mechanism, Options } from '../types.ts';
import { singlePhase } from '../define.ts';
import { emptyCost } from '../types.ts';
import { optNumber, optString } from '../options.ts';
import { referenceAttention64 } from '../kernels/reference.ts';
import { streamingAttention } from '../kernels/streaming.ts';
import { ortAttention, ortCannotRunReason } from '../kernels/ort/attention.ts';
import { firstNonFinite } from '../validate.ts';

const PATHS = ['auto', 'ort', 'streaming', 'reference'] as const;

/** Dot products exact attention needs: m·n, or Σ_i (i + n − m + 1) visible keys under bottom-right causal. */
export function exactScoreEvaluations(input: AttentionInput): number {
  const { m, n } = input;
  return input.causal ? m * (n - m + 1) + (m * (m - 1)) / 2 : m * n;
}

/** The cost of any exact attention: every visible (query, key) dot product. */
export function exactCost(input: AttentionInput): CostReport {
  const cost = emptyCost();
  cost.scoreEvaluations = exactScoreEvaluations(input);
  cost.selectedPerQuery = cost.scoreEvaluations / input.m;
  return cost;
}

/**
 * ORT computes scores in float32: finite inputs whose q·k exceeds ~3.4e38 (e.g. entries near 1e20) give ±∞
 * scores and a NaN softmax. Checking the output (O(m·dv), not an O(n·d) input scan) keeps the hot path fast;
 * `auto` then falls back to the streaming kernel, whose dot products and running max are float64 JS numbers.
 */
async function ortChecked(input: AttentionInput, threads: number, fallback: boolean): Promise<{ out: Float32Array; path: string }> {
  const r = await ortAttention(input, undefined, threads);
  const bad = firstNonFinite(r.out);
  if (bad < 0) return r;
  if (fallback) return { out: streamingAttention(input), path: 'streaming (ort float32 overflow)' };
  throw new QattnError(`exact path=ort gave ${r.out[bad]} at output index ${bad}: its float32 scores overflowed on this input ` +
    '(|q·k| beyond 3.4e38); use path=auto (falls back to streaming) or path=streaming');
}

async function run(input: AttentionInput, path: string, threads: number): Promise<{ out: Float32Array; path: string }> {
  switch (path) {
    case 'reference':
      return { out: Float32Array.from(referenceAttention64(input)), path: 'reference' };
    case 'streaming':
      return { out: streamingAttention(input), path: 'streaming' };
    case 'ort':
      return ortChecked(input, threads, false);
    default: // auto: ORT where it can take the input, else streaming
      return ortCannotRunReason(input) === null ? ortChecked(input, threads, true) : { out: streamingAttention(input), path: 'streaming' };
  }
}

export const exact: Mechanism = singlePhase({
  name: 'exact',
  family: 'exact',
  summary: 'exact softmax attention (onnxruntime fast path, streaming fallback, float64 reference)',
  reference: 'Vaswani et al. 2017 (arXiv:1706.03762); online softmax: Milakov & Gimelshein 2018 (arXiv:1805.02867)',
  options: {
    path: {
      type: 'enum',
      default: 'auto',
      values: PATHS,
      description: 'auto: onnxruntime where it can take the input, else streaming; ort; streaming (TypeScript, O(m·dv) memory); reference (float64)',
    },
    // Default 1: every other qattn mechanism runs on one core, so per-core speed is the fair comparison, and
    // ORT's spinning thread pool turns a busy second core into 5–10× slower, erratic decode timings.
    threads: {
      type: 'int',
      default: 1,
      min: 0,
      max: 256,
      description: 'onnxruntime intra-op threads (0 = one per core)',
    },
  },
  tolerance: {
    exhaustiveRelL2: 1e-5,
    note: 'float32 computation (onnxruntime or streaming) against the float64 reference',
  },
  costFields: { scoreEvaluations: 'sum', selectedPerQuery: 'mean' },
  exhaustiveOptions(): Options {
    return {};
  },
  notSupportedReasons(input: AttentionInput, options: Options): string[] {
    if (optString(options, 'path') !== 'ort') return [];
    const reason = ortCannotRunReason(input);
    return reason ? [reason] : [];
  },
  async attend(input: AttentionInput, options: Options): Promise<AttentionOutput> {
    const { out, path } = await run(input, optString(options, 'path'), optNumber(options, 'threads'));
    return { out, cost: exactCost(input), path };
  },
});
