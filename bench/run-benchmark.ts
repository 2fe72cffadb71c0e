/**
 * The benchmark runner as a library: `runBenchmark(config, options)` runs a plan (bench/config.ts buildConfig
 * makes one from flags) into an output directory and returns the results document. It owns what a run needs
 * beyond executing cells: the crash-safe journal (`--resume`), the run's metadata, results.json and
 * results.csv after every cell, and the charts and report at the end. The CLI only turns flags into a plan and
 * prints (as mitata's `run()` returns data and printing is separate; kvpress splits its EvaluationRunner from
 * the CLI entry point).
 *
 * Who executes the cells is the `execute` option: `localExecutor` (this process, runner.ts — the default) or a
 * queue's (bench/queue/submit.ts: BullMQ jobs that any number of `qattn worker` processes run). Both hand every
 * finished record to the same sink, so journal, resume and outputs do not depend on where a cell ran.
 */
import { existsSync } from 'node:fs';
import { QattnError } from '../core/errors.ts';
import { ensureDir } from '../core/fs-safe.ts';
import type { BenchConfig } from './config.ts';
import { cellKey, Journal } from './journal.ts';
import { finishMeta, startMeta } from './meta.ts';
import { buildDoc, outputPaths, writeResults, type OutputPaths } from './output.ts';
import type { BenchRecord, ResultsDoc } from './results.ts';
import { checkResumable } from './resume.ts';
import { planGroups, runBench, type BenchPlan, type ResultSink, type RunnerHooks } from './runner.ts';

/**
 * Runs every cell of `plan` the sink does not hold yet, handing each finished record to the sink as it
 * finishes; resolves with every record of the plan, in plan order. `journal` is the sink's journal file (the
 * local watchdog appends to it before it stops a runaway cell).
 */
export type CellExecutor = (plan: BenchPlan, sink: ResultSink, hooks: RunnerHooks, journal: string) => Promise<BenchRecord[]>;

/** Cells run in this process, one at a time (runner.ts). */
export const localExecutor: CellExecutor = (plan, sink, hooks, journal) => runBench(plan, sink, hooks, journal);

export interface BenchmarkOptions {
  /** Output directory: results.json, results.csv, the journal results.jsonl, charts and index.html. */
  readonly dir: string;
  /** Continue the run in `dir` (its journal): cells it holds are not run again. */
  readonly resume?: boolean;
  /** The command line, recorded in meta.argv. */
  readonly argv?: readonly string[];
  readonly hooks?: RunnerHooks;
  /** Who runs the cells (default: this process). */
  readonly execute?: CellExecutor;
  /** Render the charts and index.html after the run (default true). */
  readonly charts?: boolean;
}

export interface BenchmarkResult {
  readonly doc: ResultsDoc;
  readonly paths: OutputPaths;
  /** index.html, or null without charts. */
  readonly report: string | null;
  readonly seconds: number;
}

/**
 * Runs `config.plan` into `options.dir`. results.json is written before the first cell (so --resume can check
 * the seed and configuration) and after every cell; the final one is validated against the schema. Charts are
 * rendered after the results are safely written, so a chart failure never costs a run.
 */
export async function runBenchmark(config: BenchConfig, options: BenchmarkOptions): Promise<BenchmarkResult> {
  const paths = outputPaths(options.dir);
  const keys = planGroups(config.plan).flatMap((g) => g.cells.map((c) => cellKey(c.identity)));
  const resume = options.resume === true;
  if (resume) checkResumable(paths, config.plan.seed, config.record, keys);
  else if (existsSync(paths.json)) throw new QattnError(`${paths.dir} already holds results: choose another --out (or --resume)`);
  ensureDir(paths.dir);
  const journal = new Journal(paths.journal, resume);
  try {
    const t0 = performance.now();
    const meta = startMeta(options.argv ?? [], config.plan.seed, config.record, keys.filter((k) => journal.get(k)).length, config.plan.limits.memoryLimitBytes);
    const soFar = (): BenchRecord[] => keys.flatMap((k) => journal.get(k) ?? []);
    const snapshot = (): void => writeResults(paths, buildDoc(meta, soFar(), config.fitMinN), false);
    snapshot();
    const sink: ResultSink = {
      get: (k) => journal.get(k),
      add: (r) => {
        journal.append(r);
        snapshot();
      },
    };
    const records = await (options.execute ?? localExecutor)(config.plan, sink, options.hooks ?? {}, paths.journal);
    const doc = buildDoc(finishMeta(meta, t0), records, config.fitMinN);
    writeResults(paths, doc, true);
    const seconds = (performance.now() - t0) / 1000;
    let report: string | null = null;
    if (options.charts !== false) {
      // Imported lazily: vega and sharp are heavy, and a run without charts must not pay for them.
      const { renderAll } = await import('./render.ts');
      report = (await renderAll(paths.json, paths.dir)).report;
    }
    return { doc, paths, report, seconds };
  } finally {
    journal.close();
  }
}
