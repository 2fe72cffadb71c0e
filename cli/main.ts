/**
 * The `qattn` dispatcher. Commands are data: a name, a one-line summary and a lazy loader, so adding a command
 * is one entry here, and `qattn --help` or a quick command never loads the heavy modules (ONNX Runtime, the
 * simulators) of the others.
 *
 * Error contract: a QattnError (anything the user can fix) prints `qattn: <message>` on one line to stderr and
 * exits 2, with no stack trace; anything else is a qattn bug and prints its stack, exit 1.
 */
import { readFileSync } from 'node:fs';
import { QattnError } from '../core/errors.ts';
import { processIo, type CliIo, type Command } from './args.ts';

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

export const commands: Readonly<Record<string, CommandEntry>> = {
  attend: {
    summary: 'run one attention mechanism on Q/K/V .npy files and write O.npy',
    load: async () => (await import('./attend.ts')).attendCommand,
  },
  list: {
    summary: 'list the attention mechanisms with their options, cost fields and tolerances',
    load: async () => (await import('./list.ts')).listCommand,
  },
  grover: {
    summary: 'Grover-style quantum search over attention scores (see qattn grover --help)',
    load: async () => (await import('./grover.ts')).groverCommand,
  },
  bench: {
    summary: 'the scaling benchmark: every mechanism across context lengths, speed and fidelity (see qattn bench --help)',
    load: async () => (await import('./bench.ts')).benchCommand,
  },
  worker: {
    summary: 'run the cells of queued bench runs (qattn bench --queue) on this machine, through BullMQ on Redis',
    load: async () => (await import('./worker.ts')).workerCommand,
  },
  chart: {
    summary: 'render the charts of a bench results.json as .vl.json, .svg and .png',
    load: async () => (await import('./chart.ts')).chartCommand,
  },
  report: {
    summary: 'write the charts and an offline HTML report (index.html) for a bench results.json',
    load: async () => (await import('./report.ts')).reportCommand,
  },
  verdict: {
    summary: 'the break-even table of a bench results.json: per hardware profile, QRAM model and classical parallelism',
    load: async () => (await import('./verdict.ts')).verdictCommand,
  },
  infer: {
    summary: 'swap the attention of an ONNX model (default: USE-lite) for a mechanism and report the output change',
    load: async () => (await import('./infer.ts')).inferCommand,
  },
  eval: {
    summary: 'bits/byte of the shipped byte-level GPT-2 with its attention swapped, against the unmodified model, and a copy task',
    load: async () => (await import('./eval.ts')).evalCommand,
  },
};

export function usage(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length));
  const rows = names.map((n) => `  ${n.padEnd(width)}  ${commands[n]!.summary}`);
  return [
    'usage: qattn <command> [flags]',
    '',
    'Benchmark of Grover-style quantum-inspired attention against exact, dequantized and classical sparse attention.',
    '',
    'commands:',
    ...rows,
    '',
    'Run `qattn <command> --help` (or `qattn help <command>`) for the flags of a command,',
    '`qattn --version` (-V) for the version.',
  ].join('\n');
}

/** What main answers itself, besides the commands: `qattn help [command]` and `qattn version`. */
export const BUILTINS = ['help', 'version'] as const;

/** The version in the package.json next to the sources, read when asked (no copy to keep in sync). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no "version" string');
  return pkg.version;
}

/** QattnError, also when a second copy of core/errors.ts was loaded (instanceof would then miss it). */
function isUserError(err: unknown): err is Error {
  return err instanceof QattnError || (err instanceof Error && err.name === 'QattnError' && (err as { exitCode?: unknown }).exitCode === 2);
}

/** Prints an error per the contract above and returns the exit code. */
export function reportError(err: unknown, io: CliIo): number {
  if (isUserError(err)) {
    io.err(`qattn: ${err.message.replace(/\s*\n\s*/g, ' ')}`);
    return 2;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  io.err(`qattn: internal error (please report): ${e.message}`);
  if (e.stack) io.err(e.stack);
  return 1;
}

function lookup(name: string): CommandEntry {
  if (!Object.prototype.hasOwnProperty.call(commands, name)) {
    throw new QattnError(`unknown command '${name}' (valid: ${Object.keys(commands).join(', ')}; see qattn --help)`);
  }
  return commands[name]!;
}

/** Runs `qattn <argv…>` and returns the process exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      // `qattn help attend` is `qattn attend --help`.
      if (name === 'help' && rest[0] !== undefined) return await (await lookup(rest[0]).load())(['--help'], io);
      io.out(usage());
      return 0;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      if (rest.length > 0) throw new QattnError(`${name} takes no arguments, got '${rest[0]}'`);
      io.out(packageVersion());
      return 0;
    }
    const command = await lookup(name).load();
    return await command(rest, io);
  } catch (err) {
    return reportError(err, io);
  }
}
