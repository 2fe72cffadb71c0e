/**
 * Mechanism-specific tests of the classical peers (topk-exact, lsh, performer, ann-topk) and the shared
 * selection heap. Registry-wide properties (shape, determinism, exhaustive = reference, edge cases) live in
 * conformance.test.ts; here each algorithm is checked against its own definition.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import { relL2 } from '../attention/fidelity.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { annTopk } from '../attention/mechanisms/ann-topk.ts';
import { logCollisionProbability, lsh } from '../attention/mechanisms/lsh.ts';
import { checkpointPositions, orthogonalFeatures, performer } from '../attention/mechanisms/performer.ts';
import { ortUnavailableReason } from '../attention/kernels/ort/sessions.ts';
import { attendTopk, topkExact } from '../attention/mechanisms/topk-exact.ts';
import { resolveOptions } from '../attention/options.ts';
import { attendPrepared, prepareAttention, runAttention } from '../attention/run.ts';
import { kvOf, queryOf } from '../attention/define.ts';
import { topKByScore } from '../attention/select.ts';
import type { AttentionInput, AttentionOutput, Mechanism, OptionValue } from '../attention/types.ts';
import { effectiveScale, maskAt, visibleKeys } from '../attention/validate.ts';
import { copyInput, gaussianInput } from './helpers/workloads.ts';

const attend = (mech: Mechanism, input: AttentionInput, o: Record<string, OptionValue> = {}): Promise<AttentionOutput> =>
  mech.attend(input, resolveOptions(mech, o));

/** V = I (dv = n): output row i is then exactly the attention weight vector of query i. */
function withIdentityV(input: AttentionInput): AttentionInput {
  const v = new Float32Array(input.n * input.n);
  for (let j = 0; j < input.n; j++) v[j * input.n + j] = 1;
  return { ...input, v, dv: input.n };
}

function scaledDot(input: AttentionInput, i: number, j: number): number {
  let s = 0;
  for (let c = 0; c < input.d; c++) s += input.q[i * input.d + c]! * input.k[j * input.d + c]!;
  return s;
}

function overlap(a: Int32Array, b: Int32Array): number {
  const sb = new Set(b);
  return a.filter((j) => sb.has(j)).length / Math.max(1, b.length);
}

describe('select: TopKHeap / topKByScore', () => {
  it('property: equals sorting by (score desc, index asc) over finite scores; −∞ never kept', () => {
    const score = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(-Infinity), fc.double({ min: -5, max: 5, noNaN: true }));
    fc.assert(fc.property(fc.array(score, { maxLength: 60 }), fc.integer({ min: 0, max: 70 }), (xs, k) => {
      const expected = xs.map((s, j) => ({ s, j })).filter((e) => e.s > -Infinity)
        .sort((a, b) => b.s - a.s || a.j - b.j).slice(0, k).map((e) => e.j);
      assert.deepEqual(Array.from(topKByScore(xs, k)), expected);
    }), { numRuns: 200, seed: 1 });
  });
});

describe('topk-exact', () => {
  it('property: k = n (and any k > n, clamped) equals the float64 reference, causal or not', async () => {
    const arb = fc.record({ m: fc.integer({ min: 1, max: 6 }), extra: fc.integer({ min: 0, max: 20 }), d: fc.integer({ min: 1, max: 8 }),
      seed: fc.nat(), causal: fc.boolean(), over: fc.integer({ min: 0, max: 5 }) });
    await fc.assert(fc.asyncProperty(arb, async (s) => {
      const input = gaussianInput({ m: s.m, n: s.m + s.extra, d: s.d, dv: 3, seed: s.seed, causal: s.causal, qkScale: 2 });
      const res = await attend(topkExact, input, { k: input.n + s.over });
      assert.ok(relL2(res.out, referenceAttention64(input)) <= 1e-6);
    }), { numRuns: 40, seed: 2 });
  });

  it('selects exactly the k largest logits, and counts only the dots inside the causal window', async () => {
    const input = gaussianInput({ m: 10, n: 64, d: 8, dv: 4, seed: 3, causal: true });
    const res = await attend(topkExact, input, { k: 16 });
    let dots = 0;
    for (let i = 0; i < input.m; i++) {
      const vis = visibleKeys(input, i);
      dots += vis;
      const logits = Array.from({ length: input.n }, (_, j) => (j < vis ? scaledDot(input, i, j) : -Infinity));
      assert.deepEqual(new Set(res.selected![i]), new Set(topKByScore(logits, 16)));
    }
    assert.equal(res.cost.scoreEvaluations, dots);
  });

  it('a query with fewer than k unmasked keys attends to exactly those keys', async () => {
    const n = 20;
    const mask = new Float32Array(n).map((_, j) => (j % 4 === 0 ? 0 : -Infinity));
    const input = gaussianInput({ m: 3, n, d: 4, dv: 2, seed: 4, mask });
    const res = await attend(topkExact, input, { k: 10 });
    for (const sel of res.selected!) assert.deepEqual([...sel].sort((a, b) => a - b), [0, 4, 8, 12, 16]);
    assert.ok(relL2(res.out, referenceAttention64(input)) <= 1e-6);
  });

  /** The float64 top-k of every row (scaled logits + mask, −∞ outside the causal window), best first. */
  const float64TopK = (input: AttentionInput, k: number): Int32Array[] => Array.from({ length: input.m }, (_, i) => {
    const vis = visibleKeys(input, i), scale = effectiveScale(input);
    return topKByScore(Array.from({ length: input.n }, (_, j) => (j < vis ? scaledDot(input, i, j) * scale + maskAt(input, i, j) : -Infinity)), k);
  });

  it('selects the float64 top-k across causal query blocks, a per-query mask and onnxruntime key blocks', { skip: ortUnavailableReason() ?? false }, async () => {
    const m = 150, n = 200; // > one causal query block of 64: ragged causal edges are scored in float64
    const rng = createRng(41);
    const mask = Float32Array.from({ length: m * n }, () => (rng.next() < 0.2 ? -Infinity : rng.next() < 0.2 ? -2 : 0));
    const input = gaussianInput({ m, n, d: 8, dv: 3, seed: 40, causal: true, mask });
    const { prepared } = await prepareAttention('topk-exact', kvOf(input), { k: 12 });
    const res = (await attendPrepared(prepared, queryOf(input))).output;
    assert.equal(res.path, 'ort-topk+float64');
    assert.deepEqual(res.selected, float64TopK(input, 12));
    assert.equal(res.cost.extra.float64Rows, 0, 'no row needed every key in float64');
    // Key blocks of 7 keys (many TopK runs merged per row) select and output exactly the same.
    const blocked = await attendTopk(prepared as Parameters<typeof attendTopk>[0], queryOf(input), 7 * 64);
    assert.deepEqual(blocked.selected, res.selected);
    assert.deepEqual(blocked.out, res.out);
  });

  it('float32 near-ties are settled in float64: within TopK\'s reach directly, beyond it by scoring the row', { skip: ortUnavailableReason() ?? false }, async () => {
    // q = (1, 1): keys (1, j·1e-9) have logits 1 + j·1e-9 (times scale), equal in float32 and ordered by j in float64.
    const build = (tied: number, n: number): AttentionInput => {
      const d = 2, rng = createRng(tied);
      const k = normalArray(rng, n * d, 0.1);
      for (let t = 0; t < tied; t++) k.set([1, (t + 1) * 1e-9], (3 * t + 1) * d); // spread out, so ties cross TopK's key order
      return { q: new Float32Array([1, 1]), k, v: normalArray(rng, n), m: 1, n, d, dv: 1 };
    };
    for (const [tied, rows] of [[20, 0], [120, 1]] as const) {
      const input = build(tied, 400);
      const res = await attend(topkExact, input, { k: 16 });
      assert.deepEqual(res.selected, float64TopK(input, 16), `${tied} tied keys`);
      assert.equal(res.cost.extra.float64Rows, rows, `${tied} tied keys: rows scored entirely in float64`);
    }
  });

  it('near-ties that float32 misorders are caught by the rounding slack (selection is still the float64 top-k)', { skip: ortUnavailableReason() ?? false }, async () => {
    // 24 keys q·(1 + η) + 30·r (r ⟂ q, η < 4e-7): float32's cancellation error (~1e-6) exceeds their logit gaps,
    // so on every seed float32 puts some float64 top-16 key strictly below its own 16th value (checked, so the
    // test is not vacuous); 376 small noise keys sit far lower, within TopK's candidates' reach.
    const { ortLogits, prepareOrtKeys } = await import('../attention/kernels/ort/scores.ts');
    let flipped = 0;
    for (let seed = 0; seed < 8; seed++) {
      const rng = createRng(500 + seed);
      const n = 400, d = 16, k = 16;
      const q = normalArray(rng, d);
      const keys = normalArray(rng, n * d, 0.05);
      const qq = q.reduce((acc, x) => acc + x * x, 0);
      for (let t = 0; t < 24; t++) {
        const j = 7 + 16 * t, eta = 1 + 4e-7 * rng.next();
        const r = Float64Array.from(normalArray(rng, d));
        const along = r.reduce((acc, x, c) => acc + x * q[c]!, 0) / qq;
        for (let c = 0; c < d; c++) keys[j * d + c] = q[c]! * eta + 30 * (r[c]! - along * q[c]!);
      }
      const input: AttentionInput = { q, k: keys, v: normalArray(rng, n), m: 1, n, d, dv: 1 };
      const res = await attend(topkExact, input, { k });
      const want = float64TopK(input, k)[0]!;
      assert.deepEqual(res.selected![0], want, `seed ${seed}`);
      assert.equal(res.cost.extra.float64Rows, 0, `seed ${seed}: settled from TopK's candidates`);
      const f32 = await ortLogits(await prepareOrtKeys(kvOf(input)), queryOf(input));
      const t32 = Array.from(f32).sort((x, y) => y - x)[k - 1]!;
      if (Array.from(want).some((j) => f32[j]! < t32)) flipped++;
    }
    assert.equal(flipped, 8, 'float32 misorders a float64 top-k key on every seed');
  });

  it('scores rows whose float32 products could overflow in float64 (finite entries near 1e19)', async () => {
    const input = gaussianInput({ m: 3, n: 60, d: 4, dv: 2, seed: 42 });
    const k = input.k.map((x) => x * 1e19), q = input.q.map((x) => x * 1e19);
    const huge = { ...input, q, k };
    const res = await attend(topkExact, huge, { k: 5 });
    assert.deepEqual(res.selected, float64TopK(huge, 5));
    assert.ok(res.out.every(Number.isFinite));
    if (res.path === 'ort-topk+float64') assert.equal(res.cost.extra.float64Rows, 3);
  });
});

describe('lsh (SimHash)', () => {
  it('candidate frequencies over seeds match P = 1 − (1 − (1 − φ/π)^bits)^L for every key', async () => {
    const base = gaussianInput({ m: 1, n: 24, d: 4, dv: 1, seed: 5 });
    const seeds = 400, bits = 3, tables = 2;
    const hits = new Float64Array(base.n);
    for (let seed = 0; seed < seeds; seed++) {
      const res = await attend(lsh, { ...base, seed }, { bits, tables, mode: 'sample' });
      for (const j of res.selected![0]!) hits[j]!++;
    }
    for (let j = 0; j < base.n; j++) {
      const qn = Math.hypot(...base.q), kn = Math.hypot(...base.k.subarray(j * 4, j * 4 + 4));
      const p = Math.exp(logCollisionProbability(scaledDot(base, 0, j) / (qn * kn), bits, tables));
      const sd = Math.sqrt((p * (1 - p)) / seeds);
      assert.ok(Math.abs(hits[j]! / seeds - p) <= 4.5 * sd + 1 / seeds, `key ${j}: frequency ${hits[j]! / seeds} vs P ${p}`);
    }
  });

  it('sample mode weights are exp(s)/P(collision), self-normalised over the candidates (MagicPIG)', async () => {
    const input = withIdentityV({ ...gaussianInput({ m: 4, n: 40, d: 6, dv: 1, seed: 6, qkScale: 1.5 }), seed: 3 });
    const bits = 2, tables = 3;
    const res = await attend(lsh, input, { bits, tables, mode: 'sample' });
    const scale = effectiveScale(input);
    res.selected!.forEach((sel, i) => {
      const qn = Math.hypot(...input.q.subarray(i * 6, i * 6 + 6));
      const raw = new Float64Array(input.n);
      for (const j of sel) {
        const s = scaledDot(input, i, j), kn = Math.hypot(...input.k.subarray(j * 6, j * 6 + 6));
        raw[j] = Math.exp(s * scale - logCollisionProbability(s / (qn * kn), bits, tables));
      }
      const z = raw.reduce((a, b) => a + b, 0);
      for (let j = 0; j < input.n; j++) assert.ok(Math.abs(res.out[i * input.n + j]! - raw[j]! / z) < 1e-6, `query ${i} key ${j}`);
    });
  });

  it('topk mode keeps the k best candidates: a subset of the sample-mode candidates', async () => {
    const input = { ...gaussianInput({ m: 6, n: 120, d: 8, dv: 2, seed: 7 }), seed: 9 };
    const cands = (await attend(lsh, input, { bits: 3, mode: 'sample' })).selected!;
    const all = (await attend(lsh, input, { bits: 3, k: input.n })).selected!;
    const top = (await attend(lsh, input, { bits: 3, k: 5 })).selected!;
    cands.forEach((c, i) => {
      assert.deepEqual([...all[i]!].sort((a, b) => a - b), [...c]);
      const logits = Array.from(c, (j) => scaledDot(input, i, j));
      assert.deepEqual([...top[i]!], [...topKByScore(logits, 5, c)]);
    });
  });

  it('more tables only add candidates (tables are drawn in order); keys are hashed in prepare (n·L·bits), queries per call (m·L·bits)', async () => {
    const input = { ...gaussianInput({ m: 5, n: 80, d: 8, dv: 2, seed: 8 }), seed: 4 };
    const few = await attend(lsh, input, { tables: 3, bits: 6, mode: 'sample' });
    const many = await runAttention('lsh', input, { tables: 9, bits: 6, mode: 'sample' });
    few.selected!.forEach((s, i) => assert.ok([...s].every((j) => many.output.selected![i]!.includes(j))));
    assert.equal(many.prepared.cost.extra.hashEvaluations, 80 * 9 * 6);
    assert.equal(many.output.cost.extra.hashEvaluations, 5 * 9 * 6);
    assert.equal(many.output.cost.samples, many.output.cost.scoreEvaluations);
  });

  it('keys hashed through onnxruntime get the float64 definition\'s codes, also for projections within float32 rounding of 0', { skip: ortUnavailableReason() ?? false }, async () => {
    // Keys k = g − (g·p/‖p‖²)·p + ε·p lie within ~1e-7·‖p‖² of plane p's hyperplane, where float32 and float64
    // may disagree on the sign. prepare (n ≥ 64: one ORT Gemm) must re-check those in float64, so its buckets
    // equal those of appending the keys one at a time (< 64 rows: hashed in float64 JS).
    const d = 8, tables = 4, bits = 2, n = 160, seed = 6;
    const planes = normalArray(createRng(seed), tables * bits * d); // lsh draws its hyperplanes this way
    const base = gaussianInput({ m: 64, n, d, dv: 1, seed: 16 });
    const k = base.k.slice();
    for (let j = 0; j < n; j++) {
      const p = planes.subarray((j % (tables * bits)) * d, (j % (tables * bits) + 1) * d);
      const g = k.subarray(j * d, (j + 1) * d);
      const pg = g.reduce((a, x, c) => a + x * p[c]!, 0), pp = p.reduce((a, x) => a + x * x, 0);
      const eps = ((j % 3) - 1) * 1e-7;
      for (let c = 0; c < d; c++) g[c] = g[c]! - (pg / pp) * p[c]! + eps * p[c]!;
    }
    const input = { ...base, k, seed };
    const opts = { tables, bits, mode: 'sample' };
    const whole = await prepareAttention('lsh', kvOf(input), opts);
    assert.ok(whole.prepared.cost.extra.hashRechecks! > 0, 'some projections fell inside the float32 bound');
    let grown = (await prepareAttention('lsh', { ...kvOf(input), k: k.slice(0, d), v: input.v.slice(0, 1), n: 1 }, opts)).prepared;
    for (let j = 1; j < n; j++) grown = await lsh.append!(grown, k.slice(j * d, (j + 1) * d), input.v.slice(j, j + 1));
    const a = (await attendPrepared(whole.prepared, queryOf(input))).output;
    const b = (await attendPrepared(grown, queryOf(input))).output;
    assert.deepEqual(b.selected, a.selected);
    assert.deepEqual(b.out, a.out);
  });

  it('append (levels merged as a binary counter) equals preparing the concatenation: causal, masked, both modes', async () => {
    const n = 300, d = 8;
    const mask = new Float32Array(n).map((_, j) => (j % 11 === 4 ? -Infinity : 0));
    for (const extra of [{ causal: true, m: 40 }, { mask, m: 6 }]) {
      for (const mode of ['topk', 'sample']) {
        const input = { ...gaussianInput({ n, d, dv: 3, seed: 17, ...extra }), seed: 2 };
        const opts = { bits: 3, tables: 5, k: 12, mode };
        let { prepared } = await prepareAttention('lsh', { ...kvOf(input), k: input.k.slice(0, 100 * d), v: input.v.slice(0, 300), n: 100 }, opts);
        let at = 100;
        for (const t of [1, 1, 3, 64, 1, 1, 1, 2, 90, 36]) {
          prepared = await lsh.append!(prepared, input.k.slice(at * d, (at + t) * d), input.v.slice(at * 3, (at + t) * 3));
          at += t;
        }
        assert.equal(at, n);
        const grown = (await attendPrepared(prepared, queryOf(input))).output;
        const whole = (await runAttention('lsh', input, opts)).output;
        assert.deepEqual(grown.selected, whole.selected, `${mode} ${JSON.stringify(Object.keys(extra))}`);
        assert.deepEqual(grown.out, whole.out);
        assert.deepEqual(grown.cost, whole.cost);
      }
    }
  });

  it('bits = 0 makes every key a candidate: sample mode equals the reference', async () => {
    const input = gaussianInput({ m: 8, n: 50, d: 8, dv: 3, seed: 9, causal: true });
    const res = await attend(lsh, input, { bits: 0, mode: 'sample' });
    assert.ok(relL2(res.out, referenceAttention64(input)) <= 1e-6);
  });
});

/** FAVOR+ written directly from the paper (no stabiliser, no prefix sums): φ(x) = exp(w·x − ‖x‖²/2)/√r. */
function naiveFavor(input: AttentionInput, r: number): Float64Array {
  const { m, n, d, dv } = input;
  const w = orthogonalFeatures(createRng(input.seed ?? 0), r, d);
  const ss = Math.sqrt(effectiveScale(input));
  const phi = (x: Float32Array, row: number): Float64Array => {
    const v = Array.from(x.subarray(row * d, (row + 1) * d), (t) => t * ss);
    const sq = v.reduce((a, t) => a + t * t, 0);
    return Float64Array.from({ length: r }, (_, f) => Math.exp(v.reduce((a, t, c) => a + w[f * d + c]! * t, 0) - sq / 2) / Math.sqrt(r));
  };
  const out = new Float64Array(m * dv);
  for (let i = 0; i < m; i++) {
    const pq = phi(input.q, i);
    let den = 0;
    for (let j = 0; j < visibleKeys(input, i); j++) {
      const pk = phi(input.k, j);
      const kij = pq.reduce((a, t, f) => a + t * pk[f]!, 0) * Math.exp(maskAt(input, i, j));
      den += kij;
      for (let c = 0; c < dv; c++) out[i * dv + c]! += kij * input.v[j * dv + c]!;
    }
    for (let c = 0; c < dv; c++) out[i * dv + c]! /= den;
  }
  return out;
}

describe('performer (FAVOR+)', () => {
  it('equals the textbook FAVOR+ formula (stabiliser and prefix sums are exact rearrangements)', async () => {
    const mask = new Float32Array(30).map((_, j) => (j === 4 ? -Infinity : (j % 3) * 0.5));
    for (const path of ['js', 'auto']) {
      for (const extra of [{}, { causal: true }, { mask }]) {
        const input = { ...gaussianInput({ m: 10, n: 30, d: 6, dv: 3, seed: 10, qkScale: 0.7, ...extra }), seed: 5 };
        const res = await attend(performer, input, { features: 40, path });
        assert.ok(relL2(res.out, naiveFavor(input, 40)) < 1e-6, `${path} ${JSON.stringify(extra)}`);
      }
    }
  });

  it('the ORT path agrees with the float64 JS path to float32 rounding', { skip: ortUnavailableReason() ?? false }, async () => {
    const n = 300;
    const mask = new Float32Array(n).map((_, j) => (j % 7 === 2 ? -Infinity : (j % 5) * 0.3 - 0.6));
    // Causal m < n: keys 0…n−m go through ORT's one-pass sums, the rest through the JS sweep.
    const cases = [{ m: 16 }, { m: 16, causal: true }, { m: n, causal: true }, { m: 16, mask }, { m: 16, causal: true, mask }];
    for (const [c, extra] of cases.entries()) {
      const input = { ...gaussianInput({ n, d: 16, dv: 8, seed: 20 + c, qkScale: 0.8, ...extra }), seed: 30 + c };
      const viaOrt = await attend(performer, input, { path: 'ort' });
      const viaJs = await attend(performer, input, { path: 'js' });
      assert.equal(viaOrt.path, 'ort');
      assert.equal(viaJs.path, 'js');
      assert.ok(relL2(viaOrt.out, viaJs.out) < 1e-5, `case ${c}: relL2 ${relL2(viaOrt.out, viaJs.out)}`);
      assert.deepEqual(viaOrt.cost, viaJs.cost);
    }
  });

  it('ORT path: keys masked before every query sees one, and norms too large for float32', { skip: ortUnavailableReason() ?? false }, async () => {
    // Causal m = 4, n = 10: query 0 sees keys 0…6, all masked, so ORT's sums are skipped and its row is 0.
    const mask = new Float32Array(10).map((_, j) => (j < 7 ? -Infinity : 0));
    const input = { ...gaussianInput({ m: 4, n: 10, d: 4, dv: 3, seed: 40, causal: true, mask }), seed: 2 };
    const viaOrt = await attend(performer, input, { path: 'ort' });
    assert.deepEqual(Array.from(viaOrt.out.subarray(0, 3)), [0, 0, 0]);
    assert.ok(relL2(viaOrt.out, (await attend(performer, input, { path: 'js' })).out) < 1e-5);
    // ‖q′‖² ≈ 1e34 would overflow float32 features: path=ort is refused, auto runs the float64 loops.
    const huge = gaussianInput({ m: 2, n: 5, d: 4, dv: 2, seed: 41, qkScale: 1e17 });
    assert.equal(performer.notSupportedReasons(huge, resolveOptions(performer, { path: 'ort' })).length, 1);
    assert.equal((await attend(performer, huge)).path, 'js');
  });

  it('draws orthogonal blocks with χ_d row norms', () => {
    const d = 8, r = 4096;
    const w = orthogonalFeatures(createRng(11), r, d);
    const row = (f: number): Float64Array => w.subarray(f * d, (f + 1) * d);
    const norm = (f: number): number => Math.hypot(...row(f));
    let sumSq = 0;
    for (let f = 0; f < r; f++) {
      sumSq += norm(f) ** 2;
      const g = f - (f % d) + ((f + 1) % d); // the next row of the same block (cyclically)
      const dotFG = row(f).reduce((a, t, c) => a + t * row(g)[c]!, 0);
      assert.ok(Math.abs(dotFG) < 1e-9 * norm(f) * norm(g), `rows ${f}, ${g} not orthogonal`);
    }
    assert.ok(Math.abs(sumSq / r - d) < 0.05 * d, `mean squared norm ${sumSq / r}, expected E[χ²_d] = ${d}`);
  });

  it('meets its declared accuracy at r = 256 and the error falls as features grow', async () => {
    const input = gaussianInput({ m: 16, n: 128, d: 16, dv: 8, seed: 3, qkScale: 0.5 });
    const ref = referenceAttention64(input);
    const err = async (features: number): Promise<number> => relL2((await attend(performer, input, { features })).out, ref);
    const [e64, e256, e16k] = [await err(64), await err(256), await err(16384)];
    assert.ok(e256 < 0.2, `relL2 at r=256: ${e256}`);
    assert.ok(e16k < e64 / 4, `r=16384: ${e16k} vs r=64: ${e64}`);
  });

  it('n = 1 returns V exactly; an m×n mask is refused with a reason', async () => {
    const one = gaussianInput({ m: 3, n: 1, d: 4, dv: 3, seed: 12, qkScale: 30 });
    const res = await attend(performer, one);
    for (let i = 0; i < 3; i++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(res.out[i * 3 + c]! - one.v[c]!) < 1e-6);
    const masked = gaussianInput({ m: 3, n: 5, d: 4, dv: 2, seed: 13, mask: new Float32Array(15) });
    assert.equal(performer.notSupportedReasons(masked, resolveOptions(performer, {})).length, 1);
    await assert.rejects(runAttention('performer', masked), QattnError);
  });

  it('checkpoints c_j = 2^j·(⌊n/2^j⌋ − 1): a causal block of m starts fewer than 4m keys before its first window', () => {
    for (const n of [1, 2, 3, 7, 8, 100, 1000, 4097]) {
      const cs = checkpointPositions(n);
      assert.ok(cs.every((c, t) => c > 0 && c < n && (t === 0 || c > cs[t - 1]!)), `n = ${n}: ${cs}`);
      for (let m = 2; m <= n; m++) {
        const first = n - m + 1;
        const start = Math.max(0, ...cs.filter((c) => c <= first));
        assert.ok(first - start < 4 * m, `n = ${n}, m = ${m}: checkpoint ${start} for window ${first}`);
      }
    }
  });

  it('a prepared query maps only its own rows (and < 4m keys under causal), never all n keys', async () => {
    const n = 5000, r = 32;
    for (const causal of [false, true]) {
      const input = { ...gaussianInput({ m: 8, n, d: 8, dv: 4, seed: 21, causal, qkScale: 0.7 }), seed: 4 };
      const res = await runAttention('performer', input, { features: r, path: 'js' });
      assert.equal(res.prepared.cost.extra.featureEvaluations, n * r, 'every key mapped once in prepare');
      const perCall = res.output.cost.extra.featureEvaluations!;
      if (!causal) assert.equal(perCall, 8 * r);
      else assert.ok(perCall > 8 * r && perCall < (8 + 4 * 8 + 8) * r, `causal: ${perCall / r} rows mapped`);
      assert.ok(relL2(res.output.out, naiveFavor(input, r)) < 1e-6);
    }
  });

  it('append equals preparing the concatenation: bit-identical on the js path, float32 rounding on ort', async () => {
    const n = 90;
    const mask = new Float32Array(n).map((_, j) => (j % 9 === 5 ? -Infinity : (j % 4) * 0.25));
    const paths = ortUnavailableReason() ? ['js'] : ['js', 'ort'];
    for (const path of paths) {
      for (const extra of [{ m: 1 }, { m: 5 }, { m: 5, causal: true }, { m: 37, causal: true }, { m: n, causal: true }, { m: 6, causal: true, mask }]) {
        const input = { ...gaussianInput({ n, d: 6, dv: 3, seed: 22, qkScale: 0.8, ...extra }), seed: 6 };
        const opts = { features: 24, path };
        let { prepared } = await prepareAttention('performer', { ...kvOf(input), k: input.k.slice(0, 20 * 6), v: input.v.slice(0, 60), n: 20 }, opts);
        let at = 20;
        for (const t of [1, 1, 1, 13, 2, 31, 1, 20]) {
          prepared = await performer.append!(prepared, input.k.slice(at * 6, (at + t) * 6), input.v.slice(at * 3, (at + t) * 3));
          at += t;
        }
        assert.equal(at, n);
        const grown = (await attendPrepared(prepared, queryOf(input))).output;
        const whole = (await runAttention('performer', input, opts)).output;
        const err = relL2(grown.out, whole.out), label = `${path} ${JSON.stringify({ ...extra, mask: undefined })}`;
        if (path === 'js') assert.deepEqual(grown.out, whole.out, label);
        else assert.ok(err < 1e-6, `${label}: relL2 ${err}`);
        assert.deepEqual(grown.cost, whole.cost, label);
        assert.ok(relL2(whole.out, naiveFavor(input, 24)) < 1e-5, label);
      }
    }
  });
});

describe('ann-topk (usearch HNSW)', () => {
  it('builds the index in prepare (n insertions), queries only search it; k ≥ n builds none', async () => {
    const input = gaussianInput({ m: 4, n: 100, d: 8, dv: 2, seed: 14 });
    const { prepared } = await prepareAttention('ann-topk', kvOf(input), { k: 8 });
    assert.equal(prepared.cost.extra.indexInsertions, 100);
    const a = (await attendPrepared(prepared, queryOf(input))).output;
    const b = (await attendPrepared(prepared, queryOf(input))).output;
    assert.deepEqual(b, a, 'a second attend: same output, same cost (no cache warms up between calls)');
    assert.equal(a.cost.extra.indexSearches, 4);
    assert.equal(a.path, 'usearch-hnsw');
    const none = await prepareAttention('ann-topk', kvOf(input), { k: 100 });
    assert.equal(none.prepared.cost.extra.indexInsertions, 0);
    assert.equal((await attendPrepared(none.prepared, queryOf(input))).output.path, 'all-visible');
  });

  it('append inserts into the same index: byte-identical to building on the concatenation; the old cache is spent', async () => {
    // 300 keys from 100 in appends of 1…90 keys, crossing usearch's capacity steps (where a batched add would
    // re-seed its level generator and build a different graph).
    const input = { ...gaussianInput({ m: 6, n: 300, d: 8, dv: 2, seed: 18 }), seed: 1 };
    const { d } = input;
    const opts = { k: 5 };
    const first = (await prepareAttention('ann-topk', { ...kvOf(input), k: input.k.slice(0, 100 * d), v: input.v.slice(0, 200), n: 100 }, opts)).prepared;
    let grown = first, at = 100;
    for (const t of [1, 27, 1, 100, 1, 70]) {
      grown = await annTopk.append!(grown, input.k.slice(at * d, (at + t) * d), input.v.slice(at * 2, (at + t) * 2));
      at += t;
    }
    assert.equal(grown.cost.extra.indexInsertions, 300);
    const whole = (await prepareAttention('ann-topk', kvOf(input), opts)).prepared;
    const saved = (p: typeof whole, name: string): string => {
      const path = join(mkdtempSync(join(tmpdir(), 'qattn-ann-')), name);
      (p.state as { graph: { index: { save(path: string): void } } }).graph.index.save(path);
      return createHash('sha256').update(readFileSync(path)).digest('hex');
    };
    assert.equal(saved(grown, 'grown.usearch'), saved(whole, 'whole.usearch'));
    const a = (await attendPrepared(grown, queryOf(input))).output, b = (await attendPrepared(whole, queryOf(input))).output;
    assert.deepEqual(a.selected, b.selected);
    assert.deepEqual(a.out, b.out);
    await assert.rejects(attendPrepared(first, queryOf({ ...input, k: input.k.slice(0, 100 * d), n: 100 })), /grown by append/);
    await assert.rejects(annTopk.append!(first, input.k.slice(0, d), input.v.slice(0, 2)), /grown by append/);
  });

  for (const causal of [false, true]) {
    it(`retrieves nearly the exact top-k${causal ? ' inside causal windows (over-fetching)' : ''}`, async () => {
      const input = gaussianInput({ m: causal ? 120 : 40, n: 120, d: 16, dv: 2, seed: 15, causal });
      const ann = await attend(annTopk, input, { k: 16 });
      const exact = await attend(topkExact, input, { k: 16 });
      let mean = 0, unindexedDots = 0;
      ann.selected!.forEach((sel, i) => {
        const vis = visibleKeys(input, i);
        if (vis <= 16) unindexedDots += vis; // k ≥ visible keys: every visible key is scored, no index search
        assert.equal(sel.length, Math.min(16, vis), `query ${i}`);
        mean += overlap(sel, exact.selected![i]!) / input.m;
      });
      assert.ok(mean >= 0.95, `mean overlap with the exact top-k: ${mean}`);
      // Every other scored key was returned by the index (re-scoring never invents keys).
      assert.ok(ann.cost.scoreEvaluations - unindexedDots <= ann.cost.extra.retrieved!);
    });
  }
});
