/**
 * Benchmark workloads: seeded generators of one attention head's Q/K/V for a given mode and context length.
 * A workload is data (a name, numeric parameters with ranges) plus a pure `generate`, so the runner, the CLI
 * and the results file can enumerate and record them without knowing how each one builds its matrices.
 */
import type { AttentionInput } from '../../attention/types.ts';

/**
 * `decode`: m queries against n keys — the long-context KV-cache case, where one new token (or a small block of
 * speculative tokens) attends to the whole cache. `prefill`: m = n, every position attends to the sequence.
 */
export type BenchMode = 'decode' | 'prefill';
export const BENCH_MODES: readonly BenchMode[] = ['decode', 'prefill'];

/** What the runner asks a workload for. */
export interface WorkloadRequest {
  readonly mode: BenchMode;
  /** Number of keys. */
  readonly n: number;
  /** Number of queries in decode mode (prefill always uses m = n). */
  readonly m: number;
  readonly d: number;
  readonly causal: boolean;
  readonly seed: number;
}

/** A numeric workload parameter (`--opt zipf.alpha=1.2`). */
export interface WorkloadParam {
  readonly name: string;
  readonly integer: boolean;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly description: string;
}

export type WorkloadParams = Readonly<Record<string, number>>;

export interface WorkloadShape {
  readonly m: number;
  readonly d: number;
  readonly dv: number;
}

export interface Workload {
  readonly name: string;
  /** One line for `qattn bench --help` and the results README. */
  readonly summary: string;
  readonly params: readonly WorkloadParam[];
  /** Largest n this workload can produce (a file's key count), or null for synthetic workloads. */
  readonly maxN: number | null;
  /** Fixed head dimension (a file's d), or null when the request's d is used. */
  readonly fixedD: number | null;
  /** The m, d, dv that `generate` will produce for this request (cheap: the runner plans cells with it). */
  shape(req: WorkloadRequest): WorkloadShape;
  /**
   * Builds the input; same request and params → bit-identical Q/K/V. Throws QattnError when the request
   * cannot be met (e.g. n larger than a file's). The returned input has no seed: the runner sets it.
   */
  generate(req: WorkloadRequest, params: WorkloadParams): WorkloadInput;
}

/**
 * What a task workload's queries must answer (bench/workloads/tasks.ts), scored as task accuracy: per query an
 * answer vector (dv values) and either rivals it must be nearer than ('nearest') or a relative error it must be
 * within ('relative').
 */
export interface TaskAnswers {
  readonly kind: 'nearest' | 'relative';
  readonly answers: readonly Float32Array[];
  /** 'nearest': per query, the vectors a wrong retrieval would land nearer; null for 'relative'. */
  readonly rivals: readonly (readonly Float32Array[])[] | null;
  /** 'relative': ‖out − answer‖ ≤ tolerance·‖answer‖ is correct; null for 'nearest'. */
  readonly tolerance: number | null;
}

/** A generated input, with its task's answers when the workload is a task. */
export type WorkloadInput = AttentionInput & { readonly task?: TaskAnswers };

/** Queries generated for a request: m in decode, n in prefill. */
export function queryCount(req: WorkloadRequest): number {
  return req.mode === 'prefill' ? req.n : req.m;
}

/** The shape of every synthetic workload: m from the mode, d = dv = the requested d. */
export function syntheticShape(req: WorkloadRequest): WorkloadShape {
  return { m: queryCount(req), d: req.d, dv: req.d };
}
