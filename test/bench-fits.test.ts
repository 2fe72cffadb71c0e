import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeFits, fitLine } from '../bench/fits.ts';
import { studentTCdf, studentTQuantile } from '../bench/stats.ts';
import { dhhmBound, theoryChecks } from '../bench/theory.ts';
import type { BenchRecord, FitEntry, OkRecord } from '../bench/results.ts';
import { createRng } from '../core/rng.ts';

test('Student t quantiles match closed forms and standard tables', () => {
  // df = 1 (Cauchy) and df = 2 have closed forms; the rest are the usual two-sided 95 % critical values.
  assert.ok(Math.abs(studentTQuantile(0.975, 1) - Math.tan(Math.PI * 0.475)) < 1e-8);
  assert.ok(Math.abs(studentTQuantile(0.975, 2) - 0.95 / Math.sqrt(2 * 0.975 * 0.025)) < 1e-8);
  for (const [df, t] of [[3, 3.1824], [5, 2.5706], [10, 2.2281], [30, 2.0423], [120, 1.9799]] as const) {
    assert.ok(Math.abs(studentTQuantile(0.975, df) - t) < 1e-4, `df=${df}`);
  }
  assert.equal(studentTQuantile(0.5, 7), 0);
  assert.ok(Math.abs(studentTQuantile(0.025, 4) + studentTQuantile(0.975, 4)) < 1e-12);
  assert.ok(Math.abs(studentTCdf(studentTQuantile(0.9, 6), 6) - 0.9) < 1e-9);
});

test('fitLine recovers an exact power law with a zero-width interval', () => {
  const ns = [2 ** 12, 2 ** 13, 2 ** 14, 2 ** 15, 2 ** 16];
  const f = fitLine(ns.map(Math.log), ns.map((n) => Math.log(3 * n ** 0.5)))!;
  assert.ok(Math.abs(f.slope - 0.5) < 1e-12);
  assert.ok(Math.abs(f.intercept - Math.log(3)) < 1e-9);
  assert.ok(f.halfWidth < 1e-9);
  assert.equal(fitLine([1, 2], [1, 2]), null, 'two points have no confidence interval');
  assert.equal(fitLine([1, 1, 1], [1, 2, 3]), null, 'no spread in x');
});

test('the 95 % interval covers the true exponent about 95 % of the time', () => {
  const rng = createRng(7);
  const xs = [8, 9, 10, 11, 12, 13].map((k) => k * Math.LN2);
  let covered = 0;
  const trials = 400;
  for (let t = 0; t < trials; t++) {
    const ys = xs.map((x) => 1.2 * x + 0.3 * rng.normal());
    const f = fitLine(xs, ys)!;
    if (Math.abs(f.slope - 1.2) <= f.halfWidth) covered++;
  }
  assert.ok(covered / trials > 0.91 && covered / trials < 0.99, `coverage ${covered / trials}`);
});

function rec(method: string, n: number, ms: number, oracle: number | null, prepareMs: number | null = null): OkRecord {
  return {
    method, variant: method, budget: null, family: 'classical', options: {}, workload: 'gaussian', workloadOptions: {}, mode: 'decode', causal: false,
    n, m: 16, d: 64, dv: 64, seed: 0, status: 'ok', reason: null, path: null,
    timing: { medianMs: ms, p99Ms: ms, rme: 1, samples: 3, warmupMs: ms },
    cost: { scoreEvaluations: 16 * n, oracleQueries: oracle, groverIterations: null, samples: null, selectedPerQuery: null, extra: {} },
    fidelity: { reference: 'float64', relL2: 0, maxAbs: 0, cosine: 1, massRecall: null, topkRecall: null, accuracy: null },
    prepare: prepareMs === null ? null : { timing: { medianMs: prepareMs, p99Ms: prepareMs, rme: null, samples: 1, warmupMs: prepareMs }, cost: { scoreEvaluations: 0, extra: {} } },
    modeledQpuSeconds: null,
    rss: null,
  };
}

test('computeFits uses n ≥ fitMinN when three lengths reach it, else every length', () => {
  const ns = [2 ** 8, 2 ** 10, 2 ** 12, 2 ** 13, 2 ** 14];
  // Flat (fixed cost) below 2^12, linear above: only the restricted fit sees exponent 1.
  const records: BenchRecord[] = ns.map((n) => rec('exact', n, n < 4096 ? 4 : n / 1024, null));
  const time = computeFits(records).find((f) => f.metric === 'time')!;
  assert.deepEqual([time.nMin, time.nMax, time.points], [4096, 16384, 3]);
  assert.ok(Math.abs(time.exponent - 1) < 1e-9);
  const all = computeFits(records, 2 ** 13).find((f) => f.metric === 'time')!;
  assert.deepEqual([all.nMin, all.points], [256, 5]);
  assert.ok(all.exponent < 0.9);
  const evals = computeFits(records).find((f) => f.metric === 'scoreEvaluations')!;
  assert.ok(Math.abs(evals.exponent - 1) < 1e-9);
  assert.equal(computeFits(records).find((f) => f.metric === 'oracleQueries'), undefined, 'n/a metrics are not fitted');
  assert.equal(computeFits(records).find((f) => f.metric === 'prepareTime'), undefined, 'no prepare timing, no prepare fit');
});

test('query time and prepare time are fitted apart', () => {
  const ns = [2 ** 12, 2 ** 14, 2 ** 16, 2 ** 18];
  // A flat query (an index lookup) on an n log n prepare (an index build).
  const records: BenchRecord[] = ns.map((n) => rec('ann', n, 0.5, null, n * Math.log2(n) / 1e4));
  const fits = computeFits(records);
  const time = fits.find((f) => f.metric === 'time')!, prep = fits.find((f) => f.metric === 'prepareTime')!;
  assert.ok(Math.abs(time.exponent) < 1e-9, `query exponent ${time.exponent}`);
  assert.ok(prep.exponent > 1.05 && prep.exponent < 1.15, `prepare exponent ${prep.exponent}`);
  assert.equal(prep.points, 4);
});

test('a metric missing at some lengths, skipped cells and groups of < 3 points give no fit', () => {
  const ns = [2 ** 12, 2 ** 13, 2 ** 14];
  const records: BenchRecord[] = ns.map((n, i) => rec('grover-topk', n, 1, i === 1 ? null : Math.sqrt(n)));
  assert.equal(computeFits(records).find((f) => f.metric === 'oracleQueries'), undefined);
  const two = computeFits(ns.slice(0, 2).map((n) => rec('x', n, 1, 1)));
  assert.deepEqual(two, []);
});

test('theory checks: pass within ±0.1, fail outside, n/a without a fit or below 2^12', () => {
  const fit = (method: string, metric: FitEntry['metric'], exponent: number, nMin = 4096): FitEntry => ({
    method, variant: method, workload: 'gaussian', mode: 'decode', metric, exponent, intercept: 0, ci95: [exponent, exponent], r2: 1, nMin, nMax: 65536, points: 5,
  });
  const checks = theoryChecks([fit('exact', 'time', 1.08), fit('exact', 'scoreEvaluations', 1.2)]);
  const by = (method: string, metric: string) => checks.find((c) => c.expectation.method === method && c.expectation.metric === metric)!.status;
  assert.equal(by('exact', 'time'), 'pass');
  assert.equal(by('exact', 'scoreEvaluations'), 'fail');
  assert.equal(by('grover-topk', 'oracleQueries'), 'n/a');
  assert.equal(theoryChecks([fit('exact', 'time', 1, 128)])[0]!.status, 'n/a', 'a fit from below 2^12 is not judged');
  // Issue 13, finding 7: no check whose metric is fixed by an option (l2-sampling's samples = m·s) — it could not fail.
  assert.ok(!checks.some((c) => c.expectation.method === 'l2-sampling'));
});

test('the grover-topk check follows the DHHM bound with its certification term, over the fitted range (issue 13, findings 3 and 11)', () => {
  const at = (exponent: number, nMin: number, nMax: number) =>
    theoryChecks([{ method: 'grover-topk', variant: 'grover-topk', workload: 'gaussian', mode: 'decode', metric: 'oracleQueries', exponent, intercept: 0, ci95: [exponent, exponent], r2: 1, nMin, nMax, points: 5 }])
      .find((c) => c.expectation.method === 'grover-topk')!;
  const c = at(0.55, 2 ** 12, 2 ** 20);
  // √(kN') + c·√N': c = 35 at 2^12, 37 at 2^20 (certificationRounds), so the slope is a little above ½.
  assert.equal(dhhmBound(2 ** 12), Math.sqrt(32 * 2 ** 12) + 35 * 2 ** 6);
  assert.equal(dhhmBound(2 ** 20), Math.sqrt(32 * 2 ** 20) + 37 * 2 ** 10);
  assert.ok(c.expected > 0.5 && c.expected < 0.52, `expected ${c.expected}`);
  assert.equal(c.status, 'pass');
  assert.equal(at(0.7, 2 ** 12, 2 ** 20).status, 'fail');
  assert.match(c.expectation.why, /certification/);
});
