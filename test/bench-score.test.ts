import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { massOnSelected, topkOverlap } from '../attention/fidelity.ts';
import { referenceAttention64, referenceWeights } from '../attention/kernels/reference.ts';
import { computeReference, DEFAULT_REFERENCE_POLICY } from '../bench/reference.ts';
import { ReferencePool } from '../bench/reference-pool.ts';
import { kthLargest, scoreOutput, selectionScores } from '../bench/score.ts';
import { csvField, toCsv } from '../bench/csv.ts';
import { isQuantumCostRecord, modeledQpuSeconds } from '../bench/qpu.ts';
import { getWorkload, resolveWorkloadParams } from '../bench/workloads/index.ts';
import { emptyCost } from '../attention/types.ts';
import { oracleCostModel } from '../oracles/index.ts';

test('kthLargest agrees with sorting', () => {
  fc.assert(fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 200 }), fc.nat(), (xs, r) => {
    const k = 1 + (r % xs.length);
    const sorted = [...xs].sort((a, b) => b - a);
    return kthLargest(Float64Array.from(xs), k) === sorted[k - 1];
  }));
});

test('selection scores equal attention/fidelity.ts massOnSelected and topkOverlap (no ties)', () => {
  fc.assert(fc.property(
    fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 2, maxLength: 64 }).filter((w) => new Set(w).size === w.length),
    fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
    (raw, picks) => {
      const total = raw.reduce((s, x) => s + x, 0);
      const p = Float64Array.from(raw, (x) => x / total);
      const sel = Int32Array.from(picks, (x) => x % p.length);
      const s = selectionScores(p, sel, new Float64Array(p.length));
      return Math.abs(s.mass - massOnSelected(p, sel)) < 1e-12 && Math.abs(s.overlap - topkOverlap(p, sel)) < 1e-12;
    },
  ));
  // Tied weights: any choice among the tied keys is a full hit.
  const p = Float64Array.from([0.4, 0.2, 0.2, 0.2]);
  assert.equal(selectionScores(p, [0, 3], new Float64Array(4)).overlap, 1);
  assert.equal(selectionScores(p, [1, 2], new Float64Array(4)).overlap, 0.5);
});

test('the bench reference is bit-identical to the float64 kernel, on one thread and split over workers', async () => {
  const w = getWorkload('gaussian');
  const input = { ...w.generate({ mode: 'prefill', n: 96, m: 1, d: 8, causal: true, seed: 5 }, resolveWorkloadParams(w)), seed: 5 };
  const expected = referenceAttention64(input);
  const pool = new ReferencePool(1);
  try {
    for (const parallelMinMacs of [Infinity, 0]) {
      const ref = await computeReference(input, { ...DEFAULT_REFERENCE_POLICY, parallelMinMacs }, () => pool, () => Promise.reject(new Error('unused')));
      assert.equal(ref.kind, 'float64');
      assert.equal(ref.threads, parallelMinMacs === 0 ? 2 : 1);
      assert.deepEqual(ref.out, expected);
      assert.deepEqual(Array.from(ref.weights!(17)), Array.from(Float32Array.from(referenceWeights(input, 17))));
    }
    const fast = await computeReference(input, { ...DEFAULT_REFERENCE_POLICY, maxFloat64Macs: 0 }, () => pool, async () => new Float32Array(expected));
    assert.equal(fast.kind, 'exact-fast-path');
    assert.equal(fast.weights, null);
    const scored = scoreOutput(input, fast, { out: new Float32Array(expected), cost: emptyCost(), selected: [Int32Array.of(0)] });
    assert.equal(scored.reference, 'exact-fast-path');
    assert.equal(scored.massRecall, null, 'no selection metrics without float64 weights');
  } finally {
    await pool.close();
  }
});

test('CSV fields are RFC 4180 quoted and every record is one row', () => {
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField(null), '');
  assert.equal(csvField(0), '0');
  const base = {
    method: 'x', family: 'classical' as const, options: { k: 8, path: 'a,b' }, workload: 'gaussian', workloadOptions: {}, mode: 'decode' as const,
    causal: false, n: 16, m: 1, d: 2, dv: 2, seed: 0,
  };
  const csv = toCsv([
    { ...base, status: 'error', reason: 'bad\nthing', path: null, timing: null, cost: null, fidelity: null, modeledQpuSeconds: null },
  ]);
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(lines.length, 2);
  assert.ok(lines[0]!.startsWith('method,family,options,'));
  assert.ok(lines[1]!.includes('"{""k"":8,""path"":""a,b""}"'));
  assert.ok(lines[1]!.includes('"bad\nthing"'));
});

test('modeled QPU seconds: one number per hardware profile, summed over records; unknown shapes are errors', () => {
  assert.equal(modeledQpuSeconds(undefined), null);
  const model = oracleCostModel({ indexQubits: 10, payload: { kind: 'score', bits: 16 } });
  const one = { cost: { oracleCalls: 25, groverIterations: 25, measurements: 1 }, model };
  assert.ok(isQuantumCostRecord(one));
  const a = modeledQpuSeconds(one)!, b = modeledQpuSeconds([one, one])!;
  assert.ok(Object.keys(a).length >= 1);
  for (const [profile, s] of Object.entries(a)) {
    assert.ok(s > 0, profile);
    assert.ok(Math.abs(b[profile]! - 2 * s) <= 1e-12 * s);
  }
  assert.throws(() => modeledQpuSeconds({ oracleCalls: 3 }), /shape bench\/qpu.ts reads/);
});
