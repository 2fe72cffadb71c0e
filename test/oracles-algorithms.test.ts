import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import {
  bbhtExpectedCallsBound, bbhtSearch, createBackend, defaultBbhtBudget, depolarizing, durrHoyerBound, durrHoyerMax, groverSearch,
  groverSuccessProbability, markedOracle, noisyBbhtExpectedCallsBound, optimalIterations, randomSubset, thresholdOracle,
} from '../oracles/index.ts';

test('r = ⌊π/(4θ)⌋ depends on M: N = 4096 with 16 marked needs 12 iterations, not ⌊π/4·√N⌋ = 50', () => {
  assert.equal(optimalIterations(16, 4096), 12);
  assert.equal(optimalIterations(1, 4096), 50);
  assert.ok(groverSuccessProbability(12, 16, 4096) > 0.9999);
  assert.ok(groverSuccessProbability(50, 16, 4096) < 0.01, 'the fixed-r demo over-rotates');
  assert.equal(optimalIterations(0, 64), 0);
  assert.throws(() => optimalIterations(65, 64), QattnError);
});

test('Grover with known M: cost record and backend success probability', () => {
  const backend = createBackend('statevector');
  const oracle = markedOracle(1000, [3, 500, 999]);
  const res = groverSearch(backend, oracle, { rng: createRng(1) });
  const r = optimalIterations(3, 1024);
  assert.equal(res.iterations, r);
  assert.equal(res.cost.oracleCalls, r);
  assert.equal(res.cost.groverIterations, r);
  assert.equal(res.cost.measurements, 1);
  assert.equal(res.cost.qubits, oracle.cost.qubits);
  assert.ok(Math.abs(res.successProbability - groverSuccessProbability(r, 3, 1024)) < 1e-12);
  let found = 0;
  for (let i = 0; i < 400; i++) if (groverSearch(backend, oracle, { rng: createRng(100 + i) }).found) found++;
  assert.ok(found / 400 > 0.97, `found rate ${found / 400}`);
});

/** Mean oracle calls of BBHT over `runs` seeded runs. */
function bbhtMeanCalls(backendName: 'analytic' | 'statevector', N: number, t: number, runs: number, seed: number): number {
  const backend = createBackend(backendName);
  const oracle = markedOracle(N, randomSubset(N, t, createRng(seed)));
  let calls = 0;
  for (let i = 0; i < runs; i++) {
    const res = bbhtSearch(backend, oracle, { rng: createRng(seed * 1000 + i), maxOracleCalls: Infinity });
    assert.ok(res.found);
    if (res.found) assert.ok(oracle.marked.includes(res.index));
    calls += res.cost.oracleCalls;
  }
  return calls / runs;
}

test('BBHT: mean oracle calls over 300 seeded runs ≤ (9/2)·√(N′/t) for 1 ≤ t ≤ 3N′/4', () => {
  for (const [N, t] of [[1024, 1], [1024, 3], [1000, 250], [4096, 16], [2 ** 16, 1], [64, 48]] as const) {
    const mean = bbhtMeanCalls('analytic', N, t, 300, N + t);
    const bound = bbhtExpectedCallsBound(t, 2 ** Math.ceil(Math.log2(N)));
    assert.ok(mean <= bound, `N=${N} t=${t}: mean ${mean} > bound ${bound}`);
  }
  const sv = bbhtMeanCalls('statevector', 256, 2, 200, 5);
  assert.ok(sv <= bbhtExpectedCallsBound(2, 256), `statevector mean ${sv}`);
});

test('BBHT with nothing marked stops at its budget and reports not found', () => {
  const res = bbhtSearch(createBackend('analytic'), markedOracle(256, []), { rng: createRng(2), maxOracleCalls: 500 });
  assert.equal(res.found, false);
  if (!res.found) assert.equal(res.reason, 'budget');
  assert.ok(res.cost.oracleCalls <= 500);
});

test('Dürr–Høyer: mean iterations to the maximum ≤ m₀ over 200 runs; success at 2m₀ ≥ 1/2', () => {
  const backend = createBackend('analytic');
  for (const N of [256, 1000, 4096]) {
    const scores = normalArray(createRng(N), N);
    const m0 = durrHoyerBound(2 ** Math.ceil(Math.log2(N)));
    let toMax = 0;
    let hits = 0;
    const runs = 200;
    for (let i = 0; i < runs; i++) {
      const res = durrHoyerMax(scores, { backend, rng: createRng(7 * N + i) });
      toMax += res.oracleCallsToMax ?? res.cost.oracleCalls;
      if (res.isMax) hits++;
      assert.ok(res.cost.oracleCalls <= Math.ceil(2 * m0), 'the default budget is ⌈2m₀⌉');
    }
    assert.ok(toMax / runs <= m0, `N=${N}: mean ${toMax / runs} > m0 ${m0}`);
    assert.ok(hits / runs >= 0.5, `N=${N}: success ${hits / runs}`);
  }
});

test('Dürr–Høyer on the state vector finds the maximum with ties (property)', () => {
  const backend = createBackend('statevector');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 40 }), fc.integer(), (xs, seed) => {
      const scores = Float64Array.from(xs);
      const res = durrHoyerMax(scores, { backend, rng: createRng(seed), maxOracleCalls: 2000 });
      assert.equal(res.score, scores[res.index]);
      if (res.isMax) assert.equal(res.score, Math.max(...xs));
    }),
    { numRuns: 40, seed: 5 },
  );
});

test('threshold-oracle BBHT agrees across backends on the found set', () => {
  const scores = normalArray(createRng(4), 300);
  const oracle = thresholdOracle(scores, 1.5);
  for (const name of ['analytic', 'statevector'] as const) {
    const res = bbhtSearch(createBackend(name), oracle, { rng: createRng(8) });
    assert.ok(res.found);
    if (res.found) assert.ok(scores[res.index]! > 1.5);
    assert.ok(res.cost.simulatorScoreReads >= 300, 'the O(N) oracle evaluation is reported as simulator reads');
  }
});

test('BBHT under noise: the default budget uses a noisy expected-calls bound, which the mean respects (issue 13, finding 12)', () => {
  const N = 1024;
  assert.equal(defaultBbhtBudget(N), Math.ceil(10 * bbhtExpectedCallsBound(1, N)), 'noiseless: 10× the t = 1 bound');
  const noise = depolarizing(0.1);
  const bound = noisyBbhtExpectedCallsBound(N, noise);
  assert.ok(bound > bbhtExpectedCallsBound(1, N) && defaultBbhtBudget(N, noise) === Math.ceil(10 * bound), 'noise raises the budget');
  assert.equal(defaultBbhtBudget(2 ** 40, depolarizing(0.5)), Infinity, 'no finite budget once success is vanishingly rare');
  const backend = createBackend('analytic');
  const oracle = markedOracle(N, [17]);
  const mean = (p: typeof noise | undefined): number => {
    let calls = 0;
    for (let i = 0; i < 300; i++) {
      const res = bbhtSearch(backend, oracle, { rng: createRng(7000 + i), ...(p ? { noise: p } : {}), maxOracleCalls: Infinity });
      assert.ok(res.found);
      calls += res.cost.oracleCalls;
    }
    return calls / 300;
  };
  const noisy = mean(noise), clean = mean(undefined);
  assert.ok(noisy <= bound, `mean ${noisy} > bound ${bound}`);
  assert.ok(noisy > 1.5 * clean, `noise makes the search slower (${noisy} vs ${clean} calls), so the noiseless bound is not its budget`);
});
