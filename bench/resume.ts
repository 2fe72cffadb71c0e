/**
 * What `qattn bench --resume` accepts, decided before anything is written.
 *
 * A run directory can be resumed only when
 * 1. it holds a journal (`results.jsonl`): otherwise there is nothing to resume, and a silent fresh start
 *    would hide a typo in `--out`;
 * 2. it is unfinished (`meta.finishedAt` is null in its results.json): a finished run — including the
 *    committed `results/sample/` — is never rewritten;
 * 3. the flags describe the same run: the recorded seed and configuration (methods, workloads, mode, lengths,
 *    queries, dim, causal, quick, fit-min, npy inputs; not the limits --budget-s and --max-memory-gib, which a
 *    resumed run may change) equal the new ones, and every journaled cell belongs
 *    to the new plan. Resuming with other flags would mix two runs in one journal, so it is refused with
 *    the fields that differ and the recorded command. (Workload and method options are part of every cell's
 *    key, so they are checked through the journal.)
 * A bare `--resume` (no `--out`) looks only at timestamp-named directories under results/ and takes the
 * newest unfinished one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QattnError } from '../core/errors.ts';
import { cellKey, parseJournal } from './journal.ts';
import type { OutputPaths } from './output.ts';
import type { BenchConfigRecord, ResultsDoc } from './results.ts';

/** The names `timestampDir` gives (`2025-01-31T12-00-00Z`): the only directories a bare --resume considers. */
const RUN_DIR = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/;

interface Recorded {
  readonly seed: number;
  readonly config: BenchConfigRecord;
  readonly argv: readonly string[];
  readonly finishedAt: string | null;
}

/** The meta of `dir`'s results.json, or null when there is none or it cannot be read as one. */
function recorded(json: string): Recorded | null {
  if (!existsSync(json)) return null;
  try {
    const doc = JSON.parse(readFileSync(json, 'utf8')) as Partial<ResultsDoc>;
    const m = doc.meta;
    if (!m || typeof m.seed !== 'number' || typeof m.config !== 'object' || m.config === null) return null;
    return { seed: m.seed, config: m.config, argv: Array.isArray(m.argv) ? m.argv : [], finishedAt: m.finishedAt ?? null };
  } catch {
    return null;
  }
}

/** The newest unfinished, timestamp-named run with a journal under `root`, or null. */
export function latestRun(root: string): string | null {
  if (!existsSync(root)) return null;
  const runs = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && RUN_DIR.test(e.name) && existsSync(join(root, e.name, 'results.jsonl')))
    .filter((e) => recorded(join(root, e.name, 'results.json'))?.finishedAt == null)
    .map((e) => e.name)
    .sort();
  const last = runs.at(-1);
  return last === undefined ? null : join(root, last);
}

const show = (x: unknown): string => (Array.isArray(x) ? x.join(',') : JSON.stringify(x));

/**
 * Limits, not identity: a resumed run may raise (or lower) its time budget and memory limit — cells already
 * journaled keep what they recorded, and only the cells still to run see the new limits.
 */
const LIMIT_FIELDS: ReadonlySet<string> = new Set(['budgetS', 'prepareBudgetS', 'maxMemoryBytes']);

/** Fields of `given` that differ from the recorded run, as "name: recorded X, given Y". */
export function configDifferences(rec: { seed: number; config: BenchConfigRecord }, seed: number, given: BenchConfigRecord): string[] {
  const diffs: string[] = [];
  if (rec.seed !== seed) diffs.push(`seed: recorded ${rec.seed}, given ${seed}`);
  const keys = new Set([...Object.keys(rec.config), ...Object.keys(given)]) as Set<keyof BenchConfigRecord>;
  for (const k of keys) {
    if (LIMIT_FIELDS.has(k)) continue;
    const a = rec.config[k], b = given[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${k}: recorded ${show(a)}, given ${show(b)}`);
  }
  return diffs;
}

/** Throws a QattnError unless `paths.dir` may be resumed with this seed, configuration and plan (see above). */
export function checkResumable(paths: OutputPaths, seed: number, config: BenchConfigRecord, planKeys: readonly string[]): void {
  if (!existsSync(paths.journal)) {
    throw new QattnError(`--resume: ${paths.dir} holds no interrupted run (no results.jsonl); drop --resume to start a new run there`);
  }
  const rec = recorded(paths.json);
  if (rec?.finishedAt) {
    throw new QattnError(`--resume: ${paths.dir} is a finished run (finished ${rec.finishedAt}); nothing to resume, and it is not rewritten — choose another --out`);
  }
  const again = rec?.argv.length ? ` (recorded command: qattn bench ${rec.argv.join(' ')})` : '';
  const diffs = rec ? configDifferences(rec, seed, config) : [];
  if (diffs.length) {
    throw new QattnError(`--resume: the flags differ from the run in ${paths.dir} (${diffs.join('; ')}); resume with the recorded flags${again}, or choose another --out`);
  }
  const planned = new Set(planKeys);
  const { records } = parseJournal(readFileSync(paths.journal, 'utf8'));
  const foreign = records.filter((r) => !planned.has(cellKey(r)));
  if (foreign.length) {
    const r = foreign[0]!;
    throw new QattnError(`--resume: ${foreign.length} journaled cell(s) of ${paths.dir} are not in this run's plan (e.g. ${r.variant} on ${r.workload} at n=${r.n}: ` +
      `options or workload parameters differ); resume with the recorded flags${again}, or choose another --out`);
  }
}
