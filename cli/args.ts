/**
 * Shared CLI plumbing: the command signature, where output goes, and flag parsing that turns every
 * command-line mistake into a one-line QattnError (exit 2) instead of node:util's multi-line TypeErrors.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { QattnError } from '../core/errors.ts';
import { fsErrorText } from '../core/fs-safe.ts';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Where a command writes. Injected so tests can run commands in-process and capture their output. */
export interface CliIo {
  /** One line (or block) of results, newline appended. */
  out(text: string): void;
  /** One line (or block) of diagnostics, newline appended. */
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

/**
 * Makes a failing standard output one `qattn:` line and exit 2 instead of an unhandled 'error' event with a
 * stack trace (`qattn list > /dev/full` gave ENOSPC, exit 1). EPIPE — the reader went away, as in
 * `qattn list | head -1` — ends the process quietly with the exit code it already had.
 */
export function guardStdout(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    process.stderr.write(`qattn: cannot write to standard output: ${fsErrorText(err)}\n`);
    process.exit(2);
  });
}

/** A subcommand: gets the arguments after its name, returns the exit code (0 ok, 2 user error). */
export type Command = (argv: string[], io: CliIo) => Promise<number>;

/** `--help` / `-h`, for every command's flag table. */
export const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

function flagError(command: string, err: { code: string; message: string }, options: ParseArgsOptionsConfig): QattnError {
  const quoted = /'(-[^' ]*)/.exec(err.message)?.[1] ?? '';
  const valid = Object.keys(options).map((k) => `--${k}`).join(', ');
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new QattnError(`unknown flag '${quoted}' for qattn ${command} (valid: ${valid})`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new QattnError(`qattn ${command} takes no positional arguments, got ${/'([^']*)'/.exec(err.message)?.[1] ?? 'one'} (flags: ${valid})`);
    default:
      if (/does not take an argument/.test(err.message)) return new QattnError(`flag ${quoted} of qattn ${command} takes no value`);
      if (/ambiguous/.test(err.message)) {
        return new QattnError(`flag ${quoted} of qattn ${command} needs a value (for a value starting with '-', write ${quoted}=-1)`);
      }
      return new QattnError(`flag ${quoted} of qattn ${command} needs a value`);
  }
}

/**
 * Parses `argv` against a flag table (node:util parseArgs, strict, no positionals). Unknown flags, missing
 * values and a non-repeatable flag given twice are QattnErrors naming the flag.
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(command: string, argv: readonly string[], options: O) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true });
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS') && typeof e.message === 'string') {
      throw flagError(command, { code: e.code, message: e.message }, options);
    }
    throw err;
  }
  // parseArgs silently keeps the last of a repeated flag; `--q a.npy --q b.npy` is more likely a typo.
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option' || options[t.name]?.multiple) continue;
    if (seen.has(t.name)) throw new QattnError(`flag --${t.name} of qattn ${command} given more than once`);
    seen.add(t.name);
  }
  return parsed.values;
}

/** The value of a required string flag. */
export function requireFlag(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new QattnError(`missing required flag --${name} (see qattn ${command} --help)`);
  return value;
}

/** Parses an optional numeric flag: finite, and within [min, max] when given. */
export function numberFlag(name: string, raw: string | undefined, min = -Infinity, max = Infinity): number | undefined {
  if (raw === undefined) return undefined;
  const x = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(x)) throw new QattnError(`--${name} must be a number, got '${raw}'`);
  if (x < min || x > max) throw new QattnError(`--${name} must be in [${min}, ${max}], got ${x}`);
  return x;
}

/** Parses an optional integer flag within [min, max]. */
export function intFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  const x = numberFlag(name, raw, min, max);
  if (x !== undefined && !Number.isInteger(x)) throw new QattnError(`--${name} must be an integer, got '${raw}'`);
  return x;
}
