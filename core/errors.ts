/**
 * Errors a user can fix (bad input, bad arguments, unsupported configuration).
 *
 * The CLI prints `qattn: <message>` on one line and exits with code 2 for these; anything else is a bug in
 * qattn and is reported with its stack. Library code throws `QattnError` for every problem the caller caused.
 */
export class QattnError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'QattnError';
  }
}

/** Throws a QattnError unless `cond` holds. */
export function check(cond: boolean, message: string | (() => string)): asserts cond {
  if (!cond) throw new QattnError(typeof message === 'function' ? message() : message);
}

/** "a, b or c" — for error messages that list the valid choices. */
export function listChoices(choices: readonly string[]): string {
  if (choices.length <= 1) return choices.join('');
  return `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}
