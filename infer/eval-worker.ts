/**
 * A worker thread of `qattn eval --jobs J` (eval-pool.ts): loads the model once, then evaluates the windows it
 * is sent, one at a time, posting a progress message after each model run and the window's WindowEval at the
 * end. Started through core/worker-boot.mjs, which registers the TypeScript loader.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setDefaultOrtThreads } from '../attention/kernels/ort/sessions.ts';
import { QattnError } from '../core/errors.ts';
import { evalWindow, type EvalVariant, type EvalWindow, type WindowEval } from './eval.ts';
import { loadInferModel } from './model.ts';
import { SessionCache } from './execute.ts';

export interface EvalWorkerData {
  readonly entry: string;
  readonly modelPath: string;
  readonly variants: readonly EvalVariant[];
  readonly layers: readonly number[] | null;
  readonly seed: number;
}

export interface EvalTask {
  readonly task: number;
  readonly window: EvalWindow;
}

export type EvalReply =
  | { readonly kind: 'progress'; readonly task: number; readonly variant: number }
  | { readonly kind: 'done'; readonly task: number; readonly result: WindowEval }
  | { readonly kind: 'failed'; readonly task: number; readonly message: string; readonly user: boolean };

const port = parentPort!;
const data = workerData as EvalWorkerData;
// One intra-op thread per worker: J workers, each with its own sessions, share the cores instead of each
// starting one thread per core.
setDefaultOrtThreads(1);
const sessions = new SessionCache();
const model = loadInferModel(data.modelPath);
model.catch(() => undefined); // reported with the first task

port.on('message', (t: EvalTask | null) => {
  if (t === null) {
    // A session that fails to release must not fail a run whose work is done.
    void sessions.release().catch(() => undefined).finally(() => port.close());
    return;
  }
  void (async () => {
    try {
      const im = await model;
      const result = await evalWindow(im, t.window, data.variants, data.layers, data.seed, sessions, (variant) => {
        port.postMessage({ kind: 'progress', task: t.task, variant } satisfies EvalReply);
      });
      port.postMessage({ kind: 'done', task: t.task, result } satisfies EvalReply);
    } catch (e) {
      const user = e instanceof QattnError;
      port.postMessage({ kind: 'failed', task: t.task, message: e instanceof Error ? (user ? e.message : e.stack ?? e.message) : String(e), user } satisfies EvalReply);
    }
  })();
});
