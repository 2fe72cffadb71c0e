/** Running `qattn` from tests: in-process through cli/main.ts (fast), or as the real bin (exit codes, stderr). */
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../../cli/args.ts';
import { main } from '../../cli/main.ts';

/** bin/qattn.mjs, for tests that spawn the real command. */
export const BIN = fileURLToPath(new URL('../../bin/qattn.mjs', import.meta.url));

export interface CliRun {
  code: number;
  /** One entry per line the command printed on stdout / stderr. */
  out: string[];
  err: string[];
}

/** Runs `qattn ...argv` in-process and captures what it prints. */
export async function runCli(...argv: string[]): Promise<CliRun> {
  const r: CliRun = { code: -1, out: [], err: [] };
  const io: CliIo = { out: (t) => void r.out.push(t), err: (t) => void r.err.push(t) };
  r.code = await main(argv, io);
  return r;
}
