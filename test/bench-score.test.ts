import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { massOnSelected, topkOverlap } from '../attention/fidelity.ts';
import { referenceAttention64, referenceWeights } from '../attention/kernels/reference.ts';
import { computeReference, DEFAULT_REFERENCE_POLICY } from '../bench/reference.ts';
import { ReferencePool } from '../bench/reference-pool.ts';
import { kthLargest, scoreOutput, selectionScores, summaryScores } from '../bench/score.ts';
import { referenceRows, weightOf } from '../bench/reference-rows.ts';
import { csvField, toCsv } from '../bench/csv.ts';
import { modeledQpuSeconds } from '../bench/qpu.ts';
import { getWorkload, resolveWorkloadParams } from '../bench/workloads/index.ts';
import { emptyCost } from '../attention/types.ts';
import { oracleCostModel } from '../oracles/index.ts';
import { createRng, normalArray } from '../core/rng.ts';

test('kthLargest agrees with sorting', () => {
  fc.assert(fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 200 }), fc.nat(), (xs, r) => {
    const k = 1 + (r % xs.length);
    const sorted = [...xs].sort((a, b) => b - a);
    return kthLargest(Float64Array.from(xs), k) === sorted[k - 1];
  }));
});

test('topkOverlap (the one definition, attention/fidelity.ts) is the best overlap over every valid exact top-k, ties included (property)', () => {
  fc.assert(fc.property(
    // Few distinct weights, so ties at the threshold are common.
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
    fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
    (raw, picks) => {
      const p = Float64Array.from(raw, (x) => x / 4);
      const sel = Int32Array.from(picks, (x) => x % p.length);
      const S = new Set(sel), k = S.size, n = p.length;
      // Brute force: every k-subset T that is a top-k of p (nothing outside T weighs more than T's least).
      let best = 0;
      for (let mask = 0; mask < 1 << n; mask++) {
        const T = Array.from({ length: n }, (_, j) => j).filter((j) => mask & (1 << j));
        if (T.length !== k) continue;
        const least = Math.min(...T.map((j) => p[j]!));
        if (Array.from({ length: n }, (_, j) => j).some((j) => !(mask & (1 << j)) && p[j]! > least)) continue;
        best = Math.max(best, T.filter((j) => S.has(j)).length / k);
      }
      const s = selectionScores(p, sel, new Float64Array(n));
      return s.overlap === best && s.overlap === topkOverlap(p, sel) && Math.abs(s.mass - massOnSelected(p, sel)) < 1e-12;
    },
  ), { seed: 25, numRuns: 300 });
  const p = Float64Array.from([0.4, 0.2, 0.2, 0.2]);
  assert.equal(topkOverlap(p, [0, 3]), 1, 'any choice among the tied keys is a full hit');
  assert.equal(topkOverlap(p, [1, 2]), 0.5);
  assert.equal(topkOverlap(p, []), 0);
});

test('the bench reference rows are bit-identical to the float64 kernel with a mask, odd n and a dv not a multiple of 4', () => {
  const rng = createRng(21);
  const m = 5, n = 1003, d = 12, dv = 7;
  const mask = Float32Array.from({ length: m * n }, (_, x) => (x % 97 === 0 ? -Infinity : rng.normal()));
  const input = { q: normalArray(rng, m * d), k: normalArray(rng, n * d), v: normalArray(rng, n * dv), m, n, d, dv, mask, scale: 0.37, causal: true };
  const { out, rows } = referenceRows(input, 0, m, 64);
  assert.deepEqual(out, referenceAttention64(input));
  for (let i = 0; i < m; i++) {
    const p = referenceWeights(input, i);
    assert.deepEqual(Array.from(p, (_, j) => weightOf(input, rows[i]!, i, j)), Array.from(p), `row ${i}`);
  }
});

test('selection scores from a row summary equal those from the full row, also when |S| exceeds the kept top', () => {
  const w = getWorkload('needle');
  const input = { ...w.generate({ mode: 'decode', n: 512, m: 3, d: 16, causal: false, seed: 2 }, resolveWorkloadParams(w)), seed: 2 };
  const pick = createRng(9);
  for (const top of [512, 40]) {
    const { rows } = referenceRows(input, 0, input.m, top);
    assert.equal(rows[0]!.top.length, Math.min(top, input.n));
    for (let i = 0; i < input.m; i++) {
      const p = referenceWeights(input, i);
      // The exact top-8 (a full hit), a random set of 30 and one of 100 (beyond a top of 40), with repeats.
      const best = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]!).slice(0, 8);
      for (const sel of [best, Array.from({ length: 30 }, () => pick.int(input.n)), Array.from({ length: 100 }, () => pick.int(input.n))]) {
        const a = summaryScores(input, rows[i]!, i, sel), b = selectionScores(p, sel, new Float64Array(input.n));
        assert.ok(Math.abs(a.mass - b.mass) < 1e-12 && a.overlap === b.overlap, `top ${top}, query ${i}, |S| ${sel.length}`);
      }
      assert.equal(summaryScores(input, rows[i]!, i, best).overlap, 1);
    }
  }
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
      // Every weight recomputed from the summary is the reference's own, bit for bit, and `top` is the sorted top.
      const p = referenceWeights(input, 17), row = ref.rows![17]!;
      assert.deepEqual(Array.from(p, (_, j) => weightOf(input, row, 17, j)), Array.from(p));
      assert.deepEqual(Array.from(row.top), Array.from(p).sort((a, b) => b - a));
    }
    const fast = await computeReference(input, { ...DEFAULT_REFERENCE_POLICY, maxFloat64Macs: 0 }, () => pool, async () => new Float32Array(expected));
    assert.equal(fast.kind, 'exact-fast-path');
    assert.equal(fast.rows, null);
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
    method: 'x', variant: 'x', budget: null, family: 'classical' as const, options: { k: 8, path: 'a,b' }, workload: 'gaussian', workloadOptions: {}, mode: 'decode' as const,
    causal: false, n: 16, m: 1, d: 2, dv: 2, seed: 0,
  };
  const csv = toCsv([
    { ...base, status: 'error', reason: 'bad\nthing', path: null, timing: null, cost: null, prepare: null, fidelity: null, modeledQpuSeconds: null, rss: null },
  ]);
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(lines.length, 2);
  assert.ok(lines[0]!.startsWith('method,variant,budget,family,options,'));
  assert.ok(lines[1]!.includes('"{""k"":8,""path"":""a,b""}"'));
  assert.ok(lines[1]!.includes('"bad\nthing"'));
});

test('modeled QPU seconds: one number per hardware profile, summed over the typed records', () => {
  assert.equal(modeledQpuSeconds(undefined), null);
  const model = oracleCostModel({ indexQubits: 10, payload: { kind: 'score', bits: 16 } });
  const one = { cost: { oracleCalls: 25, groverIterations: 25, measurements: 1 }, model, selections: 1, queries: 1, noisePerOracleCall: 0 };
  const a = modeledQpuSeconds([one])!, b = modeledQpuSeconds([one, one])!;
  assert.ok(Object.keys(a).length >= 1);
  for (const [profile, s] of Object.entries(a)) {
    assert.ok(s > 0, profile);
    assert.ok(Math.abs(b[profile]! - 2 * s) <= 1e-12 * s);
  }
  // An exhaustive run (k ≥ n: no search) has records with zero calls: zero seconds, never null ("free" vs "not run").
  const none = modeledQpuSeconds([])!;
  for (const s of Object.values(none)) assert.equal(s, 0);
});
