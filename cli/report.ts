/**
 * `qattn report --in RESULTS.json [--out DIR] [--open]`: every chart plus `index.html` — a self-contained
 * report that opens from disk with no network (bench/report.ts). `--open` hands it to xdg-open (the
 * freedesktop opener); where that is missing or fails, the path is printed for the user to open.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderAll } from '../bench/render.ts';
import { HELP_FLAG, parseFlags, requireFlag, type CliIo } from './args.ts';
import { outputDir, reportWarnings } from './chart.ts';

export const REPORT_USAGE = `usage: qattn report --in RESULTS.json [--out DIR] [--open]

Writes the charts of a \`qattn bench\` results file and index.html beside them: summary table, crossover
verdict, every chart, scaling fits and run metadata. It needs no network (no scripts; charts inlined as SVG).

  --in FILE    results.json written by qattn bench, or eval.json written by qattn eval --out (its downstream
               report: bits/byte per mechanism, per block, the copy task)
  --out DIR    output directory (default: the directory of --in; created if missing)
  --open       open index.html with xdg-open (prints the path when that is not available)`;

const FLAGS = { in: { type: 'string' }, out: { type: 'string' }, open: { type: 'boolean' }, ...HELP_FLAG } as const;

/** Starts `xdg-open path` detached; resolves false when it cannot be started (not installed, not executable). */
export function tryOpen(path: string, opener = 'xdg-open'): Promise<boolean> {
  return new Promise((resolveOpen) => {
    let child;
    try {
      child = spawn(opener, [path], { detached: true, stdio: 'ignore' });
    } catch {
      resolveOpen(false);
      return;
    }
    child.once('error', () => resolveOpen(false));
    child.once('spawn', () => {
      child.unref();
      resolveOpen(true);
    });
  });
}

/** An eval.json (qattn eval --out) gets its downstream report; anything else is left to the bench report (null). */
async function downstreamReport(input: string, out: string | undefined): Promise<string | null> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(input, 'utf8'));
  } catch {
    return null; // the bench path reports an unreadable or invalid file in its own words
  }
  const { isEvalDoc, readEvalDoc } = await import('../infer/eval-doc.ts');
  const { writeEvalReport } = await import('../infer/eval-report.ts');
  if (!isEvalDoc(doc)) return null;
  const dir = outputDir(input, out);
  await writeEvalReport(readEvalDoc(input, doc), dir, false);
  return join(dir, 'index.html');
}

export async function reportCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags('report', argv, FLAGS);
  if (flags.help) {
    io.out(REPORT_USAGE);
    return 0;
  }
  const input = requireFlag('report', 'in', flags.in);
  const evalReport = await downstreamReport(input, flags.out);
  if (evalReport) {
    io.out(`report: ${evalReport} (downstream: qattn eval)`);
    if (flags.open && !(await tryOpen(evalReport))) io.err(`qattn: cannot run xdg-open; open ${pathToFileURL(evalReport).href} in a browser`);
    return 0;
  }
  const result = await renderAll(input, outputDir(input, flags.out));
  reportWarnings(result.charts, io);
  const report = result.report;
  io.out(`report: ${report} (${result.charts.length} charts)`);
  if (flags.open && !(await tryOpen(report))) {
    io.err(`qattn: cannot run xdg-open; open ${pathToFileURL(report).href} in a browser`);
  }
  return 0;
}
