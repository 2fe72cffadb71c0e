/**
 * The one attention interface every qattn mechanism implements.
 *
 * Single head: a call computes O = softmax(Q·Kᵀ·scale + mask)·V for ONE head. Multi-head callers loop over
 * heads (see `attendHeads` in infer/heads.ts) — a loop keeps every mechanism's code and cost accounting per
 * head, which is also how selection methods (top-k, Grover) are defined in the literature.
 *
 * Layout: all matrices are float32, row-major. Q is [m×d], K is [n×d], V is [n×dv], O is [m×dv].
 *
 * Causal convention (bottom-right aligned, the KV-cache convention used by FlashAttention ≥ 2 and PyTorch's
 * `causal_lower_right`): query i of m sees keys 0 … i + n − m. With m = n this is the usual lower triangle;
 * with m = 1 (decode) the single query sees every key. Requires m ≤ n.
 */
import type { QuantumResourceRecord } from './quantum.ts';

/**
 * The KV cache of one head and what depends only on it: K [n×d], V [n×dv], the score scale and the seed. This is
 * what `prepare` sees (the two-phase interface below: build once, query many, as a KV cache in decode or an
 * ANN index's add/search).
 */
export interface KvInput {
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly n: number;
  readonly d: number;
  readonly dv: number;
  readonly scale?: number;
  readonly seed?: number;
}

/** The per-query part of a call against a prepared cache: Q [m×d], its causal flag and mask (against the n keys). */
export interface QueryInput {
  readonly q: Float32Array;
  readonly m: number;
  readonly causal?: boolean;
  readonly mask?: Float32Array;
}

/** Inputs of one attention call (one head). */
export interface AttentionInput {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  /** Number of queries. */
  readonly m: number;
  /** Number of keys (= number of values). */
  readonly n: number;
  /** Head dimension of Q and K. */
  readonly d: number;
  /** Value dimension. */
  readonly dv: number;
  /** Bottom-right aligned causal mask (see above). */
  readonly causal?: boolean;
  /**
   * Optional additive mask added to the scaled scores before softmax: length n (one row broadcast to every
   * query, e.g. a padding mask with −∞ / large negative on padded keys) or m·n (row-major, one row per query).
   * −Infinity is allowed and means "masked out"; NaN is not.
   */
  readonly mask?: Float32Array;
  /** Score scale; default 1/√d. */
  readonly scale?: number;
  /** Seed for any randomness in the mechanism (default 0). Recorded in results. */
  readonly seed?: number;
}

/**
 * Hardware-independent cost of one call, summed over all queries. Fields a mechanism does not use are null
 * (not 0), so "not applicable" never reads as "free".
 */
export interface CostReport {
  /** q·k dot products computed classically (each costs d multiply-adds). */
  scoreEvaluations: number;
  /** Quantum oracle calls (each a superposed query of all scores), summed over queries. */
  oracleQueries: number | null;
  /** Grover iterations (oracle + diffusion), summed over queries. */
  groverIterations: number | null;
  /** Samples drawn by sampling methods (importance samples, candidates), summed over queries. */
  samples: number | null;
  /** Mean number of keys each query attended to (selection methods); n for dense methods. */
  selectedPerQuery: number | null;
  /** Mechanism-specific counters (e.g. `rejectionTrials`, `simulatorScoreReads`, `measurements`). */
  extra: Record<string, number>;
}

/** What one attention call returns. */
export interface AttentionOutput {
  /** O, [m×dv] float32 row-major. */
  readonly out: Float32Array;
  readonly cost: CostReport;
  /** For selection methods: the key indices each query attended to (length m). */
  readonly selected?: readonly Int32Array[];
  /**
   * 'restricted-softmax': each query's attention row is the exact softmax restricted to its `selected` keys and
   * renormalised over them (p_j / Σ_S p for j ∈ S, 0 elsewhere), so tools can compare rows with exact attention's
   * (`qattn eval`'s KL and total variation). Absent when the weights are something else (sampling, features).
   */
  readonly weights?: 'restricted-softmax';
  /** Which execution path ran (e.g. `ort-mha`, `streaming`, `reference`), for results and debugging. */
  readonly path?: string;
  /**
   * Quantum resource records of mechanisms that run a (simulated) quantum algorithm (one per group of searches
   * sharing a circuit cost model); the benchmark turns them into modeled QPU seconds per hardware profile.
   * Plain data typed in attention/quantum.ts, so that attention/ does not depend on oracles/.
   */
  readonly quantum?: readonly QuantumResourceRecord[];
}

/**
 * How one cost field combines over heads: `sum` for counts (dot products, oracle calls, samples); `mean` for
 * per-query means, ratios and fractions (selectedPerQuery, trialsPerSample, a 0/1 cache hit); `max` for sizes and
 * per-call probabilities that are properties of one head's circuit (qubits, noisePerOracleCall), which must
 * never be added up (8 heads of a 791-qubit register are not a 6,328-qubit register).
 */
export type HeadCombine = 'sum' | 'mean' | 'max';

export type CostFieldName = Exclude<keyof CostReport, 'extra'> | `extra.${string}`;

/** A mechanism's cost fields and their head combination. */
export type CostFields = Readonly<Partial<Record<CostFieldName, HeadCombine>>>;

/** An option value after parsing. */
export type OptionValue = number | string | boolean;

/** A declared option of a mechanism: type, default, range or values, and one line of description. */
export type OptionDecl =
  | { readonly type: 'int' | 'number'; readonly default: number; readonly min: number; readonly max: number; readonly description: string }
  | { readonly type: 'enum'; readonly default: string; readonly values: readonly string[]; readonly description: string }
  | { readonly type: 'boolean'; readonly default: boolean; readonly description: string };

/** A mechanism's options, declared once by name (tfjs' kernel attrs, kvpress' typed press fields). */
export type OptionDecls = Readonly<Record<string, OptionDecl>>;

/**
 * The resolved option values a declaration implies: numbers for int/number, the declared literals for enum,
 * booleans — so `options.kk` or `options.k === 'x'` in a mechanism is a compile error, not a run-time one.
 */
export type OptionValues<O extends OptionDecls> = {
  readonly [K in keyof O]: O[K] extends { readonly type: 'enum'; readonly values: readonly (infer V)[] } ? V
    : O[K] extends { readonly type: 'boolean' } ? boolean : number;
};

/** One declared option with its name (what `qattn list` prints). */
export type OptionSpec = OptionDecl & { readonly name: string };

export type Options = Readonly<Record<string, OptionValue>>;

export type Family = 'exact' | 'quantum' | 'dequantized' | 'classical';

/**
 * A mechanism's declared accuracy against exact float64 attention: a relative-L2 bound in its exhaustive
 * setting (`exhaustiveOptions`, e.g. k = n), or none where no setting reproduces exact attention (sampling
 * and random-feature methods) — a tagged union, so a bound without a setting cannot be declared.
 */
export type Tolerance =
  | {
    readonly kind: 'exhaustive';
    /** Max relative L2 (Frobenius) error of O in the exhaustive setting. */
    readonly relL2: number;
    /** What the tolerance means for this mechanism, in one sentence. */
    readonly note: string;
  }
  | { readonly kind: 'none'; readonly note: string };

/** One attention mechanism, registered by name. */
export interface Mechanism {
  readonly name: string;
  readonly family: Family;
  /** One line for `qattn list`. */
  readonly summary: string;
  /** Paper(s) behind it. */
  readonly reference?: string;
  readonly options: OptionDecls;
  readonly tolerance: Tolerance;
  /**
   * The cost fields this mechanism fills (documented in `qattn list`), each with how it combines over the heads
   * of a multi-head call (attention/cost.ts). An `extra` counter a mechanism reports must be declared here.
   */
  readonly costFields: CostFields;
  /**
   * How this mechanism's options map to a per-query budget (`qattn bench --budget`), or null when it has no
   * knob (exact attention touches every key).
   */
  readonly budget: BudgetSpec | null;
  /**
   * Option values that make the mechanism attend to every key (k = n, or its equivalent), so its output
   * should match exact attention within `tolerance.relL2` (kind 'exhaustive'); null for kind 'none'.
   */
  exhaustiveOptions(n: number): Options | null;
  /**
   * Why this mechanism cannot run on this machine at all — e.g. a missing optional dependency — or null.
   * Omitted by mechanisms that always run.
   */
  unavailableReason?(): string | null;
  /** Why this mechanism cannot run this input with these options ([] = it can). */
  notSupportedReasons(input: AttentionInput, options: Options): string[];
  /**
   * Once-per-cache work: everything that depends only on K, V, scale, seed and options (sessions and bound
   * tensors, hash tables, indexes, sample-and-query trees, key features). `options` are complete and validated.
   */
  prepare(kv: KvInput, options: Options): Promise<Prepared>;
  /** Per-query work on a prepared cache. It never changes `prepared`, so any number of calls may share one. */
  attendPrepared(prepared: Prepared, query: QueryInput): Promise<AttentionOutput>;
  /**
   * Grows a prepared cache by kNew [t×d], vNew [t×dv] (a decode step), returning the grown cache; attending it
   * must equal preparing the concatenation. Absent where the mechanism cannot append (see `appendUnsupported`).
   */
  append?(prepared: Prepared, kNew: Float32Array, vNew: Float32Array): Promise<Prepared>;
  /** Why `append` is absent, in one sentence (required when it is). */
  readonly appendUnsupported?: string;
  /** One call: prepare then attendPrepared (derived by defineMechanism). */
  attend(input: AttentionInput, options: Options): Promise<AttentionOutput>;
}

/**
 * A per-query budget B (Sparse Frontier, arXiv 2504.17768, compares methods at equal compute): the options that
 * spend B units per query at context length n, what one unit is, and the cost field that counts it — so the
 * conformance suite checks every mapping against what the mechanism reports doing.
 */
export interface BudgetSpec {
  /** What one unit of budget is (keys kept, samples drawn, candidates scored, random features), and what is not counted. */
  readonly counts: string;
  /** The options that budget B sets at context length n, given the run's other options (`base`, resolved); merged over them, then validated. */
  options(budget: number, n: number, base: Options): Options;
  /** The units one query spent, read from an attend call's counts over m queries. */
  spent(cost: CostReport, m: number): number;
  /**
   * How far `spent` may lie from min(B, n) as a factor (1: exactly; 2: within ×/÷ 2, for a mapping through an
   * expected count such as LSH's colliding keys).
   */
  readonly slack: number;
}

/**
 * Counts of the once-per-cache work (`prepare`, `append`), reported apart from the per-query CostReport:
 * `scoreEvaluations` (dot products made while preparing) and named counters such as `hashEvaluations`,
 * `indexInsertions`, `sqTreeRows`, `featureEvaluations`, `qramWrites`.
 */
export interface PrepareCost {
  scoreEvaluations: number;
  extra: Record<string, number>;
}

/** A prepared KV cache: the cache, the resolved options it was prepared with, and the mechanism's own state. */
export interface Prepared<S = unknown> {
  readonly mechanism: string;
  readonly kv: KvInput;
  readonly options: Options;
  readonly state: S;
  /** What preparing (and any appends) cost so far. */
  readonly cost: PrepareCost;
}

/** A prepare cost with nothing counted yet. */
export function emptyPrepareCost(): PrepareCost {
  return { scoreEvaluations: 0, extra: {} };
}

/** A cost report with nothing counted yet. */
export function emptyCost(): CostReport {
  return { scoreEvaluations: 0, oracleQueries: null, groverIterations: null, samples: null, selectedPerQuery: null, extra: {} };
}
