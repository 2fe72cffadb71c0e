/**
 * `exact`: softmax(Q·Kᵀ·scale + mask)·V with no approximation — the baseline every other mechanism is
 * measured against, in three executions:
 * - onnxruntime (kernels/ort/): com.microsoft MultiHeadAttention, a decomposed Gemm–Softmax–MatMul graph, or
 *   key blocks of the split-K 'lse' graph merged in float64 (long decode, anything beyond ORT_MAX_SCORES);
 *   float32, about the machine's fp32 GEMM throughput;
 * - streaming (kernels/streaming.ts): blocked online softmax in TypeScript, O(m·dv + block) memory, where the
 *   native binding is missing or onnxruntime's float32 scores overflow;
 * - reference (kernels/reference.ts): the float64 source of truth, rounded to float32.
 */
import { QattnError } from '../../core/errors.ts';
import type { AttentionInput, AttentionOutput, CostReport, KvInput, Mechanism, OptionValues, QueryInput } from '../types.ts';
import { defineMechanism, fullInput, type PreparedState, type TypedPrepared } from '../define.ts';
import { emptyCost } from '../types.ts';
import { referenceAttention64 } from '../kernels/reference.ts';
import { streamingAttention } from '../kernels/streaming.ts';
import { bindOrtKv, ortAttention, ortCannotRunReason, warmOrtSessions, type OrtKv } from '../kernels/ort/attention.ts';
import { firstNonFinite } from '../validate.ts';

const PATHS = ['auto', 'ort', 'streaming', 'reference'] as const;

const OPTIONS = {
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
} as const;

/** What prepare builds: K and V bound as ORT tensors (null off the ORT paths, or without the binding). */
interface State {
  readonly ort: OrtKv | null;
}

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
async function ortChecked(input: AttentionInput, threads: number, fallback: boolean, bound: OrtKv | null): Promise<{ out: Float32Array; path: string }> {
  const r = await ortAttention(input, undefined, threads, bound ?? undefined);
  const bad = firstNonFinite(r.out);
  if (bad < 0) return r;
  if (fallback) return { out: streamingAttention(input), path: 'streaming (ort float32 overflow)' };
  throw new QattnError(`exact path=ort gave ${r.out[bad]} at output index ${bad}: its float32 scores overflowed on this input ` +
    '(|q·k| beyond 3.4e38); use path=auto (falls back to streaming) or path=streaming');
}

async function run(input: AttentionInput, path: string, threads: number, bound: OrtKv | null): Promise<{ out: Float32Array; path: string }> {
  switch (path) {
    case 'reference':
      return { out: Float32Array.from(referenceAttention64(input)), path: 'reference' };
    case 'streaming':
      return { out: streamingAttention(input), path: 'streaming' };
    case 'ort':
      return ortChecked(input, threads, false, bound);
    default: // auto: ORT where it can take the input, else streaming
      return ortCannotRunReason(input) === null ? ortChecked(input, threads, true, bound) : { out: streamingAttention(input), path: 'streaming' };
  }
}

/**
 * Once per cache: bind K and V as ORT tensors and build the mask-free sessions at this scale, so an attend is
 * only the run. Nothing here depends on Q (the graph an attend takes depends on m, causal and the mask).
 */
async function prepare(kv: KvInput, options: OptionValues<typeof OPTIONS>): Promise<PreparedState<State>> {
  if (options.path !== 'auto' && options.path !== 'ort') return { state: { ort: null } };
  const ort = bindOrtKv(kv);
  if (ort) await warmOrtSessions(kv.scale ?? 1 / Math.sqrt(kv.d), options.threads);
  return { state: { ort } };
}

async function attend(p: TypedPrepared<State, typeof OPTIONS>, query: QueryInput): Promise<AttentionOutput> {
  const input = fullInput(p.kv, query);
  const { out, path } = await run(input, p.options.path, p.options.threads, p.state.ort);
  return { out, cost: exactCost(input), path };
}

export const exact: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'exact',
  family: 'exact',
  summary: 'exact softmax attention (onnxruntime fast path, streaming fallback, float64 reference)',
  reference: 'Vaswani et al. 2017 (arXiv:1706.03762); online softmax: Milakov & Gimelshein 2018 (arXiv:1805.02867)',
  options: OPTIONS,
  budget: null, // every key, every query: the baseline the budgets are measured against
  tolerance: {
    kind: 'exhaustive',
    relL2: 1e-5,
    note: 'float32 computation (onnxruntime or streaming) against the float64 reference',
    options: () => ({}),
  },
  costFields: { scoreEvaluations: 'sum', selectedPerQuery: 'mean' },
  notSupportedReasons(input, options): string[] {
    if (options.path !== 'ort') return [];
    const reason = ortCannotRunReason(input);
    return reason ? [reason] : [];
  },
  prepare,
  attend,
  // No append: binding the grown K and V is O(1) (tensors over the grown arrays), so defineMechanism's
  // re-prepare is already the cheap way to grow this cache.
});
