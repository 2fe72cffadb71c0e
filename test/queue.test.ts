// Distributed sweeps through BullMQ on Redis (bench/queue): a queued run gives the records a local run gives
// (fidelity and counts; timings differ by machine), re-submitting adds nothing, a worker killed mid-cell has its
// cell taken over (the record appears once), a Redis restart mid-run is waited for, a cell that fails every
// attempt is recorded as failed with its reason, and a wrong or unreachable queue URL is one line, exit 2, fast.
// Each test starts its own redis-server (bench/queue/local-redis.ts) and real `qattn worker` processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { BIN, runCli } from './helpers/cli.ts';
import { anyRedis, LocalRedis, redisAvailable, uniqueRun } from '../bench/queue/local-redis.ts';
import { buildConfig } from '../bench/config.ts';
import { cellKey } from '../bench/journal.ts';
import { cellId, jobsOf } from '../bench/queue/cell-job.ts';
import { parseQueueUrl, redisOptions } from '../bench/queue/connection.ts';
import { JOB_ATTEMPTS, queueName } from '../bench/queue/names.ts';
import { collect } from '../bench/queue/submit.ts';
import { spawnWorker as spawnQueueWorker, stopWorkers, type SpawnedWorker } from '../bench/queue/spawn-worker.ts';
import type { BenchRecord, ResultsDoc } from '../bench/results.ts';

const skip = redisAvailable();

// Short locks, so a killed worker's cell is taken over within seconds.
const spawnWorker = (url: string, run: string): SpawnedWorker => spawnQueueWorker(url, run, ['--lock-s', '3']);

/** The workers killed, the Redis disposed, the directory removed: every test's cleanup. */
async function cleanup(workers: readonly SpawnedWorker[], redis: { dispose(): Promise<void> }, dir?: string): Promise<void> {
  await stopWorkers(workers, 'SIGKILL');
  await redis.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

const readDoc = (dir: string): ResultsDoc => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ResultsDoc;

/** What must not depend on where a cell ran: status, path, fidelity and counts. */
const numbers = (r: BenchRecord): unknown => ({ key: cellKey(r), status: r.status, reason: r.reason, path: r.path, fidelity: r.fidelity, cost: r.cost, prepareCost: r.prepare?.cost ?? null });

const PLAN = ['--quick', '--methods', 'topk-exact,lsh,grover-topk,performer', '--workloads', 'gaussian,needle', '--seed', '5', '--no-charts'];

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a queued run with 2 workers equals a local run (fidelity, counts); re-submitting adds and reruns nothing', { skip: skip ?? false }, async () => {
  const redis = await anyRedis();
  const run = uniqueRun('eq');
  const dir = mkdtempSync(join(tmpdir(), 'qattn-queue-'));
  const workers: SpawnedWorker[] = [];
  try {
    const local = await runCli('bench', ...PLAN, '--out', join(dir, 'local'));
    assert.equal(local.code, 0, local.err.join('\n'));
    workers.push(spawnWorker(redis.url, run), spawnWorker(redis.url, run));
    const queued = await runCli('bench', ...PLAN, '--out', join(dir, 'queued'), '--queue', redis.url, '--run', run);
    assert.equal(queued.code, 0, queued.err.join('\n'));
    const a = readDoc(join(dir, 'local')), b = readDoc(join(dir, 'queued'));
    assert.equal(b.records.length, 24);
    assert.deepEqual(b.records.map(numbers), a.records.map(numbers), 'same seed, same numbers');
    assert.ok(b.records.every((r) => r.host?.worker !== undefined), 'every queued record names the worker that ran it');
    assert.ok(a.records.every((r) => r.host && r.host.worker === undefined && r.host.pid === process.pid), 'a local record names this process');
    assert.ok(b.records.every((r) => workers.some((w) => r.host?.worker === `${hostname()}:${w.proc.pid}`)), 'each queued record names one of the two workers');
    // Submitting the same plan again (another --out): nothing is queued twice, nothing runs again.
    const queue = new Queue(queueName(run), { connection: redisOptions(parseQueueUrl(redis.url)) });
    try {
      const before = await queue.getJobCounts('completed', 'waiting', 'active', 'failed');
      assert.equal(before['completed'], 24);
      const again = await runCli('bench', ...PLAN, '--out', join(dir, 'again'), '--queue', redis.url, '--run', run);
      assert.equal(again.code, 0, again.err.join('\n'));
      const after = await queue.getJobCounts('completed', 'waiting', 'active', 'failed');
      assert.deepEqual(after, before, 'no job added or run');
      assert.deepEqual(readDoc(join(dir, 'again')).records, b.records, 'the records already on the queue, as they were');
    } finally {
      await queue.close();
    }
  } finally {
    await cleanup(workers, redis, dir);
  }
});

// Cells of about a second each, so a worker can be killed in the middle of one.
const SLOW = ['--methods', 'grover-topk', '--workloads', 'gaussian', '--lengths', '2^14,2^15,2^16', '--queries', '64', '--opt', 'grover-topk.k=64,128', '--seed', '3', '--no-charts', '--quick'];

test('a worker killed mid-cell: its cell is taken over by the other worker and recorded once', { skip: skip ?? false }, async () => {
  const redis = new LocalRedis();
  const dir = mkdtempSync(join(tmpdir(), 'qattn-queue-'));
  const workers: SpawnedWorker[] = [];
  try {
    await redis.start();
    const victim = spawnWorker(redis.url, 'kill'), survivor = spawnWorker(redis.url, 'kill');
    workers.push(victim, survivor);
    const run = runCli('bench', ...SLOW, '--out', join(dir, 'run'), '--queue', redis.url, '--run', 'kill');
    const queue = new Queue(queueName('kill'), { connection: redisOptions(parseQueueUrl(redis.url)) });
    let killedKey = '';
    try {
      // Stop the victim the moment it holds a cell (SIGSTOP: it can neither finish nor renew), check that the cell
      // is still unfinished and its own, then kill it; if it finished in between, let it go on and look again.
      await waitFor('a cell running on the victim, stopped mid-cell', async () => {
        const mine = (await queue.getActive()).find((j) => j.processedBy?.endsWith(`:${victim.proc.pid}`));
        if (!mine) return false;
        victim.proc.kill('SIGSTOP');
        const now = await queue.getJob(mine.id!);
        if (now && !now.finishedOn && now.processedBy === mine.processedBy) {
          killedKey = mine.id!;
          return true;
        }
        victim.proc.kill('SIGCONT');
        return false;
      });
    } finally {
      await queue.close();
    }
    victim.proc.kill('SIGKILL');
    const r = await run;
    assert.equal(r.code, 0, r.err.join('\n'));
    const doc = readDoc(join(dir, 'run'));
    assert.equal(doc.records.length, 6);
    assert.equal(new Set(doc.records.map((x) => cellKey(x))).size, 6, 'each cell once');
    assert.ok(doc.records.every((x) => x.status === 'ok'), JSON.stringify(doc.records.map((x) => x.reason)));
    const jobs = jobsOf(buildConfig({ methods: ['grover-topk'], workloads: ['gaussian'], lengths: ['2^14,2^15,2^16'], queries: 64, opt: ['grover-topk.k=64,128'], seed: 3, quick: true }).plan);
    const killed = jobs.find((j) => j.key === killedKey)!;
    const rec = doc.records.find((x) => cellKey(x) === cellKey(killed.identity))!;
    assert.equal(rec.host?.worker, `${hostname()}:${survivor.proc.pid}`, `the killed cell was finished by the survivor, got ${JSON.stringify(rec.host)}`);
  } finally {
    await cleanup(workers, redis, dir);
  }
});

for (const lost of [false, true]) {
  const what = lost
    ? 'Redis restarted mid-run without its data: the submitter queues the cells it has not collected again, and the run completes'
    : 'Redis restarted mid-run: the workers and the submitter reconnect and the run completes';
  test(what, { skip: skip ?? false }, async () => {
    const redis = new LocalRedis();
    const dir = mkdtempSync(join(tmpdir(), 'qattn-queue-'));
    const workers: SpawnedWorker[] = [];
    const run = lost ? 'restart-lost' : 'restart';
    try {
      await redis.start();
      workers.push(spawnWorker(redis.url, run), spawnWorker(redis.url, run));
      const submitted = runCli('bench', ...SLOW, '--out', join(dir, 'run'), '--queue', redis.url, '--run', run);
      const journal = join(dir, 'run', 'results.jsonl');
      const lines = (): number => {
        try {
          return readFileSync(journal, 'utf8').split('\n').filter((l) => l).length;
        } catch {
          return 0;
        }
      };
      await waitFor('two records collected', () => lines() >= 2);
      await redis.stop();
      // Nothing is collected while Redis is down: what the journal holds now is all the submitter had.
      const collected = lines();
      if (lost) redis.wipe();
      await new Promise((r) => setTimeout(r, 1500));
      await redis.start();
      const r = await submitted;
      assert.equal(r.code, 0, r.err.join('\n'));
      const doc = readDoc(join(dir, 'run'));
      assert.equal(doc.records.length, 6);
      assert.equal(new Set(doc.records.map((x) => cellKey(x))).size, 6, 'each cell once');
      assert.ok(doc.records.every((x) => x.status === 'ok'), JSON.stringify(doc.records.map((x) => x.reason)));
      if (lost) {
        const queue = new Queue(queueName(run), { connection: redisOptions(parseQueueUrl(redis.url)) });
        try {
          const c = await queue.getJobCounts('completed');
          assert.equal(c['completed'], 6 - collected, 'the empty Redis got exactly the cells not yet collected, queued again');
        } finally {
          await queue.close();
        }
      }
    } finally {
      await cleanup(workers, redis, dir);
    }
  });
}

test(`a cell no worker will run is recorded as failed with its reason after ${JOB_ATTEMPTS} attempts`, { skip: skip ?? false }, async () => {
  const redis = await anyRedis();
  const run = uniqueRun('fail');
  const workers: SpawnedWorker[] = [];
  try {
    workers.push(spawnWorker(redis.url, run));
    const [job] = jobsOf(buildConfig({ methods: ['topk-exact'], workloads: ['gaussian'], lengths: ['256'], quick: true }).plan);
    // A cell submitted by another qattn version: every worker of this one refuses it.
    const foreign = { ...job!, qattnVersion: '0.0.0-other', key: cellId(job!.identity, job!.settings, '0.0.0-other') };
    const queue = new Queue(queueName(run), { connection: redisOptions(parseQueueUrl(redis.url)) });
    const records: BenchRecord[] = [];
    try {
      const out = await collect(queue, [foreign], { get: () => undefined, add: (r) => void records.push(r) }, {}, redis.url, 'test');
      assert.equal(out.length, 1);
      const job2 = await queue.getJob(foreign.key);
      assert.equal(job2?.attemptsMade, JOB_ATTEMPTS, 'attempted exactly JOB_ATTEMPTS times, then left failed');
    } finally {
      await queue.close();
    }
    assert.equal(records.length, 1);
    assert.equal(records[0]!.status, 'error');
    assert.match(records[0]!.reason ?? '', new RegExp(`failed on all ${JOB_ATTEMPTS} attempts; the last: this worker runs qattn \\S+, the cell was submitted by qattn 0\\.0\\.0-other`));
  } finally {
    await cleanup(workers, redis);
  }
});

test('a queued cell past 3× its time budget is stopped by the watchdog (its child killed) and recorded as skipped, like a local one', { skip: skip ?? false }, async () => {
  const redis = await anyRedis();
  const run = uniqueRun('watchdog');
  const dir = mkdtempSync(join(tmpdir(), 'qattn-queue-'));
  const workers = [spawnWorker(redis.url, run)];
  try {
    // One attend of grover-topk at k = 128 over 2^16 keys takes about a second: far past 3 × 50 ms.
    const r = await runCli('bench', '--methods', 'grover-topk', '--opt', 'grover-topk.k=128', '--workloads', 'gaussian', '--lengths', '2^16', '--queries', '64',
      '--budget-s', '0.05', '--prepare-budget-s', '30', '--quick', '--no-charts', '--out', join(dir, 'run'), '--queue', redis.url, '--run', run);
    assert.equal(r.code, 0, r.err.join('\n'));
    const [rec] = readDoc(join(dir, 'run')).records;
    assert.equal(rec?.status, 'skipped');
    assert.match(rec?.reason ?? '', /^stopped by the watchdog: the first attend was still running after 150ms/);
    assert.equal(rec?.host?.worker, `${hostname()}:${workers[0]!.proc.pid}`, 'recorded by the worker whose child it killed');
    assert.equal(workers[0]!.proc.exitCode, null, 'the worker itself lives on');
  } finally {
    await cleanup(workers, redis, dir);
  }
});

test('a wrong or unreachable --queue is one qattn: line and exit 2 within seconds (bench and worker)', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['bench', '--quick', '--queue', 'redis://127.0.0.1:1', '--out', join(tmpdir(), 'qattn-never')], /^qattn: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0: .*ECONNREFUSED/],
    [['bench', '--quick', '--queue', 'http://127.0.0.1:6379'], /^qattn: --queue http:\/\/127\.0\.0\.1:6379: the scheme must be redis:\/\/ or rediss:\/\//],
    [['bench', '--quick', '--queue', 'redis://127.0.0.1/99'], /^qattn: --queue redis:\/\/127\.0\.0\.1\/99: the database must be a number 0…15/],
    [['worker', '--queue', 'redis://127.0.0.1:1'], /^qattn: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0/],
    [['worker'], /^qattn: qattn worker needs --queue/],
  ];
  for (const [argv, want] of cases) {
    const t0 = Date.now();
    const p = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => p.once('exit', resolve));
    assert.equal(code, 2, `${argv.join(' ')}: ${err}`);
    assert.match(err, want);
    assert.equal(err.trim().split('\n').length, 1, `one line: ${err}`);
    assert.ok(Date.now() - t0 < 8000, `${argv.join(' ')} took ${Date.now() - t0} ms`);
  }
});
