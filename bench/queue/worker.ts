/**
 * `qattn worker`: takes cells from a run's queue and runs them, on any machine with qattn installed, until it
 * is stopped (SIGINT/SIGTERM: the cells in flight finish first) or, with `idleExitS`, until the queue has had
 * nothing to do for that long (for batch schedulers: a Kubernetes Indexed Job or a Slurm array task ends).
 *
 * Faults, through BullMQ's own handling: a cell runs in a sandboxed child process (processor.mjs) while this
 * process renews its lock, so a worker killed mid-cell stops renewing, its job stalls after `lockS` (taken over
 * within about 1.5 × lockS: the stalled check runs every lockS / 2), and another worker's stalled-job check puts
 * it back in the queue — its record is written once, by whoever completes it. A cell that runs past the
 * runner's hard limit is stopped by the same watchdog as a local run (processor.ts): it kills the child, not
 * the worker. A job that throws (a worker refusing a cell of another code version) is attempted JOB_ATTEMPTS
 * times in all, then failed. A Redis restart is waited for: every connection reconnects (connection.ts).
 */
import { availableParallelism, hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Queue, Worker, type Job } from 'bullmq';
import { cellLabel as label } from '../progress.ts';
import { autoMemoryLimit } from '../memory.ts';
import type { BenchRecord } from '../results.ts';
import type { CellJob } from './cell-job.ts';
import { checkReachable, redisOptions, type QueueUrl } from './connection.ts';
import { queueName } from './names.ts';

export interface WorkerOptions {
  readonly url: QueueUrl;
  readonly run?: string;
  /** Cells run at once (each in its own child process; default 1: timings stay those of one core per cell). */
  readonly concurrency?: number;
  /** A job whose worker stops renewing its lock is stalled after this many seconds (default 30). */
  readonly lockS?: number;
  /** Exit after this many seconds with nothing waiting, active or delayed in the queue (default: never). */
  readonly idleExitS?: number;
  readonly log?: (line: string) => void;
}

export interface WorkerHandle {
  readonly name: string;
  /** Resolves when the worker has stopped (idle exit or close()). */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

/** Starts a worker on the run's queue (its Redis checked first: unreachable is a QattnError within seconds). */
export async function startWorker(o: WorkerOptions): Promise<WorkerHandle> {
  await checkReachable(o.url);
  const concurrency = o.concurrency ?? 1;
  const lockMs = (o.lockS ?? 30) * 1000;
  const name = `${hostname()}:${process.pid}`;
  const log = o.log ?? (() => undefined);
  // Each sandboxed child process reads its share of the memory limit, and the worker's name, from the environment
  // it inherits (a child has its own RSS, so C children each get 1/C of the limit).
  process.env['QATTN_WORKER_MEMORY_BYTES'] = String(Math.floor(autoMemoryLimit() / concurrency));
  process.env['QATTN_WORKER_NAME'] = name;
  const processor = fileURLToPath(new URL('./processor.mjs', import.meta.url));
  const queue = queueName(o.run);
  const worker = new Worker<CellJob, BenchRecord>(queue, processor, {
    // Child processes, not worker threads: the watchdog of a runaway cell can then kill its process alone.
    connection: redisOptions(o.url), concurrency, useWorkerThreads: false, name,
    lockDuration: lockMs, stalledInterval: Math.max(1000, lockMs / 2), maxStalledCount: 3,
  });
  worker.on('active', (job: Job<CellJob>) => log(`running ${label(job.data.identity)}`));
  worker.on('completed', (job: Job<CellJob>, r: BenchRecord) => log(`done ${label(job.data.identity)}: ${r.status}${r.status === 'ok' ? '' : ` (${r.reason})`}`));
  worker.on('failed', (job: Job<CellJob> | undefined, err: Error) => log(`failed ${job ? label(job.data.identity) : '(unknown job)'} (attempt ${job?.attemptsMade ?? '?'}): ${err.message.split('\n')[0]}`));
  worker.on('error', (err: Error) => log(`queue connection: ${err.message.split('\n')[0]} (retrying)`));
  let closing: Promise<void> | null = null;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let idleTimer: NodeJS.Timeout | null = null;
  let watcher: Queue | null = null;
  const close = (): Promise<void> => (closing ??= (async () => {
    if (idleTimer) clearInterval(idleTimer);
    await worker.close();
    await watcher?.close();
    finish();
  })());
  if (o.idleExitS !== undefined) {
    watcher = new Queue(queue, { connection: redisOptions(o.url) });
    watcher.on('error', () => undefined); // the worker's own 'error' handler reports the connection
    let idleSince = Date.now();
    let checking = false;
    idleTimer = setInterval(() => {
      if (checking) return; // one check at a time, also while Redis is away
      checking = true;
      void watcher!.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children').then((c) => {
        if (Object.values(c).some((x) => x > 0)) idleSince = Date.now();
        else if (Date.now() - idleSince >= o.idleExitS! * 1000) {
          log(`the queue has been empty for ${o.idleExitS} s: stopping`);
          void close();
        }
      }, () => {
        // Redis away: not idle (a submitter may queue its cells again once it is back).
        idleSince = Date.now();
      }).finally(() => (checking = false));
    }, 500);
  }
  log(`worker ${name} on ${o.url.display} queue ${queue}: ${concurrency} cell${concurrency === 1 ? '' : 's'} at a time (${availableParallelism()} cores)`);
  return { name, done, close };
}
