/**
 * What a `qattn worker` runs for one job, in a worker thread of BullMQ's sandbox (processor.mjs loads it): the
 * job's one-cell plan through the same runner as a local run — the input regenerated from the seed, the
 * float64 reference, limits, calibration — and the finished record back as the job's return value. The main
 * thread stays free to renew the job's lock however long the cell computes, so only a dead worker's jobs stall.
 */
import { threadId } from 'node:worker_threads';
import { hostname } from 'node:os';
import { setWorkerName } from '../host.ts';
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

setWorkerName(`${hostname()}:${process.pid}/${threadId}`);

/** The sandboxed processor: a job in, its cell's record out (a refused job throws, and BullMQ counts an attempt). */
export async function processCell(job: { readonly data: CellJob }): Promise<BenchRecord> {
  const plan = planOfJob(job.data, memoryLimit());
  let record: BenchRecord | undefined;
  await runBench(plan, { get: () => undefined, add: (r) => (record = r) }, {}, null, history);
  if (!record) throw new Error('internal: the runner finished the job\'s plan without a record');
  // The record must be the cell that was asked for (its identity re-derived here, e.g. the workload's shape).
  const key = cellId(record, job.data.settings, job.data.qattnVersion);
  if (key !== job.data.key) throw new Error(`internal: the worker's cell ${key} is not the job's ${job.data.key} (its identity was derived differently)`);
  return record;
}
