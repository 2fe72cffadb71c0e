import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import {
  createBackend, getProfile, hardwareProfiles, iterationCost, markedOracle, modelQpuSeconds, noisePerOracleCall, oracleCostModel, qramFaultLocations, ONE_QUBIT_LAYERS_PER_LAYER, quadraticBreakEven, qpuBreakdown, qroamK, surfaceCodePlan, withQram,
  profileNames, QRAM_WRITE_BITS_PER_SECOND, quantumTopK, searchSpace, thresholdOracle, withOverrides,
} from '../oracles/index.ts';

test('qubit count: ⌈log₂N⌉ index qubits plus data and ancilla; QRAM routers O(N) reported separately', () => {
  const flag = markedOracle(1000, [1]).cost;
  assert.equal(flag.indexQubits, 10);
  assert.equal(flag.searchSize, 1024);
  assert.equal(flag.qubits, flag.indexQubits + flag.dataQubits + flag.ancillaQubits);
  assert.equal(flag.qramRouterQubits, 2 * 1023);
  const key = oracleCostModel({ indexQubits: 16, payload: { kind: 'key', dim: 64, bits: 16 }, excludeCount: 32 });
  assert.equal(key.dataQubits, 64 * 16);
  assert.ok(key.arithmetic.twoQubitGates > 0 && key.comparator.twoQubitGates > flag.comparator.twoQubitGates);
  assert.throws(() => oracleCostModel({ indexQubits: 4, payload: { kind: 'key', dim: 0, bits: 16 } }), QattnError);
});

test('QRAM: depth grows as log N, active gate operations as N (Giovannetti et al.; Jaques & Rattew)', () => {
  const m = (n: number) => oracleCostModel({ indexQubits: n, payload: { kind: 'score', bits: 16 } });
  const a = m(10);
  const b = m(20);
  assert.ok(b.qram.depth / a.qram.depth < 3, 'depth: O(log N)');
  assert.ok(b.qram.twoQubitGates / a.qram.twoQubitGates > 1000, 'gate operations: O(N)');
});

test('modelQpuSeconds: every profile, QRAM loading its own term, terms sum to the total', () => {
  const scores = normalArray(createRng(1), 4096);
  const payload = { kind: 'key', dim: 64, bits: 16 } as const;
  const res = quantumTopK(scores, 8, { backend: createBackend('analytic'), rng: createRng(1), payload });
  const model = oracleCostModel({ indexQubits: searchSpace(4096).qubits, payload, excludeCount: 8 });
  const qpu = modelQpuSeconds(res.cost, model, undefined, { selections: 8 });
  assert.deepEqual(Object.keys(qpu).sort(), [...profileNames].sort());
  for (const b of Object.values(qpu)) {
    assert.ok(b.qramLoading > 0 && b.oracleArithmetic > 0 && b.diffusion > 0 && b.measurement > 0);
    assert.ok(Math.abs(b.total - (b.qramLoading + b.oracleArithmetic + b.diffusion + b.measurement)) <= 1e-12 * b.total);
    assert.ok(b.noisePerOracleCall >= 0 && b.noisePerOracleCall <= 1);
    assert.ok(b.parallelClassicalSeconds < b.total, 'the Jaques–Rattew comparison is visible');
    const own = withQram(model, getProfile(b.profile).qram);
    assert.equal(b.qram, own.qramModel);
    assert.equal(b.qubitsNeeded, own.qubits + own.qramRouterQubits);
  }
  assert.equal(qpu['fault-tolerant']!.qram, 'qroam');
  assert.equal(qpu.superconducting!.qramWriteBits, 4096 * 64 * 16, 'the bucket brigade is written once: N·d·b bits, apart');
  // Finding 8: the write is modelled (at the stated classical-leaf bandwidth), one-off, and not in the per-search total.
  assert.equal(qpu.superconducting!.qramWriteSeconds, (4096 * 64 * 16) / QRAM_WRITE_BITS_PER_SECOND);
  assert.equal(qpu['fault-tolerant']!.qramWriteSeconds, 0, 'QROAM: nothing written once');
  const b0 = qpu.superconducting!;
  assert.equal(b0.total, b0.qramLoading + b0.oracleArithmetic + b0.diffusion + b0.measurement, 'the write stays out of the per-search total');
  assert.ok(qpu['trapped-ion']!.total > qpu.superconducting!.total, 'slower gates → more QPU seconds');
  const t = iterationCost(model);
  assert.equal(t.depth, model.qram.depth + model.arithmetic.depth + model.comparator.depth + model.diffusion.depth);
});

test('profile noise p = 1 − (1 − ε)^gates grows with N and error rate; overrides validated', () => {
  const small = markedOracle(4, [1]).cost;
  const big = markedOracle(4096, [1]).cost;
  const sc = hardwareProfiles.superconducting;
  assert.ok(noisePerOracleCall(sc, small) < noisePerOracleCall(sc, big));
  const better = withOverrides(sc, { twoQubitError: 1e-6 });
  assert.ok(noisePerOracleCall(better, small) < noisePerOracleCall(sc, small));
  assert.ok(noisePerOracleCall(withOverrides(sc, { twoQubitError: 0 }), big) === 0);
  assert.throws(() => withOverrides(sc, { twoQubitError: 2 }), QattnError);
  assert.throws(() => getProfile('dwave'), /unknown hardware profile 'dwave' \(valid: superconducting, trapped-ion, neutral-atom or fault-tolerant\)/);
  const ft = withOverrides(getProfile('fault-tolerant'), { qubits: 1000 });
  assert.equal(ft.qubits, 1000);
});

test('threshold oracle carries its cost model (payload, exclusions)', () => {
  const o = thresholdOracle(new Float32Array(100), 0, { exclude: [1, 2], payload: { kind: 'score', bits: 8 } });
  assert.equal(o.cost.indexQubits, 7);
  assert.equal(o.cost.dataQubits, 8);
  const plain = thresholdOracle(new Float32Array(100), 0, { payload: { kind: 'score', bits: 8 } });
  assert.ok(o.cost.comparator.twoQubitGates > plain.cost.comparator.twoQubitGates);
});

test('QRAM noise: fault locations grow as log²N (Hann et al. 2021), not with the O(N) active routers (issue 13, finding 6)', () => {
  const at = (n: number) => oracleCostModel({ indexQubits: n, payload: { kind: 'score', bits: 16 } });
  assert.equal(qramFaultLocations(at(10)), 2 * 100 * 16);
  assert.equal(qramFaultLocations(at(20)) / qramFaultLocations(at(10)), 4, '2^10× the keys: 4× the fault locations');
  assert.ok(at(20).qram.twoQubitGates / at(10).qram.twoQubitGates > 1000, 'while the active gate count is O(N)');
  // A flag oracle over 2^20 indices on trapped ions: the O(N) count gave p ≈ 1; the polylog one leaves it usable.
  const flag = oracleCostModel({ indexQubits: 20, payload: { kind: 'flag' } });
  const p = noisePerOracleCall(getProfile('trapped-ion'), flag);
  assert.ok(p < 0.9, `p = ${p}`);
  assert.ok(p > 0.1, `p = ${p}: the comparator, exclusion and diffusion gates still count`);
});

test('exclusion tests run in parallel: depth grows with log k, gates and ancillas with k (issue 13, finding 9)', () => {
  const at = (k: number) => oracleCostModel({ indexQubits: 20, payload: { kind: 'key', dim: 64, bits: 16 }, excludeCount: k });
  const [k8, k32, k128] = [at(8), at(32), at(128)];
  const perDoubling = (k32.comparator.depth - k8.comparator.depth) / 2;
  assert.ok(perDoubling > 0 && Math.abs((k128.comparator.depth - k32.comparator.depth) / 2 - perDoubling) <= 6 * 2 + 2, 'a constant per doubling of k: logarithmic');
  assert.ok(k128.comparator.twoQubitGates > 3.5 * k32.comparator.twoQubitGates - 1000, 'gates stay linear in k');
  assert.ok(k32.ancillaQubits - at(0).ancillaQubits >= 32 * 20, 'the index copies are paid in qubits');
  const it = iterationCost(k32);
  assert.ok(k32.comparator.depth / it.depth < 0.05, `exclusion share of layers ${(k32.comparator.depth / it.depth).toFixed(3)} (was ~0.24 serialized)`);
});

test('Babbush et al. (PRX Quantum 2, 010103), Table I: break-even of a quadratic speedup to two significant figures', () => {
  const tQ = 17e-3, tC = 33e-9;
  const hours = quadraticBreakEven(tQ, tC, 1).seconds / 3600;
  const days = quadraticBreakEven(tQ, tC, 1e3).seconds / 86400;
  const years = quadraticBreakEven(tQ, tC, 1e6).seconds / (365.25 * 86400);
  assert.equal(Number(hours.toPrecision(2)), 2.4);
  assert.equal(Number(days.toPrecision(2)), 100);
  assert.equal(Number(years.toPrecision(2)), 280);
  const b = quadraticBreakEven(tQ, tC, 1);
  assert.ok(Math.abs(tQ * Math.sqrt(b.steps) - tC * b.steps) / (tC * b.steps) < 1e-12, 'both sides take T* at N*');
});

test('QRAM models against their cited formulas (issue 13, item 2)', () => {
  for (const n of [10, 16, 20]) {
    const N = 2 ** n, b = 16;
    const bb = oracleCostModel({ indexQubits: n, payload: { kind: 'score', bits: b }, qram: 'bucket-brigade' });
    const qr = withQram(bb, 'qroam');
    const free = withQram(bb, 'free');
    // QROAM (Berry et al. 2019): ⌈N/K⌉ + (K−1)·b Toffolis to load, ⌈N/K⌉ + K to unload, K ≈ √(N/b) a power of two.
    const K = qroamK(n, b);
    assert.ok(K >= Math.sqrt(N / b) / Math.SQRT2 && K <= Math.sqrt(N / b) * Math.SQRT2, `K = ${K}`);
    assert.equal(qr.qram.twoQubitGates, 6 * (2 * Math.ceil(N / K) + (K - 1) * b + K));
    assert.equal(qr.qramRouterQubits, K * b);
    assert.equal(qr.qramWriteBits, 0, 'QROAM holds the data in the circuit: nothing written once');
    // Bucket brigade: O(N) routers and active gates, O(n) depth, N·b bits written once.
    assert.equal(bb.qramRouterQubits, 2 * (N - 1));
    assert.equal(bb.qramWriteBits, N * b);
    assert.ok(bb.qram.depth < 100 * n + 2 * 8 * b && bb.qram.twoQubitGates > N);
    // Free: no hardware, log-depth, labelled the most favourable.
    assert.deepEqual([free.qram.twoQubitGates, free.qram.depth, free.qramRouterQubits], [0, n, 0]);
    assert.ok(qr.qram.twoQubitGates < bb.qram.twoQubitGates, 'QROAM needs ~√N-ish Toffolis, the active bucket brigade O(N·b) gates');
  }
  assert.throws(() => withOverrides(getProfile('superconducting'), { qram: 'magic' as never }), /qram must be one of/);
});

test('fault-tolerant profile from the surface code: cycle, logical error and distance against the formula (issue 13, item 3)', () => {
  const spec = { physicalTwoQubitSeconds: 40e-9, physicalMeasurementSeconds: 1e-6, physicalError: 1e-3, targetFailure: 0.01 };
  // 0.03·(0.1)^((d+1)/2)·10^12 ≤ 0.01 first holds at d = 25 (d = 23 gives 3e-2·1e-12·1e12 = 0.03 > 0.01).
  const plan = surfaceCodePlan(spec, 1e12);
  assert.equal(plan.distance, 25);
  assert.ok(Math.abs(plan.logicalCycleSeconds - (4 * 40e-9 + 2 * 1e-6) * 25) < 1e-15);
  assert.ok(Math.abs(plan.logicalError - 0.03 * 0.1 ** 13) < 1e-25);
  assert.equal(plan.physicalQubitsPerLogical, 2 * 25 * 25);
  assert.equal(surfaceCodePlan(spec, 1e6).distance < plan.distance, true, 'a shorter computation needs a smaller code');
  // Through the profile: the distance is chosen from the run's own operation count, and errors stay small.
  const model = oracleCostModel({ indexQubits: 20, payload: { kind: 'key', dim: 64, bits: 16 }, excludeCount: 32 });
  const b = qpuBreakdown({ oracleCalls: 45_000, groverIterations: 45_000, measurements: 3800 }, model, getProfile('fault-tolerant'));
  assert.ok(b.codeDistance !== null && b.codeDistance >= 3 && b.codeDistance % 2 === 1);
  assert.equal(b.physicalQubits, b.qubitsNeeded * 2 * b.codeDistance! ** 2);
  assert.ok(b.noisePerOracleCall < 0.01, `error-corrected: p per call ${b.noisePerOracleCall}`);
  assert.equal(qpuBreakdown({ oracleCalls: 1, groverIterations: 1, measurements: 1 }, model, getProfile('superconducting')).codeDistance, null);
});

test('one-qubit gates are timed: each two-qubit layer brings 7/6 one-qubit layers at the profile\'s own speed (issue 13, finding 5)', () => {
  const model = oracleCostModel({ indexQubits: 12, payload: { kind: 'score', bits: 16 } });
  const cost = { oracleCalls: 100, groverIterations: 100, measurements: 0 };
  const layers = 100 * (model.qram.depth + model.arithmetic.depth + model.comparator.depth) + 100 * model.diffusion.depth;
  const sc = getProfile('superconducting');
  assert.equal(sc.oneQubitGateSeconds, 25e-9, 'Sycamore: one-qubit gates are slower than two-qubit ones, not 10× faster');
  const b = qpuBreakdown(cost, model, sc);
  assert.ok(Math.abs(b.total - layers * (sc.twoQubitGateSeconds + ONE_QUBIT_LAYERS_PER_LAYER * sc.oneQubitGateSeconds)) <= 1e-12 * b.total);
  const slower = qpuBreakdown(cost, model, withOverrides(sc, { oneQubitGateSeconds: 1e-6 }));
  assert.ok(slower.total > 10 * b.total, 'a slow one-qubit gate shows in the total');
});
