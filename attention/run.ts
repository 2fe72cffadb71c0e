/**
 * The one entry point every tool uses to run a mechanism: validates the input, resolves options, asks the
 * mechanism whether it can run this input, then runs it.
 */
import { QattnError } from '../core/errors.ts';
import { resolveOptions } from './options.ts';
import { getMechanism } from './registry.ts';
import type { AttentionInput, AttentionOutput, OptionValue, Options } from './types.ts';
import { firstNonFinite, validateInput } from './validate.ts';

export interface RunResult {
  readonly output: AttentionOutput;
  readonly options: Options;
  /** Wall time of the mechanism's attend call alone (no validation, no I/O), milliseconds. */
  readonly ms: number;
}

export async function runAttention(
  method: string,
  input: AttentionInput,
  given: Readonly<Record<string, OptionValue>> = {},
): Promise<RunResult> {
  const mech = getMechanism(method);
  const options = resolveOptions(mech, given);
  validateInput(input);
  const unavailable = mech.unavailableReason?.();
  if (unavailable) throw new QattnError(unavailable);
  const reasons = mech.notSupportedReasons(input, options);
  if (reasons.length) throw new QattnError(`${mech.name} cannot run this input: ${reasons.join('; ')}`);
  const t0 = performance.now();
  const output = await mech.attend(input, options);
  const ms = performance.now() - t0;
  // The input was checked finite above, so a NaN/Inf here is the mechanism's own overflow or bug: never hand it
  // on to be written silently (O(m·dv), outside the timed call).
  const bad = firstNonFinite(output.out);
  if (bad >= 0) {
    throw new QattnError(`${mech.name} produced ${output.out[bad]} at output index ${bad} (row ${Math.floor(bad / input.dv)}) on finite input` +
      `${output.path ? ` (path ${output.path})` : ''}; its arithmetic overflowed or failed here, so nothing was written`);
  }
  return { output, options, ms };
}
