/**
 * One benchmark cell: a mechanism with fixed options on one generated input. It is asked whether it can run
 * (notSupportedReasons → `skipped`), timed (timing.ts; the warm-up call's output is the one scored), scored
 * against the shared reference, and its cost report and modeled QPU time recorded. Anything a mechanism
 * throws — or a NaN/Inf in its output — becomes an `error` record with the reason; the run goes on.
 */
import { QattnError } from '../core/errors.ts';
import type { AttentionInput, AttentionOutput, CostReport, Mechanism, Options } from '../attention/types.ts';
import { firstNonFinite } from '../attention/validate.ts';
import { modeledQpuSeconds } from './qpu.ts';
import type { Reference } from './reference.ts';
import type { BenchRecord, CellIdentity, CostFields, FailedRecord } from './results.ts';
import { scoreOutput } from './score.ts';
import { timeAsync, type TimingPlan } from './timing.ts';

export interface CellSpec {
  readonly identity: CellIdentity;
  readonly mech: Mechanism;
  readonly options: Options;
}

/** A one-line reason from anything thrown (user-facing errors keep their text; bugs keep their class name). */
export function reasonOf(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const first = (e.message.split('\n')[0] ?? '').trim() || 'unknown error';
  return e instanceof QattnError || e.name === 'Error' ? first : `${e.name}: ${first}`;
}

export function failedRecord(identity: CellIdentity, status: 'skipped' | 'error', reason: string): FailedRecord {
  return { ...identity, status, reason, path: null, timing: null, cost: null, fidelity: null, modeledQpuSeconds: null };
}

function costFields(c: CostReport): CostFields {
  return {
    scoreEvaluations: c.scoreEvaluations,
    oracleQueries: c.oracleQueries,
    groverIterations: c.groverIterations,
    samples: c.samples,
    selectedPerQuery: c.selectedPerQuery,
    extra: { ...c.extra },
  };
}

/** Why an output cannot be scored (wrong length, NaN/Inf), or null. */
function badOutput(input: AttentionInput, out: AttentionOutput): string | null {
  if (out.out.length !== input.m * input.dv) return `output has ${out.out.length} values, expected m×dv = ${input.m}×${input.dv}`;
  const i = firstNonFinite(out.out);
  return i < 0 ? null : `output contains ${out.out[i]} at flat index ${i}`;
}

/**
 * Runs one cell. `reference` is called (and awaited) before any timing starts, so reference work never
 * overlaps a timed call.
 */
export async function runCell(spec: CellSpec, input: AttentionInput, reference: () => Promise<Reference>, plan: TimingPlan): Promise<BenchRecord> {
  const { identity, mech, options } = spec;
  const reasons = mech.notSupportedReasons(input, options);
  if (reasons.length) return failedRecord(identity, 'skipped', reasons.join('; '));
  let ref: Reference;
  try {
    ref = await reference();
  } catch (err) {
    return failedRecord(identity, 'error', `reference failed: ${reasonOf(err)}`);
  }
  try {
    const { first, stats } = await timeAsync(() => mech.attend(input, options), plan);
    const bad = badOutput(input, first);
    if (bad) return failedRecord(identity, 'error', bad);
    return {
      ...identity,
      status: 'ok',
      reason: null,
      path: first.path ?? null,
      timing: stats,
      cost: costFields(first.cost),
      fidelity: scoreOutput(input, ref, first),
      modeledQpuSeconds: modeledQpuSeconds(first.quantum),
    };
  } catch (err) {
    return failedRecord(identity, 'error', reasonOf(err));
  }
}
