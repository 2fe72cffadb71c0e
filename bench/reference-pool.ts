/**
 * A small pool of worker threads that compute blocks of the float64 reference, so the second core works on
 * the reference while the main thread does its own block. It is only used between timed phases (the runner
 * never times a mechanism while a reference is being computed), so it cannot distort timings.
 */
import { Worker } from 'node:worker_threads';
import type { AttentionInput } from '../attention/types.ts';
import type { ReferenceRows } from './reference-rows.ts';
import type { RowsReply, RowsRequest } from './reference-worker.ts';

interface Pending {
  resolve(rows: ReferenceRows): void;
  reject(err: Error): void;
}

export class ReferencePool {
  readonly size: number;
  readonly #workers: Worker[];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #broken: Error | null = null;

  constructor(size: number) {
    this.size = size;
    const boot = new URL('../core/worker-boot.mjs', import.meta.url);
    const entry = new URL('./reference-worker.ts', import.meta.url).href;
    this.#workers = Array.from({ length: size }, () => {
      const w = new Worker(boot, { workerData: { entry } });
      w.unref(); // an idle pool must never keep the process alive
      w.on('message', (r: RowsReply) => this.#settle(r));
      w.on('error', (err) => this.#fail(err));
      return w;
    });
  }

  /** Computes rows i0…i1−1 (keeping `top` weights each) on worker `index`. Rejects if the worker failed (callers fall back to inline). */
  rows(index: number, input: AttentionInput, i0: number, i1: number, top: number): Promise<ReferenceRows> {
    if (this.#broken) return Promise.reject(this.#broken);
    const id = this.#nextId++;
    const req: RowsRequest = { id, input, i0, i1, top };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#workers[index % this.size]!.postMessage(req);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #settle(r: RowsReply): void {
    const p = this.#pending.get(r.id);
    if (!p) return;
    this.#pending.delete(r.id);
    if (r.ok) p.resolve({ out: r.out, rows: r.rows });
    else p.reject(new Error(r.error));
  }

  #fail(err: Error): void {
    this.#broken = err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
