// Worker threads do not inherit the parent's module loader hooks, so a worker cannot import .ts directly:
// this plain-JS entry registers tsx's loader in the worker, then imports the TypeScript module it was given.
import { workerData } from 'node:worker_threads';

const { register } = await import('tsx/esm/api');
register();
await import(workerData.entry);
