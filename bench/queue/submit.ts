/**
 * `qattn bench --queue URL [--run NAME]`: the plan's cells become BullMQ jobs on the run's queue, their job ids
 * the cells' content addresses (cell-job.ts), so submitting the same plan again — after a crash, from another
 * machine, with --resume — adds nothing that is already queued or done. Any number of `qattn worker` processes
 * run them; this process collects each finished record into the run's journal and results.json (the same sink
 * as a local run), prints progress across all workers, and returns when every cell has a record.
 *
 * A cell whose job failed on all its attempts (a worker refused or died on it every time) is recorded as an
 * error with the last reason — never retried forever. If Redis comes back without the queue's data (no
 * persistence), the missing jobs are added again: nothing is lost, and records already collected are kept.
 */
import { Queue, type Job } from 'bullmq';
import { cellKey } from '../journal.ts';
import { failedRecord } from '../cell.ts';
import type { BenchConfig } from '../config.ts';
import type { BenchRecord } from '../results.ts';
import type { ResultSink, RunnerHooks } from '../runner.ts';
import type { CellExecutor } from '../run-benchmark.ts';
import { jobsOf, type CellJob } from './cell-job.ts';
import { checkReachable, parseQueueUrl, redisOptions } from './connection.ts';
import { JOB_ATTEMPTS, queueName } from './names.ts';

export interface QueueRun {
  readonly execute: CellExecutor;
  describe(): string;
  close(): Promise<void>;
}

/** How often the submitter looks at its pending jobs (ms), and prints the queue's state (ms). */
const POLL_MS = 500;
const STATUS_MS = 10_000;
/** Jobs looked up at once (one Redis round trip each, in parallel). */
const BATCH = 200;

const jobOptions = (key: string) => ({
  jobId: key, attempts: JOB_ATTEMPTS, backoff: { type: 'fixed' as const, delay: 1000 }, removeOnComplete: false, removeOnFail: false,
});

/** Checks the queue URL (one line within seconds if wrong or unreachable) and returns the run's executor. */
export async function connectQueue(raw: string, run: string | undefined, config: BenchConfig): Promise<QueueRun> {
  const url = parseQueueUrl(raw);
  const name = queueName(run);
  const jobs = jobsOf(config.plan); // refuses a plan that cannot be queued (npy) before anything is submitted
  const version = await checkReachable(url);
  const queue = new Queue<CellJob, BenchRecord>(name, { connection: redisOptions(url) });
  const execute: CellExecutor = (plan, sink, hooks) => collect(queue, plan === config.plan ? jobs : jobsOf(plan), sink, hooks, `${url.display}${run ? ` --run ${run}` : ''}`, version);
  return {
    execute,
    describe: () => `${url.display} (queue ${name})`,
    close: () => queue.close(),
  };
}

/**
 * Queues `jobs` (those the sink does not hold) and waits until each has a record in the sink; returns every
 * job's record in order. Exported for tests that queue jobs a plan cannot make (a cell of other code).
 */
export async function collect(queue: Queue<CellJob, BenchRecord>, jobs: readonly CellJob[], sink: ResultSink, hooks: RunnerHooks, where: string, version: string): Promise<BenchRecord[]> {
  const total = jobs.length;
  const pending = new Map<string, { job: CellJob; index: number }>();
  jobs.forEach((job, index) => {
    const done = sink.get(cellKey(job.identity));
    if (done) hooks.onCellDone?.(index, total, done, true);
    else pending.set(job.key, { job, index });
  });
  const add = async (list: readonly CellJob[]): Promise<void> => {
    for (let i = 0; i < list.length; i += 500) {
      await queue.addBulk(list.slice(i, i + 500).map((job) => ({ name: 'cell', data: job, opts: jobOptions(job.key) })));
    }
  };
  await add([...pending.values()].map((p) => p.job));
  hooks.onNote?.(`queued ${pending.size} of ${total} cells on queue ${queue.name} (Redis ${version}); start workers with: qattn worker --queue ${where}`);
  // Records found on the first look were done before this submission (an earlier one of the same cells).
  let firstLook = true;
  const finish = (key: string, record: BenchRecord, resumed: boolean): void => {
    const p = pending.get(key)!;
    pending.delete(key);
    sink.add(record);
    hooks.onCellDone?.(p.index, total, record, resumed);
  };

  const settle = async (key: string, job: Job<CellJob, BenchRecord>): Promise<void> => {
    if (job.finishedOn && job.returnvalue && typeof job.returnvalue === 'object') {
      finish(key, job.returnvalue, firstLook);
      return;
    }
    // Only a job that has failed at least once can be finally failed: the others cost no second round trip.
    if (!job.failedReason) return;
    // BullMQ moves a job with attempts left straight back to waiting or delayed, so 'failed' is final: all its
    // attempts were spent, or it stalled more often than a worker may stall it (maxStalledCount).
    if ((await job.getState()) !== 'failed') return;
    if (firstLook) {
      // Failed before this submission (a worker of other code refused it, a worker died on it): this
      // submission gives it its attempts again rather than taking an old failure as the cell's record.
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return;
    }
    const identity = pending.get(key)!.job.identity;
    const why = job.failedReason.split('\n')[0];
    const attempts = job.attemptsMade >= JOB_ATTEMPTS ? `on all ${JOB_ATTEMPTS} attempts` : `after ${job.attemptsMade} of ${JOB_ATTEMPTS} attempts`;
    finish(key, failedRecord(identity, 'error', `the queued cell failed ${attempts}; the last: ${why}`), false);
  };

  // The connection retries by itself and every command waits for it; while Redis is away, say so every STATUS_MS.
  let lastOk = Date.now(), lastError = '';
  const onError = (e: Error): void => {
    lastError = e.message.split('\n')[0] ?? '';
  };
  queue.on('error', onError);
  const outage = setInterval(() => {
    const away = Date.now() - lastOk;
    if (away >= STATUS_MS) hooks.onNote?.(`waiting for Redis (${lastError || 'no answer'}) for ${(away / 1000).toFixed(0)} s; the run continues when it is back`);
  }, STATUS_MS);
  outage.unref();
  let lastStatus = performance.now();
  try {
    while (pending.size) {
      const keys = [...pending.keys()];
      const missing: CellJob[] = [];
      for (let i = 0; i < keys.length; i += BATCH) {
        const found = await Promise.all(keys.slice(i, i + BATCH).map(async (key) => [key, await queue.getJob(key)] as const));
        lastOk = Date.now();
        for (const [key, job] of found) {
          if (!job) missing.push(pending.get(key)!.job);
          else await settle(key, job);
        }
      }
      firstLook = false;
      if (missing.length) {
        hooks.onNote?.(`${missing.length} cells were no longer on the queue (Redis restarted without its data?): queued again`);
        await add(missing);
      }
      if (performance.now() - lastStatus >= STATUS_MS && pending.size) {
        lastStatus = performance.now();
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        // CLIENT LIST may be refused (an ACL user without it): the count is only for the status line.
        const workers = await queue.getWorkers().then((w) => String(w.length), () => '?');
        hooks.onNote?.(`queue ${queue.name}: ${c['active'] ?? 0} running, ${(c['waiting'] ?? 0) + (c['delayed'] ?? 0)} waiting, ${workers} worker${workers === '1' ? '' : 's'} connected; ${pending.size} of ${total} cells to go`);
      }
      if (pending.size) await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    clearInterval(outage);
    queue.off('error', onError);
  }
  return jobs.map((j) => sink.get(cellKey(j.identity))!);
}
