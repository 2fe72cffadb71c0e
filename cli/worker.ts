/**
 * `qattn worker --queue URL [--run NAME] [--concurrency C]`: runs queued bench cells on this machine
 * (bench/queue/worker.ts) until stopped, or until the queue has been idle for --idle-exit seconds.
 */
import { parseQueueUrl } from '../bench/queue/connection.ts';
import { DEFAULT_RUN } from '../bench/queue/names.ts';
import { startWorker } from '../bench/queue/worker.ts';
import { QattnError } from '../core/errors.ts';
import { HELP_FLAG, intFlag, numberFlag, parseFlags, type CliIo } from './args.ts';

export const WORKER_USAGE = `usage: qattn worker --queue redis://HOST[:PORT][/DB] [--run NAME] [--concurrency C] [--lock-s S] [--idle-exit S]

Takes cells of queued bench runs (qattn bench --queue URL) from Redis and runs them here: each input is
regenerated from the run's seed (no data is shipped), and each record says which host ran it. Start as many
workers as you like, on any machines with the submitter's qattn code (a cell's key includes a hash of the
sources); stop one with Ctrl-C (its cells in flight finish first) or kill it (its cells are taken over by
another worker after --lock-s).

  --queue URL         the Redis the runs are queued on
  --run NAME          the run name the cells were queued under (default '${DEFAULT_RUN}')
  --concurrency C     cells at a time, each in its own child process (default 1: one core per cell, as a local run)
  --lock-s S          a cell whose worker stops renewing its lock is handed to another worker after S to 1.5 × S
                        seconds (default 30)
  --idle-exit S       exit after S seconds with nothing queued or running (for batch jobs: a Kubernetes
                        Indexed Job or a Slurm array task then ends); default: run until stopped`;

const FLAGS = {
  queue: { type: 'string' }, run: { type: 'string' }, concurrency: { type: 'string' }, 'lock-s': { type: 'string' }, 'idle-exit': { type: 'string' }, ...HELP_FLAG,
} as const;

export async function workerCommand(argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags('worker', argv, FLAGS);
  if (f.help) {
    io.out(WORKER_USAGE);
    return 0;
  }
  if (f.queue === undefined) throw new QattnError('qattn worker needs --queue redis://HOST[:PORT][/DB]');
  const url = parseQueueUrl(f.queue);
  const idle = numberFlag('idle-exit', f['idle-exit'], 0, 1e7);
  const w = await startWorker({
    url, ...(f.run !== undefined ? { run: f.run } : {}), concurrency: intFlag('concurrency', f.concurrency, 1, 256) ?? 1,
    lockS: numberFlag('lock-s', f['lock-s'], 1, 86400) ?? 30, ...(idle !== undefined ? { idleExitS: idle } : {}),
    log: (line) => io.err(`qattn worker: ${line}`),
  });
  const stop = (): void => {
    io.err(`qattn worker: stopping (cells in flight finish first)`);
    void w.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await w.done;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return 0;
}
