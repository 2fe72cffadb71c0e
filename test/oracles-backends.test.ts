import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QattnError } from '../core/errors.ts';
import { createRng } from '../core/rng.ts';
import {
  createBackend, depolarizing, markedOracle, noisyMarkedProbability, optimalIterations, randomSubset, searchSpace,
  thresholdOracle, type PreparedSearch,
} from '../oracles/index.ts';

const TOL = 1e-12;

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** sin²((2r+1)θ), sin²θ = M/N', straight from the formula (independent of the backends). */
function theory(r: number, M: number, searchSize: number): number {
  return Math.sin((2 * r + 1) * Math.asin(Math.sqrt(M / searchSize))) ** 2;
}

function markedCounts(N: number): number[] {
  return [...new Set([1, 2, 3, Math.floor(N / 4), Math.floor(N / 2)])].filter((m) => m >= 1 && m <= N);
}

test('success probability equals sin²((2r+1)θ) on both backends, N = 2 … 2^16 incl. non-powers of two', () => {
  const sv = createBackend('statevector');
  const an = createBackend('analytic');
  const rng = createRng(7);
  for (const N of [2, 3, 5, 7, 12, 100, 1000, 1024, 4097, 2 ** 16]) {
    for (const M of markedCounts(N)) {
      const oracle = markedOracle(N, randomSubset(N, M, rng));
      const a = sv.prepare(oracle);
      const b = an.prepare(oracle);
      assert.equal(a.searchSize, 2 ** Math.ceil(Math.log2(N)));
      const r = optimalIterations(M, a.searchSize);
      const expected = theory(r, M, a.searchSize);
      assert.ok(Math.abs(a.markedProbability(r) - expected) <= TOL, `statevector N=${N} M=${M}`);
      assert.ok(Math.abs(b.markedProbability(r) - expected) <= TOL, `analytic N=${N} M=${M}`);
      assert.ok(maxAbsDiff(a.probabilities(r), b.probabilities(r)) <= TOL, `distributions N=${N} M=${M}`);
    }
  }
});

test('statevector and analytic amplitudes agree to 1e-12 at every r (property)', () => {
  const sv = createBackend('statevector');
  const an = createBackend('analytic');
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 80 }), fc.integer(), (N, frac, r, seed) => {
      const M = Math.round(frac * N);
      const oracle = markedOracle(N, randomSubset(N, M, createRng(seed)));
      const a = sv.prepare(oracle);
      const b = an.prepare(oracle);
      assert.equal(a.markedCount, M);
      assert.ok(maxAbsDiff(a.amplitudes(r), b.amplitudes(r)) <= TOL);
      assert.ok(Math.abs(b.markedProbability(r) - (M === 0 ? 0 : theory(r, M, b.searchSize))) <= TOL);
    }),
    { numRuns: 60, seed: 11 },
  );
});

test('gate-level statevector (H, X, multi-controlled Z) matches the fast path for small n', () => {
  const fast = createBackend('statevector');
  const gates = createBackend('statevector', { gateLevel: true });
  const rng = createRng(3);
  for (const N of [1, 2, 3, 8, 13, 64, 200, 256]) {
    for (const M of [0, ...markedCounts(N)]) {
      const oracle = markedOracle(N, randomSubset(N, M, rng));
      const a = fast.prepare(oracle);
      const b = gates.prepare(oracle);
      for (const r of [0, 1, 2, optimalIterations(M, a.searchSize), 9]) {
        assert.ok(maxAbsDiff(a.amplitudes(r), b.amplitudes(r)) <= TOL, `N=${N} M=${M} r=${r}`);
      }
    }
  }
});

test('threshold oracle marks score > τ strictly; padding states are never marked', () => {
  const scores = new Float64Array([1, 2, 2, 3, -Infinity]);
  for (const name of ['statevector', 'analytic'] as const) {
    const s = createBackend(name).prepare(thresholdOracle(scores, 2));
    assert.equal(s.searchSize, 8);
    assert.equal(s.markedCount, 1);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => s.isMarked(i)), [false, false, false, true, false, false, false, false]);
    const excl = createBackend(name).prepare(thresholdOracle(scores, 1, { exclude: [3] }));
    assert.equal(excl.markedCount, 2);
    assert.equal(excl.isMarked(3), false);
  }
});

function sampleMarkedRate(s: PreparedSearch, r: number, shots: number, seed: number, p?: number): number {
  const rng = createRng(seed);
  const noise = p === undefined ? undefined : depolarizing(p);
  let hits = 0;
  for (let i = 0; i < shots; i++) if (s.isMarked(s.measure(r, rng, noise))) hits++;
  return hits / shots;
}

function assertRate(observed: number, p: number, shots: number, what: string): void {
  const sd = Math.sqrt(Math.max(p * (1 - p), 1e-4) / shots);
  assert.ok(Math.abs(observed - p) <= 5 * sd, `${what}: observed ${observed}, expected ${p} ± ${5 * sd}`);
}

test('measurements follow the distribution on both backends', () => {
  const oracle = markedOracle(12, [1, 5, 9]);
  for (const name of ['statevector', 'analytic'] as const) {
    const s = createBackend(name).prepare(oracle);
    for (const r of [0, 1, 2]) assertRate(sampleMarkedRate(s, r, 4000, 17 + r), s.markedProbability(r), 4000, `${name} r=${r}`);
  }
});

test('depolarizing noise lowers success exactly as (1−p)^r·sin²((2r+1)θ) + (1−(1−p)^r)·M/N′', () => {
  const oracle = markedOracle(64, [7]);
  const r = optimalIterations(1, 64);
  for (const name of ['analytic', 'statevector'] as const) {
    const s = createBackend(name).prepare(oracle);
    let previous = Infinity;
    for (const p of [0, 0.02, 0.1, 0.5]) {
      const predicted = noisyMarkedProbability(s.markedProbability(r), 1, 64, r, depolarizing(p));
      assert.ok(predicted < previous, 'monotone in p');
      previous = predicted;
      const shots = name === 'analytic' ? 20000 : 3000;
      assertRate(sampleMarkedRate(s, r, shots, 99, p), predicted, shots, `${name} p=${p}`);
    }
  }
});

test('clear QattnErrors: N < 1, M > N, qubits over the limit, NaN scores, unknown backend', () => {
  assert.throws(() => searchSpace(0), QattnError);
  assert.throws(() => markedOracle(0, []), /N must be an integer ≥ 1/);
  assert.throws(() => markedOracle(3, [0, 1, 2, 0]), /M = 4 marked items exceed N = 3/);
  assert.throws(() => markedOracle(3, [0, 3]), /outside|not an integer in/);
  assert.throws(() => markedOracle(3, [1, 1]), /appears twice/);
  assert.throws(() => createBackend('statevector').prepare(markedOracle(2 ** 27, [0])), /27 qubits .* limit of 26 qubits/);
  assert.throws(() => createBackend('statevector', { maxQubits: 10 }).prepare(markedOracle(2048, [0])), QattnError);
  assert.throws(() => thresholdOracle(new Float32Array([1, NaN]), 0), /NaN at index 1/);
  assert.throws(() => thresholdOracle(new Float32Array([1, 2]), NaN), /threshold must not be NaN/);
  assert.throws(() => createBackend('qiskit'), /unknown quantum backend 'qiskit' \(valid: statevector, analytic or gpujs\)/);
  assert.throws(() => depolarizing(1.5), QattnError);
});
