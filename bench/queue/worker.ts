/**
 * `qattn worker`: takes cells from a run's queue and runs them, on any machine with qattn installed, until it
 * is stopped (SIGINT/SIGTERM: the cells in flight finish first) or, with `idleExitS`, until the queue has had
 * nothing to do for that long (for batch schedulers: a Kubernetes Indexed Job or a Slurm array task ends).
 *
 * Faults, through BullMQ's own handling: a cell runs in a sandboxed worker thread while the main thread renews
 * its lock, so a worker killed mid-cell stops renewing, its job stalls after `lockS`, and another worker's
 * stalled-job check puts it back in the queue — its record is written once, by whoever completes it. A job
 * that throws (a worker refusing a cell of another qattn version) is retried JOB_ATTEMPTS times, then failed.
 * A Redis restart is waited for: every connection reconnects (connection.ts).
 */
import { availableParallelism, hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Queue, Worker, type Job } from 'bullmq';
import { formatN } from '../format.ts';
import { autoMemoryLimit } from '../memory.ts';
import type { BenchRecord } from '../results.ts';
import type { CellJob } from './cell-job.ts';
import { checkReachable, redisOptions, type QueueUrl } from './connection.ts';
import { queueName } from './names.ts';

export interface WorkerOptions {
  readonly url: QueueUrl;
  readonly run?: string;
  /** Cells run at once (each in its own thread; default 1: timings stay those of one core per cell). */
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

const label = (c: CellJob['identity']): string => `${c.workload} ${c.mode} n=${formatN(c.n)} ${c.variant}`;

/** Starts a worker on the run's queue (its Redis checked first: unreachable is a QattnError within seconds). */
export async function startWorker(o: WorkerOptions): Promise<WorkerHandle> {
  await checkReachable(o.url);
  const concurrency = o.concurrency ?? 1;
  const lockMs = (o.lockS ?? 30) * 1000;
  const name = `${hostname()}:${process.pid}`;
  const log = o.log ?? (() => undefined);
  // Each sandbox thread reads its share of the memory limit from the environment it inherits.
  process.env['QATTN_WORKER_MEMORY_BYTES'] = String(Math.floor(autoMemoryLimit() / concurrency));
  const processor = fileURLToPath(new URL('./processor.mjs', import.meta.url));
  const queue = queueName(o.run);
  const worker = new Worker<CellJob, BenchRecord>(queue, processor, {
    connection: redisOptions(o.url), concurrency, useWorkerThreads: true, name,
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
    let idleSince = Date.now();
    idleTimer = setInterval(() => {
      void watcher!.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children').then((c) => {
        const busy = Object.values(c).some((x) => x > 0);
        if (busy) idleSince = Date.now();
        else if (Date.now() - idleSince >= o.idleExitS! * 1000) {
          log(`the queue has been empty for ${o.idleExitS} s: stopping`);
          void close();
        }
      }, () => undefined);
    }, 500);
  }
  log(`worker ${name} on ${o.url.display} queue ${queue}: ${concurrency} cell${concurrency === 1 ? '' : 's'} at a time (${availableParallelism()} cores)`);
  return { name, done, close };
}
