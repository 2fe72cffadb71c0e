/**
 * The long-context limits of the runner: predictions extrapolated from smaller n, a cell skipped (with the
 * figures) when its prepare or an attend would exceed — or did exceed — the time budget, the watchdog that stops
 * a call stuck far past it, a (workload, n) skipped when it would not fit the memory limit, and the per-cell RSS
 * every record carries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../bench/config.ts';
import { cellKey } from '../bench/journal.ts';
import { budgetAt, CellHistory, extrapolate, predictedSkip } from '../bench/limits.ts';
import { CellMonitor } from '../bench/memory.ts';
import type { BenchRecord } from '../bench/results.ts';
import { configDifferences } from '../bench/resume.ts';
import { runBench } from '../bench/runner.ts';
import { plansAt, repeatTimed, summarize, DEFAULT_PLAN } from '../bench/timing.ts';

const run = async (flags: Parameters<typeof buildConfig>[0]): Promise<BenchRecord[]> => {
  const { plan } = buildConfig({ quick: true, queries: 4, dim: 8, ...flags });
  const store = new Map<string, BenchRecord>();
  return runBench(plan, { get: (k) => store.get(k), add: (r) => void store.set(cellKey(r), r) });
};

test('extrapolation is linear through the two largest lengths, proportional from one, never negative', () => {
  assert.equal(extrapolate([{ n: 100, y: 5 }], 400), 20);
  // y = 2 + 0.01·n through (1000, 12) and (2000, 22); an earlier point does not matter.
  assert.ok(Math.abs(extrapolate([{ n: 10, y: 99 }, { n: 1000, y: 12 }, { n: 2000, y: 22 }], 8000)! - 82) < 1e-9);
  // A falling measurement (noise) does not predict a negative or shrinking cost.
  assert.equal(extrapolate([{ n: 1000, y: 30 }, { n: 2000, y: 20 }], 8000), 20);
  assert.equal(extrapolate([], 8000), null);
});

test('predictedSkip names the phase, the figures and the flag to change', () => {
  const h = new CellHistory();
  h.add('s', { n: 1024, prepareMs: 100, attendMs: 1, footprintBytes: 2 ** 20 });
  h.add('s', { n: 2048, prepareMs: 200, attendMs: 2, footprintBytes: 2 ** 21 }, true);
  const p = h.predict('s', 2 ** 16)!;
  assert.ok(Math.abs(p.prepareMs! - 6400) < 1e-6 && Math.abs(p.attendMs! - 64) < 1e-9 && p.footprintBytes === 2 ** 26);
  assert.equal(p.basis, 'n=2^10, 2^11, calibration');
  assert.equal(h.predict('s', 1024), null, 'only smaller n predict');
  assert.match(predictedSkip(p, { budgetMs: 1000, memoryLimitBytes: 2 ** 40 }, 0, 2 ** 16)!, /^prepare would take about 6\.40s .* over the 1\.00s per-phase time budget \(--budget-s\)/);
  assert.equal(predictedSkip(p, { budgetMs: 10_000, memoryLimitBytes: 2 ** 40 }, 0, 2 ** 16), null);
  assert.match(predictedSkip({ ...p, prepareMs: 1 }, { budgetMs: 10, memoryLimitBytes: 2 ** 40 }, 0, 2 ** 16)!, /^one attend would take about 64\.0ms/);
  assert.match(predictedSkip(p, { budgetMs: 10_000, memoryLimitBytes: 2 ** 27 }, 2 ** 27 - 2 ** 25, 2 ** 16)!, /need about 64 MiB beyond the 96 MiB already resident .* over the 128 MiB memory limit \(--max-memory-gib\)/);
});

test('the budget is fixed up to 2^20 keys and grows in proportion to n above', () => {
  const limits = { budgetMs: 10_000, memoryLimitBytes: 2 ** 40 };
  assert.deepEqual([2 ** 8, 2 ** 20, 2 ** 22, 2 ** 24].map((n) => budgetAt(limits, n)), [10_000, 10_000, 40_000, 160_000]);
  const big = { prepareMs: 100_000, attendMs: 1, footprintBytes: 0, basis: 'n=2^22' };
  assert.equal(predictedSkip(big, limits, 0, 2 ** 24), null, '100 s is within the 160 s budget at 2^24');
  assert.match(predictedSkip(big, limits, 0, 2 ** 22)!, /over the 40\.0s per-phase time budget at n=2\^22 \(--budget-s\)/);
});

test('--prepare-budget-s: a flat prepare budget, apart from the attend budget, named in the skip reason', () => {
  const limits = { budgetMs: 1000, prepareBudgetMs: 5000, memoryLimitBytes: 2 ** 40 };
  assert.equal(budgetAt(limits, 2 ** 24, 'prepare'), 5000, 'the same at every n');
  assert.equal(budgetAt(limits, 2 ** 24), 16_000, 'attends keep the growing budget');
  const p = { prepareMs: 6000, attendMs: 10, footprintBytes: 0, basis: 'n=2^18, 2^20' };
  assert.match(predictedSkip(p, limits, 0, 2 ** 20) ?? '', /prepare would take about .* over the 5\.00s prepare time budget \(--prepare-budget-s\)/);
  assert.equal(predictedSkip({ ...p, prepareMs: 4000 }, limits, 0, 2 ** 20), null);
  assert.equal(predictedSkip({ ...p, prepareMs: 4000 }, { budgetMs: 1000, memoryLimitBytes: 2 ** 40 }, 0, 2 ** 20) !== null, true, 'without it prepare has --budget-s');
  const { plan, record } = buildConfig({ quick: true, prepareBudgetS: 7 });
  assert.equal(plan.limits.prepareBudgetMs, 7000);
  assert.equal(record.prepareBudgetS, 7);
  assert.throws(() => buildConfig({ prepareBudgetS: -1 }), /--prepare-budget-s must be a positive number/);
});

test('a phase over the time budget stops the cell as skipped with what it measured, and larger n are predicted over it', async () => {
  const records = await run({ methods: ['topk-exact'], workloads: ['gaussian'], lengths: ['2^6', '2^7', '2^8'], budgetS: 1e-6 });
  assert.equal(records.length, 3);
  const [first, ...rest] = records;
  assert.equal(first!.status, 'skipped');
  assert.match(first!.reason!, /^prepare took .*, over the 1\.00µs per-phase time budget \(--budget-s\)/);
  assert.ok(first!.prepare && first!.prepare.timing.samples >= 1, 'the measured prepare is kept');
  for (const r of rest) {
    assert.equal(r.status, 'skipped');
    assert.match(r.reason!, /^prepare would take about .* \(extrapolated linearly from n=2\^6\), over the 1\.00µs/);
  }
});

test('a (workload, n) that would not fit the memory limit is skipped before it is generated, naming the limit', async () => {
  const records = await run({ methods: ['exact'], workloads: ['gaussian'], lengths: ['2^6'], maxMemoryGib: 0.01 });
  assert.equal(records[0]!.status, 'skipped');
  assert.match(records[0]!.reason!, /need .* beyond the .* resident, over the 10 MiB memory limit \(--max-memory-gib\)/);
});

test('every ok record has its prepare phase, its RSS around the cell, and counts kept apart', async () => {
  const records = await run({ methods: ['exact', 'lsh'], workloads: ['gaussian'], lengths: ['2^6', '2^7'] });
  for (const r of records) {
    assert.equal(r.status, 'ok', r.reason ?? '');
    if (r.status !== 'ok') continue;
    assert.ok(r.prepare && r.prepare.timing.samples >= 1 && r.prepare.timing.medianMs >= 0);
    assert.ok(r.rss && r.rss.peakBytes >= r.rss.startBytes && r.rss.startBytes > 0);
    assert.ok(r.rss.cellPeakBytes === null || r.rss.cellPeakBytes <= r.rss.peakBytes);
    assert.ok(r.timing.samples >= 3, 'the quick plan times at least 3 attends');
  }
});

test('the timing plan takes fewer samples at large n, and a slow prepare is its own single sample', async () => {
  assert.equal(plansAt(DEFAULT_PLAN, 2 ** 10), DEFAULT_PLAN);
  assert.equal(plansAt(DEFAULT_PLAN, 2 ** 20), DEFAULT_PLAN.large);
  let calls = 0;
  const call = async (): Promise<number> => { calls++; return 1; };
  assert.deepEqual(await repeatTimed(call, DEFAULT_PLAN.large!.prepare, 5, false), []);
  assert.equal((await repeatTimed(call, DEFAULT_PLAN.large!.query, 5, true)).length, 1);
  assert.ok((await repeatTimed(call, DEFAULT_PLAN.query, 0.01, true)).length >= 3, 'small cells take many samples');
  assert.equal((await repeatTimed(call, DEFAULT_PLAN.query, 500, true)).length, 1, 'one timed call after a slow warm-up');
  assert.deepEqual(await repeatTimed(call, DEFAULT_PLAN.query, 5000, true), [], 'past a second the warm-up is the sample');
  assert.ok((await repeatTimed(call, { budgetMs: 0, minSamples: 7, maxSamples: null, singleSampleAboveMs: 10, warmupOnlyAboveMs: 1e9 }, 1, true)).length === 7);
  const s = summarize([4, 1, 3, 2], 9);
  assert.deepEqual([s.medianMs, s.samples, s.warmupMs], [2.5, 4, 9]);
  assert.ok(Math.abs(s.p99Ms - 3.97) < 1e-12, `type-7 p99 ${s.p99Ms}`);
  assert.equal(summarize([5], 5).rme, null);
  assert.ok(calls > 0);
});

test('the watchdog journals the cell and stops a process stuck in one synchronous call past its hard limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qattn-watchdog-'));
  try {
    const journal = join(dir, 'results.jsonl');
    const script = `
      import { CellMonitor } from ${JSON.stringify(new URL('../bench/memory.ts', import.meta.url).href)};
      const m = new CellMonitor(${JSON.stringify(journal)});
      await new Promise((r) => setTimeout(r, 100));
      m.arm(200, '{"method":"stuck"}');
      const t0 = Date.now();
      while (Date.now() - t0 < 20000) {} // one synchronous call that never returns in time
      console.log('not stopped');`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, 'SIGKILL', `stopped by the watchdog (status ${r.status}, stderr ${r.stderr})`);
    assert.ok(Date.now() - t0 < 15_000, 'well before the loop would have ended');
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /qattn: a phase ran past its hard time limit .* continue with --resume/);
    assert.equal(readFileSync(journal, 'utf8'), '{"method":"stuck"}\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a journal, or once disarmed, the monitor never stops the process', async () => {
  const m = new CellMonitor(null);
  assert.equal(m.watching, false);
  m.arm(1, '{}');
  const t0 = Date.now();
  while (Date.now() - t0 < 100) { /* busy */ }
  m.start();
  await new Promise((r) => setTimeout(r, 40));
  const peak = m.peak();
  assert.ok(peak === null || peak > 0);
  await m.close();
});

test('--resume may change the limits, but nothing that identifies the run', () => {
  const { record } = buildConfig({ quick: true });
  const rec = { seed: 0, config: record };
  assert.deepEqual(configDifferences(rec, 0, { ...record, budgetS: 99, maxMemoryBytes: 2 ** 33 }), []);
  assert.deepEqual(configDifferences(rec, 0, { ...record, queries: 8 }), ['queries: recorded 16, given 8']);
});
