/**
 * Which machine and process ran a cell, stamped on every record (RecordHost): in a queued run the cells of one
 * results.json come from many machines, and timings only compare within one.
 */
import { cpus, hostname } from 'node:os';
import type { RecordHost } from './results.ts';

let worker: string | undefined;

/** Names the queue worker this process is (`qattn worker`); records made from now on carry it. */
export function setWorkerName(name: string): void {
  worker = name;
}

export function thisHost(): RecordHost {
  return { hostname: hostname(), cpu: cpus()[0]?.model.trim() ?? 'unknown', pid: process.pid, ...(worker ? { worker } : {}) };
}
