import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import { createBackend, depolarizing, quantumTopK, type Backend, type TopKResult } from '../oracles/index.ts';

/** Independent check: the returned scores are the k largest values (as a multiset; ties broken any way). */
function isTopKBySorting(scores: ArrayLike<number>, res: TopKResult, k: number): boolean {
  const best = Array.from(scores).sort((a, b) => b - a).slice(0, k);
  const got = Array.from(res.scores);
  return got.length === k && got.every((x, i) => x === best[i]);
}

function assertWellFormed(scores: Float32Array | Float64Array, res: TopKResult, k: number): void {
  assert.equal(res.indices.length, k);
  assert.equal(new Set(res.indices).size, k, 'distinct indices');
  res.indices.forEach((j, i) => assert.equal(res.scores[i], scores[j]));
  for (let i = 1; i < k; i++) assert.ok(res.scores[i - 1]! >= res.scores[i]!, 'descending');
  assert.equal(res.success, isTopKBySorting(scores, res, k), 'success flag agrees with a sort-based check');
}

function successRate(backend: Backend, scores: Float32Array, k: number, runs: number, seed: number, p?: number) {
  let hits = 0;
  let bound = 1;
  let calls = 0;
  for (let i = 0; i < runs; i++) {
    const res = quantumTopK(scores, k, { backend, rng: createRng(seed + i), noise: p === undefined ? undefined : depolarizing(p) });
    assertWellFormed(scores, res, k);
    if (res.success) hits++;
    bound = res.successLowerBound;
    calls += res.cost.oracleCalls;
  }
  return { rate: hits / runs, bound, meanCalls: calls / runs };
}

/** The observed rate must not fall below the reported bound by more than 3 binomial standard deviations. */
function assertAtLeast(rate: number, bound: number, runs: number, what: string): void {
  const slack = 3 * Math.sqrt(Math.max(bound * (1 - bound), 1 / runs) / runs);
  assert.ok(rate >= bound - slack, `${what}: rate ${rate} < bound ${bound} − ${slack}`);
}

test('top-k returns the true top-k at (at least) the rate it reports: 200 runs, analytic and statevector', () => {
  const scores = normalArray(createRng(1), 1024);
  const a = successRate(createBackend('analytic'), scores, 8, 200, 1000);
  assert.ok(a.bound >= 0.99);
  assertAtLeast(a.rate, a.bound, 200, 'analytic');
  const sv = successRate(createBackend('statevector'), normalArray(createRng(2), 200), 4, 60, 2000);
  assertAtLeast(sv.rate, sv.bound, 60, 'statevector');
});

test('noise lowers the reported bound and the observed rate stays above it', () => {
  const scores = normalArray(createRng(3), 256);
  const backend = createBackend('analytic');
  const clean = successRate(backend, scores, 4, 200, 10);
  const noisy = successRate(backend, scores, 4, 200, 10, 0.01);
  assert.ok(noisy.bound < clean.bound);
  assertAtLeast(noisy.rate, noisy.bound, 200, 'p = 0.01');
});

test('ties: any tie-break among equal scores is accepted (property, statevector and analytic)', () => {
  const backends = [createBackend('analytic'), createBackend('statevector')];
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 60 }),
      fc.integer(),
      fc.boolean(),
      (xs, kRaw, seed, useSv) => {
        const scores = Float32Array.from(xs);
        const k = 1 + ((kRaw - 1) % xs.length);
        const res = quantumTopK(scores, k, { backend: backends[useSv ? 1 : 0]!, rng: createRng(seed) });
        assertWellFormed(scores, res, k);
      },
    ),
    { numRuns: 80, seed: 9 },
  );
});

test('mean oracle calls per query grow as √N for fixed k = 32 (fitted exponent 0.5 ± 0.1, N = 2^12 … 2^18)', () => {
  const backend = createBackend('analytic');
  const xs: number[] = [];
  const ys: number[] = [];
  for (const n of [12, 14, 16, 18]) {
    const runs = n === 18 ? 6 : 10;
    let calls = 0;
    for (let i = 0; i < runs; i++) {
      const scores = normalArray(createRng(n * 100 + i), 2 ** n);
      const res = quantumTopK(scores, 32, { backend, rng: createRng(i) });
      assert.ok(res.success);
      assert.ok(res.cost.simulatorScoreReads >= 2 ** n, 'simulator reads reported separately');
      calls += res.cost.oracleCalls;
    }
    xs.push(Math.log(2 ** n));
    ys.push(Math.log(calls / runs));
  }
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
  const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  assert.ok(Math.abs(slope - 0.5) <= 0.1, `fitted exponent ${slope}`);
});

test('fast on the analytic backend: N = 2^16, k = 32 (target well under 50 ms per query)', () => {
  const backend = createBackend('analytic');
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const scores = normalArray(createRng(500 + i), 2 ** 16);
    const t = performance.now();
    quantumTopK(scores, 32, { backend, rng: createRng(i) });
    times.push(performance.now() - t);
  }
  const median = times.sort((a, b) => a - b)[3]!;
  // Generous against shared CI cores; the benchmark prints the real figure.
  assert.ok(median < 150, `median ${median.toFixed(1)} ms`);
});

test('k = N is exhaustive; errors for k > N, k < 1, NaN scores', () => {
  const backend = createBackend('analytic');
  const scores = new Float64Array([3, 1, 2]);
  const all = quantumTopK(scores, 3, { backend, rng: createRng(1) });
  assert.deepEqual(Array.from(all.indices), [0, 2, 1]);
  assert.equal(all.stoppedBy, 'exhaustive');
  assert.equal(all.cost.oracleCalls, 0);
  assert.throws(() => quantumTopK(scores, 4, { backend, rng: createRng(1) }), /k = 4 exceeds the number of keys N = 3/);
  assert.throws(() => quantumTopK(scores, 0, { backend, rng: createRng(1) }), QattnError);
  assert.throws(() => quantumTopK(new Float32Array([1, NaN, 2]), 1, { backend, rng: createRng(1) }), /NaN at index 1/);
});

test('maxOracleCalls caps the run and is reported as stoppedBy budget', () => {
  const scores = normalArray(createRng(5), 4096);
  const res = quantumTopK(scores, 16, { backend: createBackend('analytic'), rng: createRng(5), maxOracleCalls: 100 });
  assert.equal(res.stoppedBy, 'budget');
  assert.ok(res.cost.oracleCalls <= 100);
  assertWellFormed(scores, res, 16);
});
