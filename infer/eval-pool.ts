/**
 * `qattn eval` over J worker threads: the windows of every text set form one queue, and each worker (its own
 * model sessions, one onnxruntime thread) takes the next window when it finishes one, so the cores stay busy
 * to the end. A window's numbers do not depend on which worker ran it or when — every randomized mechanism
 * takes the run's seed — so `--jobs 2` prints the bits/byte, KL and densities `--jobs 1` prints; only the
 * wall times differ (each worker's runs share the machine with the other's).
 */
import { Worker } from 'node:worker_threads';
import { QattnError } from '../core/errors.ts';
import { combineWindows, evalWindow, type EvalVariant, type EvalWindow, type SetEval, type WindowEval } from './eval.ts';
import type { EvalReply, EvalTask, EvalWorkerData } from './eval-worker.ts';
import { SessionCache } from './execute.ts';
import { loadInferModel, type InferModel } from './model.ts';

export interface EvalSet {
  readonly name: string;
  readonly windows: readonly EvalWindow[];
}

export interface PoolProgress {
  /** Model runs done / total (each window runs the unmodified model and every variant), and the run just done. */
  (done: number, total: number, set: string, what: string): void;
}

interface Job {
  readonly set: number;
  readonly index: number;
  readonly window: EvalWindow;
}

const what = (variants: readonly EvalVariant[], v: number, w: EvalWindow): string => `${v < 0 ? 'unmodified model' : variants[v]!.label}, window at ${w.offset ?? 'copy'}`;

/** Runs jobs on worker threads; resolves with every window's WindowEval (by job), rejects on the first failure. */
function onWorkers(jobs: readonly Job[], data: Omit<EvalWorkerData, 'entry'>, threads: number, onRun: (job: Job, v: number) => void): Promise<WindowEval[]> {
  const boot = new URL('../core/worker-boot.mjs', import.meta.url);
  const entry = new URL('./eval-worker.ts', import.meta.url).href;
  const results: WindowEval[] = new Array<WindowEval>(jobs.length);
  return new Promise((resolve, reject) => {
    let next = 0, finished = 0, failed = false;
    const workers: Worker[] = [];
    const stop = (): void => {
      for (const w of workers) void w.terminate();
    };
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      stop();
      reject(e);
    };
    /** Workers holding a task (one that exits holding one failed; one told to stop exits cleanly). */
    const busy = new Set<Worker>();
    const give = (w: Worker): void => {
      if (next < jobs.length) {
        busy.add(w);
        w.postMessage({ task: next, window: jobs[next++]!.window } satisfies EvalTask);
      } else {
        busy.delete(w);
        w.postMessage(null);
      }
    };
    for (let t = 0; t < Math.min(threads, jobs.length); t++) {
      const w = new Worker(boot, { workerData: { entry, ...data } satisfies EvalWorkerData });
      workers.push(w);
      w.on('message', (r: EvalReply) => {
        if (failed) return;
        if (r.kind === 'progress') onRun(jobs[r.task]!, r.variant);
        else if (r.kind === 'failed') fail(r.user ? new QattnError(r.message) : new Error(`eval worker: ${r.message}`));
        else {
          results[r.task] = r.result;
          if (++finished === jobs.length) {
            stop();
            resolve(results);
          } else give(w);
        }
      });
      w.on('error', (e) => fail(e));
      w.on('exit', (code) => {
        if (!failed && busy.has(w)) fail(new Error(`eval worker exited with code ${code} before the run was complete`));
      });
      give(w);
    }
  });
}

/**
 * Every variant on every window of every set, on `threads` worker threads (1: in this thread, no worker; a
 * model already loaded runs here). Results per set, in the order given.
 */
export async function evaluateSets(
  model: string | InferModel, sets: readonly EvalSet[], variants: readonly EvalVariant[], layers: readonly number[] | null, seed: number, threads: number,
  progress?: PoolProgress,
): Promise<Array<{ name: string; result: SetEval }>> {
  const jobs: Job[] = sets.flatMap((s, set) => s.windows.map((window, index) => ({ set, index, window })));
  const total = jobs.length * (variants.length + 1);
  let done = 0;
  const onRun = (job: Job, v: number): void => progress?.(++done, total, sets[job.set]!.name, what(variants, v, job.window));
  let results: WindowEval[];
  if (threads <= 1 || jobs.length <= 1 || typeof model !== 'string') {
    const im = typeof model === 'string' ? await loadInferModel(model) : model;
    const sessions = new SessionCache();
    results = [];
    try {
      for (const job of jobs) results.push(await evalWindow(im, job.window, variants, layers, seed, sessions, (v) => onRun(job, v)));
    } finally {
      await sessions.release();
    }
  } else {
    results = await onWorkers(jobs, { modelPath: model, variants, layers, seed }, threads, onRun);
  }
  return sets.map((s, set) => ({ name: s.name, result: combineWindows(s.windows, results.filter((_, j) => jobs[j]!.set === set), variants) }));
}
