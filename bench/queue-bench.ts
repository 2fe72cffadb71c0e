/**
 * `npm run bench:queue`: the wall time of one bench plan run through the queue (BullMQ on a private
 * redis-server) with 1 `qattn worker` process and with 2, on this machine, and their ratio. The workers are
 * started and connected before the clock starts; the clock covers queueing every cell, running them and
 * collecting the records into results.json (each run under its own run name, so nothing is reused). A check
 * that the two runs' fidelity and counts are equal comes with it.
 *
 *   npm run bench:queue                 # 6 mechanisms × 2 workloads × n = 2^12…2^17 (72 cells)
 *   npm run bench:queue -- --quick      # 3 mechanisms × 1 workload × 3 small n, quick timing (a smoke test)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { buildConfig } from './config.ts';
import { table } from './format.ts';
import { cellKey } from './journal.ts';
import { progressReporter } from './progress.ts';
import { parseQueueUrl, redisOptions } from './queue/connection.ts';
import { LocalRedis, redisAvailable } from './queue/local-redis.ts';
import { queueName } from './queue/names.ts';
import { spawnWorker, stopWorkers } from './queue/spawn-worker.ts';
import { connectQueue } from './queue/submit.ts';
import type { BenchRecord } from './results.ts';
import { runBenchmark } from './run-benchmark.ts';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean' } } });
const flags = args.quick
  ? { methods: ['topk-exact', 'lsh', 'grover-topk'], workloads: ['gaussian'], lengths: ['2^8..2^10'], quick: true, seed: 0 }
  : { methods: ['topk-exact', 'lsh', 'performer', 'grover-topk', 'dequantized-topk', 'l2-sampling'], workloads: ['gaussian', 'needle'], lengths: ['2^12..2^17'], seed: 0 };
const config = buildConfig(flags);

const missing = redisAvailable();
if (missing) {
  console.error(`bench:queue: ${missing}`);
  process.exit(2);
}

async function timedRun(url: string, workers: number, dir: string): Promise<{ seconds: number; records: readonly BenchRecord[] }> {
  const run = `bench-queue-${workers}w-${process.pid}`;
  const ws = Array.from({ length: workers }, () => spawnWorker(url, run, [], true));
  const queue = new Queue(queueName(run), { connection: redisOptions(parseQueueUrl(url)) });
  try {
    const t = Date.now();
    while ((await queue.getWorkers()).length < workers) {
      if (Date.now() - t > 60_000) throw new Error(`bench:queue: ${workers} workers did not connect within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const q = await connectQueue(url, run, config);
    try {
      console.error(`bench:queue: ${workers} worker process${workers === 1 ? '' : 'es'} connected; running ${config.record.methods.length} methods × ${config.record.workloads.length} workloads × ${config.record.lengths.length} lengths`);
      const progress = progressReporter(process.stderr);
      const t0 = performance.now();
      const r = await runBenchmark(config, { dir, execute: q.execute, hooks: progress, charts: false, argv: process.argv.slice(2) });
      const seconds = (performance.now() - t0) / 1000;
      progress.end();
      return { seconds, records: r.doc.records };
    } finally {
      await q.close();
    }
  } finally {
    await queue.close();
    await stopWorkers(ws, 'SIGTERM');
  }
}

const redis = new LocalRedis();
const out = mkdtempSync(join(tmpdir(), 'qattn-bench-queue-'));
try {
  await redis.start();
  const one = await timedRun(redis.url, 1, join(out, 'one'));
  const two = await timedRun(redis.url, 2, join(out, 'two'));
  const numbers = (r: BenchRecord): string => JSON.stringify([cellKey(r), r.status, r.fidelity, r.cost]);
  const same = one.records.length === two.records.length && one.records.every((r, i) => numbers(r) === numbers(two.records[i]!));
  console.log(`bench:queue: one plan (${one.records.length} cells, ${flags.quick ? 'quick timing' : 'default timing'}) through BullMQ on a private redis-server, on ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'})\n`);
  console.log(table(['workers', 'wall time', 'cells/min'], [
    ['1 worker process', `${one.seconds.toFixed(1)} s`, (one.records.length / one.seconds * 60).toFixed(1)],
    ['2 worker processes', `${two.seconds.toFixed(1)} s`, (two.records.length / two.seconds * 60).toFixed(1)],
  ]));
  console.log(`\nratio (1 worker / 2 workers): ${(one.seconds / two.seconds).toFixed(2)}×`);
  console.log(`fidelity and counts of the two runs: ${same ? 'equal, cell by cell' : 'DIFFERENT (a bug)'}`);
  if (!same) process.exitCode = 1;
} finally {
  await redis.dispose();
  rmSync(out, { recursive: true, force: true });
}
