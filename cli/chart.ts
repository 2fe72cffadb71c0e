/**
 * `qattn chart --in RESULTS.json [--out DIR]`: renders every chart of a results file as `.vl.json`, `.svg`
 * and `.png` (bench/render.ts). Bad input — a missing file, invalid JSON, a document that does not match
 * bench/results.schema.json — is one line on stderr, exit 2, and nothing written.
 */
import { dirname, resolve } from 'node:path';
import { renderChartFiles, type RenderedChart } from '../bench/render.ts';
import { CHARTS } from '../bench/charts/index.ts';
import { HELP_FLAG, parseFlags, requireFlag, type CliIo } from './args.ts';

export const CHART_USAGE = `usage: qattn chart --in RESULTS.json [--out DIR]

Renders the charts of a \`qattn bench\` results file: ${CHARTS.map((c) => c.id).join(', ')}.
Each chart is written as <id>.vl.json (Vega-Lite spec, data inlined), <id>.svg and <id>.png.

  --in FILE    results.json written by qattn bench
  --out DIR    output directory (default: the directory of --in; created if missing)`;

export const CHART_FLAGS = { in: { type: 'string' }, out: { type: 'string' }, ...HELP_FLAG } as const;

/** Where outputs go: --out, else beside the results file (a run directory holds its own charts). */
export function outputDir(input: string, out: string | undefined): string {
  return resolve(out ?? dirname(resolve(input)));
}

/** Non-fatal renderer warnings, one stderr line each (a correct chart has none). */
export function reportWarnings(charts: readonly RenderedChart[], io: CliIo): void {
  for (const c of charts) for (const w of c.warnings) io.err(`qattn: chart ${c.def.id}: ${w}`);
}

export async function chartCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags('chart', argv, CHART_FLAGS);
  if (flags.help) {
    io.out(CHART_USAGE);
    return 0;
  }
  const input = requireFlag('chart', 'in', flags.in);
  const dir = outputDir(input, flags.out);
  const result = await renderChartFiles(input, dir);
  reportWarnings(result.charts, io);
  io.out(`${result.charts.length} charts (${result.files.length} files) in ${dir}: ${result.charts.map((c) => c.def.id).join(', ')}`);
  return 0;
}
