/**
 * `qattn verdict --in RESULTS.json [--json]`: the break-even table of a bench results file (bench/verdict.ts)
 * in the terminal, or with --json one JSON object per line per profile × QRAM model × S × noiseless/noisy.
 * Bad input — a missing file, invalid JSON, a document that does not match the schema — is one line, exit 2.
 */
import { loadResults } from '../bench/render.ts';
import { formatVerdict, verdictLines } from '../bench/verdict.ts';
import { HELP_FLAG, parseFlags, requireFlag, type CliIo } from './args.ts';

export const VERDICT_USAGE = `usage: qattn verdict --in RESULTS.json [--json]

When, if ever, would grover-topk on a QPU beat the H200's scores + top-32? For each hardware profile, QRAM
model and classical parallelism S (1, 10^3, 10^6): the break-even context length, noiseless and with the
profile's own error rates, and the oracle-call time needed at n = 2^20 beside the modeled one.

  --in FILE    results.json written by qattn bench
  --json       one JSON object per line: profile, qram, parallelism, noiseless, breakEvenN (null: never),
               neededOracleCallSeconds, modeledOracleCallSeconds, perCallError, competitor, note`;

export const VERDICT_FLAGS = { in: { type: 'string' }, json: { type: 'boolean' }, ...HELP_FLAG } as const;

export async function verdictCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags('verdict', argv, VERDICT_FLAGS);
  if (flags.help) {
    io.out(VERDICT_USAGE);
    return 0;
  }
  const doc = loadResults(requireFlag('verdict', 'in', flags.in));
  if (flags.json) {
    for (const line of verdictLines(doc)) io.out(JSON.stringify(line));
  } else {
    io.out(formatVerdict(doc));
  }
  return 0;
}
