/**
 * The one way into a mechanism, for every tool (CLI, benchmark, ONNX swap, conformance suite): resolve the
 * options, ask whether the mechanism is available and can run this input (refusal reasons), validate, then
 * prepare the KV cache once and attend queries against it — timed apart, so "query time" means the same thing
 * for every mechanism and the once-per-cache work (sessions, hash tables, indexes, trees, key features) is
 * reported on its own.
 */
import { QattnError } from '../core/errors.ts';
import { fullInput, kvOf, queryOf } from './define.ts';
import { resolveOptions } from './options.ts';
import { getMechanism } from './registry.ts';
import type { AttentionInput, AttentionOutput, KvInput, Mechanism, OptionValue, Options, Prepared, QueryInput } from './types.ts';
import { firstNonFinite, validateInput, validateKv, validateQuery } from './validate.ts';

export interface RunResult {
  readonly output: AttentionOutput;
  readonly options: Options;
  /** Wall time of attending the prepared cache alone (no prepare, validation or I/O), milliseconds. */
  readonly ms: number;
  /** Wall time of prepare (the once-per-cache work), milliseconds. */
  readonly prepareMs: number;
  readonly prepared: Prepared;
}

type Given = Readonly<Record<string, OptionValue>>;

/** Refuses (QattnError) when the mechanism is unavailable here or cannot run this input with these options. */
export function checkRunnable(mech: Mechanism, input: AttentionInput, options: Options): void {
  const unavailable = mech.unavailableReason?.();
  if (unavailable) throw new QattnError(unavailable);
  const reasons = mech.notSupportedReasons(input, options);
  if (reasons.length) throw new QattnError(`${mech.name} cannot run this input: ${reasons.join('; ')}`);
}

async function timedPrepare(mech: Mechanism, kv: KvInput, options: Options): Promise<{ prepared: Prepared; ms: number }> {
  const t0 = performance.now();
  const prepared = await mech.prepare(kv, options);
  return { prepared, ms: performance.now() - t0 };
}

async function timedAttend(mech: Mechanism, prepared: Prepared, query: QueryInput): Promise<{ output: AttentionOutput; ms: number }> {
  const t0 = performance.now();
  const output = await mech.attendPrepared(prepared, query);
  const ms = performance.now() - t0;
  // The input was checked finite, so a NaN/Inf is the mechanism's own overflow or bug: never hand it on to be
  // written silently (O(m·dv), outside the timed call).
  const bad = firstNonFinite(output.out);
  if (bad >= 0) {
    throw new QattnError(`${mech.name} produced ${output.out[bad]} at output index ${bad} (row ${Math.floor(bad / prepared.kv.dv)}) on finite input` +
      `${output.path ? ` (path ${output.path})` : ''}; its arithmetic overflowed or failed here, so nothing was written`);
  }
  return { output, ms };
}

/** Prepares a KV cache for `method`: options resolved and checked, the cache validated, availability checked. */
export async function prepareAttention(method: string, kv: KvInput, given: Given = {}): Promise<{ prepared: Prepared; ms: number }> {
  const mech = getMechanism(method);
  const options = resolveOptions(mech, given);
  validateKv(kv);
  return prepareValidated(method, kv, options);
}

/**
 * prepareAttention for a cache the caller has already checked with validateKv and does not change: everything
 * but the O(n·(d + dv)) finiteness scan. For the benchmark, which prepares one generated cache for every
 * mechanism (and repeats quick prepares): the scan then runs once per cache — at n = 2^20 it is ~0.3 s, paid
 * otherwise by each of ten mechanisms and each repeat.
 */
export async function prepareValidated(method: string, kv: KvInput, given: Given = {}): Promise<{ prepared: Prepared; ms: number }> {
  const mech = getMechanism(method);
  const options = resolveOptions(mech, given);
  const unavailable = mech.unavailableReason?.();
  if (unavailable) throw new QattnError(unavailable);
  return timedPrepare(mech, kv, options);
}

/** Attends `query` against a prepared cache: validated, refused with reasons where the mechanism cannot run it. */
export async function attendPrepared(prepared: Prepared, query: QueryInput): Promise<{ output: AttentionOutput; ms: number }> {
  const mech = getMechanism(prepared.mechanism);
  validateQuery(prepared.kv, query);
  checkRunnable(mech, fullInput(prepared.kv, query), prepared.options);
  return timedAttend(mech, prepared, query);
}

/** One call: validate and refuse before any work, then prepare and attend once. */
export async function runAttention(method: string, input: AttentionInput, given: Given = {}): Promise<RunResult> {
  const mech = getMechanism(method);
  const options = resolveOptions(mech, given);
  validateInput(input);
  checkRunnable(mech, input, options);
  const { prepared, ms: prepareMs } = await timedPrepare(mech, kvOf(input), options);
  const { output, ms } = await timedAttend(mech, prepared, queryOf(input));
  return { output, options, ms, prepareMs, prepared };
}
