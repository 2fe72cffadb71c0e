/** The BullMQ queue of a run name (`--run NAME`, default `default`): submitters and workers meet there. */
import { QattnError } from '../../core/errors.ts';

export const DEFAULT_RUN = 'default';

/** Attempts of a job before its cell is recorded as failed (a worker refusing it, or dying on it). */
export const JOB_ATTEMPTS = 3;

export function queueName(run: string | undefined): string {
  const name = run ?? DEFAULT_RUN;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new QattnError(`--run ${name}: use 1–64 letters, digits, '.', '_' or '-'`);
  return `qattn-${name}`;
}
