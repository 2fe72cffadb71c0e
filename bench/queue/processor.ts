/**
 * What a `qattn worker` runs for one job, in a child process of BullMQ's sandbox (processor.mjs loads it): the
 * job's one-cell plan through the same runner as a local run — the input regenerated from the seed, the
 * float64 reference, limits, calibration — and the finished record back as the job's return value. The worker
 * process stays free to renew the job's lock however long the cell computes, so only a dead worker's jobs stall.
 *
 * The watchdog is the local run's (runner.ts, cell.ts): a phase still running at HARD_LIMIT_FACTOR × its
 * budget has its `skipped` record written to this job's journal file and this child killed. The job's next
 * attempt on this machine finds that record and returns it — the cell is recorded as skipped, as locally,
 * instead of hanging a worker forever. (An attempt on another machine runs into the limit itself.)
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setWorkerName } from '../host.ts';
import { parseJournal } from '../journal.ts';
import { CellHistory } from '../limits.ts';
import { autoMemoryLimit } from '../memory.ts';
import type { BenchRecord } from '../results.ts';
import { runBench } from '../runner.ts';
import { cellId, planOfJob, type CellJob } from './cell-job.ts';

/** What this thread measured so far: later cells of the same series are predicted from it, not calibrated again. */
const history = new CellHistory();

/** The share of this machine's memory one of the worker's C threads may use (qattn worker sets it). */
const memoryLimit = (): number => {
  const share = Number(process.env['QATTN_WORKER_MEMORY_BYTES']);
  return Number.isFinite(share) && share > 0 ? share : autoMemoryLimit();
};

const workerName = process.env['QATTN_WORKER_NAME'] ?? `${hostname()}:${process.ppid}`;
setWorkerName(workerName);

/** This worker's watchdog journal of a job (one record line, written only if the watchdog stopped the cell). */
function watchdogFile(key: string): string {
  const dir = join(tmpdir(), `qattn-worker-${workerName.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${key}.jsonl`);
}

/** The sandboxed processor: a job in, its cell's record out (a refused job throws, and BullMQ counts an attempt). */
export async function processCell(job: { readonly data: CellJob }): Promise<BenchRecord> {
  const plan = planOfJob(job.data, memoryLimit());
  const journal = watchdogFile(job.data.key);
  if (existsSync(journal)) {
    // An earlier attempt here was stopped by the watchdog: its skipped record is this cell's record.
    const [stopped] = parseJournal(readFileSync(journal, 'utf8')).records;
    rmSync(journal, { force: true });
    if (stopped) return stopped;
  }
  let record: BenchRecord | undefined;
  await runBench(plan, { get: () => undefined, add: (r) => (record = r) }, {}, journal, history);
  rmSync(journal, { force: true });
  if (!record) throw new Error('internal: the runner finished the job\'s plan without a record');
  // The record must be the cell that was asked for (its identity re-derived here, e.g. the workload's shape).
  const key = cellId(record, job.data.settings, job.data.qattnVersion);
  if (key !== job.data.key) throw new Error(`internal: the worker's cell ${key} is not the job's ${job.data.key} (its identity was derived differently)`);
  return record;
}
