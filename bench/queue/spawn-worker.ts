/** `qattn worker` as a child process of this one: for the queue tests and `npm run bench:queue`. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/qattn.mjs', import.meta.url));

export interface SpawnedWorker {
  readonly proc: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts `qattn worker --queue URL --run RUN …extra`; its stderr (one line per cell) is shown when `show`. */
export function spawnWorker(url: string, run: string, extra: readonly string[] = [], show = false): SpawnedWorker {
  const proc = spawn(process.execPath, [BIN, 'worker', '--queue', url, '--run', run, ...extra], { stdio: ['ignore', 'ignore', show ? 'inherit' : 'ignore'] });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, exited };
}

/** Stops workers still running (SIGTERM: cells in flight finish first; SIGKILL: at once) and waits for them. */
export async function stopWorkers(ws: readonly SpawnedWorker[], signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  for (const w of ws) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill(signal);
  await Promise.all(ws.map((w) => w.exited));
}
