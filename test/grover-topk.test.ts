/**
 * grover-topk beyond the registry-wide conformance suite: it finds the same keys as topk-exact, its cost
 * fields separate quantum work, final-softmax dot products and simulator overhead, its `quantum` record is
 * what bench/qpu.ts reads, oracle calls grow like √n, masked keys are never selected, noise is honoured, and
 * the documented tail estimate reduces the top-k truncation error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relL2 } from '../attention/fidelity.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { resolveOptions } from '../attention/options.ts';
import { attendPrepared, prepareAttention, runAttention } from '../attention/run.ts';
import { kvOf, queryOf } from '../attention/define.ts';
import type { AttentionInput, AttentionOutput, OptionValue } from '../attention/types.ts';
import { groverTopk, quantizeKeys } from '../attention/mechanisms/grover-topk.ts';
import { nthUnselected } from '../attention/mechanisms/tail-estimate.ts';
import { modeledQpuSeconds } from '../bench/qpu.ts';
import { QattnError } from '../core/errors.ts';
import { DEFAULT_BITS, modelQpuSeconds, oracleCostModel, searchSpace } from '../oracles/index.ts';
import { gaussianInput, plantedNeedleInput } from './helpers/workloads.ts';
import { passes, show, twoSample } from './helpers/chi-square.ts';
import { createRng } from '../core/rng.ts';
import { createBackend, depolarizing, quantumTopK } from '../oracles/index.ts';
import { ortLogits, prepareOrtKeys } from '../attention/kernels/ort/scores.ts';
import { __test as ranks, rankedKeys } from '../attention/mechanisms/grover-ranks.ts';
import { maxRowNorm } from '../attention/kernels/ort/scores.ts';
import { fullInput } from '../attention/define.ts';

async function grover(input: AttentionInput, given: Record<string, OptionValue> = {}): Promise<AttentionOutput> {
  return (await runAttention('grover-topk', input, given)).output;
}

const sorted = (a: Int32Array): number[] => Array.from(a).sort((x, y) => x - y);

test('finds the same keys as topk-exact on planted needles, with the same output', async () => {
  const { input } = plantedNeedleInput({ m: 8, n: 200, d: 16, dv: 8, seed: 31 });
  const g = await grover({ ...input, seed: 3 }, { k: 8 });
  const t = (await runAttention('topk-exact', input, { k: 8 })).output;
  assert.equal(g.cost.extra['failedQueries'], 0);
  g.selected!.forEach((sel, i) => assert.deepEqual(sorted(sel), sorted(t.selected![i]!), `query ${i}`));
  assert.ok(relL2(g.out, t.out) < 1e-7, `outputs differ: ${relL2(g.out, t.out)}`);
});

test('cost: every host dot product, quantum counts and simulator overhead are reported apart', async () => {
  const input = { ...gaussianInput({ m: 6, n: 300, d: 8, dv: 4, seed: 32 }), seed: 1 };
  const { cost } = await grover(input, { k: 10 });
  // Issue 13, finding 1: the k initial reads and the check of each measured index are classical q·k on the host.
  assert.equal(cost.scoreEvaluations, cost.extra['classicalQueries'], 'DHHM\'s reads are dot products (the softmax reuses them)');
  assert.ok(cost.scoreEvaluations! >= 6 * 10 + cost.extra['measurements']!, '≥ k + measurements per searched query');
  assert.equal(cost.selectedPerQuery, 10);
  assert.ok(cost.oracleQueries! > 0 && cost.groverIterations === cost.oracleQueries);
  assert.equal(cost.samples, null);
  const x = cost.extra;
  assert.equal(x['simulatorLogitEvaluations'], 6 * 300, 'the simulator computes every window logit');
  assert.ok(x['simulatorScoreReads']! >= 6 * 300, `simulator reads ${x['simulatorScoreReads']}`);
  assert.equal(x['classicalQueries'], 6 * 10 + x['measurements']!, 'k initial reads + one check per measurement');
  assert.equal(x['qubits'], oracleCostModel({ indexQubits: 9, payload: { kind: 'key', dim: 8, bits: DEFAULT_BITS }, excludeCount: 10 }).qubits);
  assert.equal(x['exhaustiveQueries'], 0);
  assert.equal(x['failedQueries'], 0);
});

test('quantum record: bench/qpu.ts gives the modeled seconds of the summed cost and the key-oracle model', async () => {
  const input = { ...gaussianInput({ m: 5, n: 500, d: 8, dv: 4, seed: 33 }), seed: 2 };
  const out = await grover(input, { k: 4 });
  const records = out.quantum!;
  assert.equal(records.length, 1);
  const model = oracleCostModel({ indexQubits: searchSpace(500).qubits, payload: { kind: 'key', dim: 8, bits: DEFAULT_BITS }, excludeCount: 4, indexTieBreak: true });
  assert.equal(model.comparator.twoQubitGates - oracleCostModel({ indexQubits: model.indexQubits, payload: model.payload, excludeCount: 4 }).comparator.twoQubitGates, 16 * 9, 'ties broken by index: 9 more compared bits');
  assert.deepEqual(records[0]!.model, model);
  assert.equal(records[0]!.cost.oracleCalls, out.cost.oracleQueries);
  assert.equal(records[0]!.cost.measurements, out.cost.extra['measurements']);
  const direct = modelQpuSeconds(records[0]!.cost, model, undefined, { selections: 4 });
  const viaBench = modeledQpuSeconds(out.quantum)!;
  for (const [name, b] of Object.entries(direct)) assert.equal(viaBench[name], b.total, name);
  assert.ok(Object.values(viaBench).every((s) => s > 0));
  // Exhaustive: no search, so zero modeled QPU time (not null, which would read as "not reported").
  const ex = await grover(input, { k: 500 });
  assert.equal(ex.cost.oracleQueries, 0);
  assert.ok(Object.values(modeledQpuSeconds(ex.quantum)!).every((s) => s === 0));
});

test('causal: one record per index-register width, queries add up to m', async () => {
  const input = gaussianInput({ m: 40, n: 40, d: 8, dv: 4, seed: 34, causal: true });
  const out = await grover(input, { k: 4 });
  const records = out.quantum!;
  assert.equal(records.reduce((s, r) => s + r.queries, 0), 40);
  // Query i sees i + 1 keys: windows of 1 … 40 keys need 0 … 6 index qubits, one record each.
  assert.deepEqual(records.map((r) => r.model.indexQubits).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(out.cost.extra['exhaustiveQueries'], 4, 'queries 0…3 see ≤ k keys');
  assert.equal(out.cost.scoreEvaluations, out.cost.extra['classicalQueries']! + (1 + 2 + 3 + 4), 'exhaustive queries score each visible key');
  assert.equal(records.reduce((s, r) => s + r.cost.oracleCalls, 0), out.cost.oracleQueries);
});

test('oracle calls per query grow like √n (16× the keys: ≈ 4× the calls)', async () => {
  const calls = async (n: number): Promise<number> => {
    const input = { ...gaussianInput({ m: 8, n, d: 8, dv: 2, seed: 35 }), seed: 4 };
    return (await grover(input, { k: 8 })).cost.oracleQueries! / 8;
  };
  const [small, large] = [await calls(1024), await calls(16384)];
  const ratio = large / small;
  assert.ok(ratio > 2.8 && ratio < 6, `calls per query ${small} → ${large}, ratio ${ratio} (√16 = 4)`);
});

test('−∞ keys are never selected even when fewer than k finite keys remain (exact output then)', async () => {
  const base = gaussianInput({ m: 4, n: 64, d: 8, dv: 4, seed: 36 });
  const mask = new Float32Array(64).map((_, j) => (j % 8 === 5 ? 0 : -Infinity)); // 8 finite keys, k = 12 < 64
  const input = { ...base, mask, seed: 5 };
  const out = await grover(input, { k: 12 });
  for (const sel of out.selected!) assert.deepEqual(sorted(sel), [5, 13, 21, 29, 37, 45, 53, 61]);
  assert.ok(out.cost.oracleQueries! > 0, 'k < n: a search ran');
  assert.equal(out.cost.extra['failedQueries'], 0, 'masked keys tie at −∞: never marked, so the search stops once every finite key is in');
  // Without the tie the run would go on ordering masked ranks: as many calls as a run over 64 finite keys.
  const unmasked = await grover({ ...base, seed: 5 }, { k: 12 });
  assert.ok(out.cost.oracleQueries! < unmasked.cost.oracleQueries!, `${out.cost.oracleQueries} vs ${unmasked.cost.oracleQueries}`);
  assert.ok(relL2(out.out, referenceAttention64(input)) < 1e-6);
});

test('noise and hardware are exclusive; full depolarization makes searches fail and says so', async () => {
  const { input } = plantedNeedleInput({ m: 8, n: 1000, d: 16, dv: 4, seed: 37 });
  assert.ok(groverTopk.notSupportedReasons(input, resolveOptions(groverTopk, { noise: 0.1, hardware: 'superconducting' })).length > 0);
  await assert.rejects(runAttention('grover-topk', input, { noise: 0.1, hardware: 'superconducting' }), QattnError);
  const noisy = await grover(input, { k: 8, noise: 1 });
  assert.ok(noisy.cost.extra['failedQueries']! > 0, 'uniform sampling cannot certify the needles');
  assert.equal(noisy.cost.extra['noisePerOracleCall'], 1);
  const hw = await grover(input, { k: 8, hardware: 'fault-tolerant' });
  const p = hw.cost.extra['noisePerOracleCall']!;
  assert.ok(p > 0 && p <= 1, `profile noise ${p}`);
  assert.ok(hw.quantum!.every((r) => r.noisePerOracleCall === p));
});

test('statevector and analytic backends select the same true top-k', async () => {
  const { input } = plantedNeedleInput({ m: 4, n: 100, d: 16, dv: 4, seed: 38 });
  const a = await grover(input, { k: 5 }), s = await grover(input, { k: 5, backend: 'statevector' });
  assert.equal(a.path, 'dhhm-analytic');
  assert.equal(s.path, 'dhhm-statevector');
  assert.equal(s.cost.extra['failedQueries'], 0);
  s.selected!.forEach((sel, i) => assert.deepEqual(sorted(sel), sorted(a.selected![i]!)));
});

test('tail estimate: nthUnselected skips the selection; uniform-estimate cuts the truncation error', async () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((r) => nthUnselected(Int32Array.from([0, 2, 3, 7]), r)), [1, 4, 5, 6, 8]);
  const input = gaussianInput({ m: 8, n: 2000, d: 16, dv: 8, seed: 39 });
  const ref = referenceAttention64(input);
  let none = 0, tail = 0;
  for (const seed of [1, 2, 3]) {
    none += relL2((await grover({ ...input, seed }, { k: 16 })).out, ref);
    const est = await grover({ ...input, seed }, { k: 16, tailMass: 'uniform-estimate', tailSamples: 256 });
    assert.equal(est.cost.scoreEvaluations, est.cost.extra['classicalQueries']! + 8 * 256);
    assert.equal(est.cost.samples, 8 * 256);
    tail += relL2(est.out, ref);
  }
  assert.ok(tail < 0.6 * none, `relL2 with tail estimate ${tail / 3} vs without ${none / 3}`);
});

test('prepare counts the QRAM writes of the keys (n·d), appending t keys adds t·d, and attend changes neither', async () => {
  const input = { ...gaussianInput({ m: 3, n: 120, d: 8, dv: 4, seed: 40 }), seed: 6 };
  const { prepared } = await prepareAttention('grover-topk', kvOf(input), { k: 4 });
  assert.deepEqual(prepared.cost, { scoreEvaluations: 0, extra: { qramWrites: 120 * 8 } });
  const grown = await groverTopk.append!(prepared, input.k.slice(0, 5 * 8), input.v.slice(0, 5 * 4));
  assert.equal(grown.kv.n, 125);
  assert.equal(grown.cost.extra['qramWrites'], 125 * 8);
  const out = (await attendPrepared(prepared, queryOf(input))).output;
  assert.equal(out.cost.extra['qramWrites'], undefined, 'a per-cache count, not a per-query one');
  assert.equal(prepared.cost.extra['qramWrites'], 120 * 8);
});

test('oracleBits: the oracle searches b-bit fixed-point keys, so coarse keys flip ranks (issue 13, finding 10)', async () => {
  const k = Float32Array.from([0.3, -0.7, 0.001, 5, 1e-9, 0]);
  const q = quantizeKeys(k, 2, 3, 4); // per key: scale 2^⌈log₂ max⌉ / 2^3
  assert.deepEqual([...q.subarray(0, 3)], [0.25, -0.75, 0], 'key 0: steps of 1/8');
  assert.deepEqual([...q.subarray(3)], [5, 0, 0], 'key 1: steps of 1 (max 5 → 8/8)');
  assert.deepEqual(quantizeKeys(k, 2, 3, 4).subarray(3), quantizeKeys(k.subarray(3), 1, 3, 4), 'per key: a key quantizes alone');
  const input = { ...gaussianInput({ m: 6, n: 400, d: 16, dv: 4, seed: 41 }), seed: 2 };
  const exactSel = (await runAttention('topk-exact', input, { k: 8 })).output.selected!;
  const differs = async (bits: number): Promise<number> => {
    const g = await grover(input, { k: 8, oracleBits: bits });
    return g.selected!.reduce((c, sel, i) => c + (sorted(sel).join() === sorted(exactSel[i]!).join() ? 0 : 1), 0);
  };
  assert.equal(await differs(0), 0, 'float32 keys: the true top-k');
  assert.ok(await differs(2) > 0, '2-bit keys: some query keeps a different set');
  assert.ok(await differs(16) <= 1, '16-bit keys: at most a near-tie flips');
});

test('the rank search is DHHM on the oracle\'s scores: same distribution of oracle calls and kept keys as the state vector on the float32 logits (seeded χ², noiseless and noisy)', async () => {
  const n = 64, k = 8, count = 500;
  const input = gaussianInput({ m: 1, n, d: 8, dv: 2, seed: 45 });
  // The scores the oracle compares: float32 logits of the 16-bit keys, from the same Gemm the mechanism runs.
  const kv = kvOf(input);
  const logits = await ortLogits(await prepareOrtKeys({ ...kv, k: quantizeKeys(kv.k, n, kv.d, DEFAULT_BITS) }), queryOf(input));
  assert.equal(new Set(logits).size, n, 'distinct scores: the tie rule does not enter');
  const best = new Set(Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!).slice(0, k));
  const hitsOf = (sel: ArrayLike<number>): number => Array.from(sel).filter((j) => best.has(j)).length;
  const sample = async (p: number): Promise<{ calls: number[]; hits: number[] }> => {
    const calls: number[] = [], hits: number[] = [];
    for (let seed = 1; seed <= count; seed++) {
      const out = await grover({ ...input, seed }, { k, noise: p });
      calls.push(out.cost.oracleQueries!);
      hits.push(hitsOf(out.selected![0]!));
    }
    return { calls, hits };
  };
  const truth = (p: number): { calls: number[]; hits: number[] } => {
    const calls: number[] = [], hits: number[] = [];
    for (let seed = 1; seed <= count; seed++) {
      const r = quantumTopK(logits, k, { backend: createBackend('statevector'), rng: createRng(900_000 + seed), ...(p > 0 ? { noise: depolarizing(p) } : {}) });
      calls.push(r.cost.oracleCalls);
      hits.push(hitsOf(r.indices));
    }
    return { calls, hits };
  };
  const quiet = await sample(0), noisy = await sample(0.6);
  const quietTruth = truth(0), noisyTruth = truth(0.6);
  for (const [what, a, b] of [['noiseless', quiet, quietTruth], ['p = 0.6', noisy, noisyTruth]] as const) {
    assert.ok(passes(twoSample(a.calls, b.calls)), `${what} oracle calls: ${show(twoSample(a.calls, b.calls))}`);
    assert.ok(passes(twoSample(a.hits, b.hits)), `${what} kept keys: ${show(twoSample(a.hits, b.hits))}`);
  }
  assert.ok(quiet.hits.every((h) => h >= k - 1), 'noiseless: the true top-k, up to a rare false certification');
  assert.ok(new Set(noisy.hits).size > 1, 'noise makes some runs miss');
  // The test can tell distributions apart: noisy runs against the noiseless truth fail it.
  assert.ok(!passes(twoSample(noisy.calls, quietTruth.calls)), 'p = 0.6 against p = 0 not detected');
});

test('rank lookup: the heap and the radix argsort give the logits\' order (descending, ties to the lower key, −∞ left out, NaN refused)', () => {
  const row = Float32Array.from([0.5, -Infinity, 2, 0.5, -0, 0, 2, -3, -Infinity, 1e-30, -1e-30]);
  const order = [2, 6, 0, 3, 9, 4, 5, 10, 7]; // 2 ties 6, 0.5 ties 0.5, −0 ties +0: the lower key first
  for (const c of [1, 3, 9, 20]) {
    assert.deepEqual(Array.from(ranks.heapPrefix(row, c).keys), order.slice(0, c), `heap, ${c}`);
    assert.deepEqual(Array.from(ranks.sortedPrefix(row, c).keys), order.slice(0, c), `radix, ${c}`);
  }
  assert.deepEqual(Array.from(ranks.sortedPrefix(row, 3).logits), [2, 2, 0.5]);
  const big = Float32Array.from({ length: 5000 }, (_, j) => Math.round(Math.sin(j) * 50) / 7);
  const truthOrder = Array.from(big.keys()).sort((a, b) => big[b]! - big[a]! || a - b);
  assert.deepEqual(Array.from(ranks.sortedPrefix(big, 5000).keys), truthOrder);
  assert.deepEqual(Array.from(ranks.heapPrefix(big, 700).keys), truthOrder.slice(0, 700));
  assert.throws(() => ranks.heapPrefix(Float32Array.from([1, NaN]), 1), /NaN/);
  assert.throws(() => ranks.sortedPrefix(Float32Array.from([1, NaN]), 1), /NaN/);
});

test('rank lookup: TopK over merged key blocks, the logits path and masks give the same prefixes', async () => {
  const base = gaussianInput({ m: 5, n: 3000, d: 8, dv: 2, seed: 46 });
  // Some exact ties (repeated keys) and a −∞-masked stretch.
  const k = base.k.slice();
  for (let j = 0; j < 3000; j += 7) k.set(k.subarray(0, 8), j * 8);
  const mask = new Float32Array(3000).map((_, j) => (j >= 2000 && j < 2900 ? -Infinity : 0));
  const input = { ...base, k, mask };
  const kv = kvOf(input);
  const rk = { keys: await prepareOrtKeys(kv), kMax: await maxRowNorm(kv.k, kv.n, kv.d) };
  const full = fullInput(kv, queryOf(input));
  const logits = await ortLogits(rk.keys, queryOf(input));
  const truthOf = (i: number, c: number): number[] => {
    const row = logits.subarray(i * 3000, (i + 1) * 3000);
    return Array.from(row.keys()).filter((j) => row[j]! > -Infinity).sort((a, b) => row[b]! - row[a]! || a - b).slice(0, c);
  };
  // Prefixes up to 1024 come from TopK (one block, or key blocks merged); longer ones from the logits.
  const need = Int32Array.from([40, 0, 5, 1000, 900]);
  const lookups = {
    'one block': await rankedKeys(rk, full, need),
    'key blocks merged': await rankedKeys(rk, full, need, 5 * 512),
    'logits path': await rankedKeys({ ...rk, keys: { ...rk.keys, top: null } }, full, need),
  };
  for (const [what, l] of Object.entries(lookups)) {
    need.forEach((c, i) => assert.deepEqual(c === 0 ? l.rows[i] : Array.from(l.rows[i]!.keys), c === 0 ? null : truthOf(i, c), `row ${i}: ${what}`));
  }
  const one = await rankedKeys(rk, full, Int32Array.from([0, 0, 0, 0, 2500]));
  assert.deepEqual(Array.from(one.rows[4]!.keys), truthOf(4, 2500));
  assert.equal(one.rows[4]!.keys.length, 2100, 'ranks past the finite logits are the masked keys: not returned');
});

test('a float32 logit that overflows is refused with a clear error, not ranked as masked', async () => {
  const base = gaussianInput({ m: 2, n: 50, d: 4, dv: 2, seed: 47 });
  const big = { ...base, q: base.q.map((x) => x * 1e20), k: base.k.map((x) => x * 1e20), seed: 1 };
  await assert.rejects(runAttention('grover-topk', big, { k: 3 }), (e) => e instanceof QattnError && /overflows to|NaN/.test(e.message));
});
