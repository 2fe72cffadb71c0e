import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, normalArray } from '../core/rng.ts';
import { relL2, selectionFidelity } from '../attention/fidelity.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { dot } from '../attention/math.ts';
import { resolveOptions } from '../attention/options.ts';
import { KeyMemo, SQAccess } from '../attention/sq-access.ts';
import type { AttentionInput, AttentionOutput, Mechanism, OptionValue } from '../attention/types.ts';
import { validateInput } from '../attention/validate.ts';
import { l2Sampling } from '../attention/mechanisms/l2-sampling.ts';
import { columnSampler, dequantizedTopk, rejectionSample, rowSampler } from '../attention/mechanisms/dequantized-topk.ts';
import type { RejectionSampler } from '../attention/mechanisms/dequantized-topk.ts';
import { kvOf, queryOf } from '../attention/define.ts';
import { attendPrepared, prepareAttention, runAttention } from '../attention/run.ts';
import { copyInput, gaussianInput, plantedNeedleInput } from './helpers/workloads.ts';
import { plantAligned } from '../bench/workloads/needle.ts';

async function run(mech: Mechanism, input: AttentionInput, given: Record<string, OptionValue> = {}): Promise<AttentionOutput> {
  validateInput(input);
  const options = resolveOptions(mech, given);
  assert.deepEqual(mech.notSupportedReasons(input, options), []);
  return mech.attend(input, options);
}

async function meanErr(input: AttentionInput, samples: number, seeds: number[], mix = 0): Promise<number> {
  const ref = referenceAttention64(input);
  let e = 0;
  for (const seed of seeds) e += relL2((await run(l2Sampling, { ...input, seed }, { samples, uniformMix: mix })).out, ref);
  return e / seeds.length;
}

test('l2-sampling: error falls as samples grows (≈ 1/√s) on a seeded Gaussian workload', async () => {
  const input = gaussianInput({ m: 8, n: 512, d: 16, dv: 8, seed: 21 });
  const [e16, e256, e4096] = [await meanErr(input, 16, [1, 2, 3]), await meanErr(input, 256, [1, 2, 3]), await meanErr(input, 4096, [1, 2, 3])];
  assert.ok(e256 < 0.6 * e16 && e4096 < 0.6 * e256, `relL2 ${e16} → ${e256} → ${e4096}`);
});

test('l2-sampling: deterministic under the seed, per-query streams differ across seeds; costs are counted', async () => {
  const input = { ...gaussianInput({ m: 4, n: 300, d: 8, dv: 4, seed: 22 }), seed: 5 };
  const a = await run(l2Sampling, input, { samples: 64 }), b = await run(l2Sampling, input, { samples: 64 });
  assert.deepEqual(a.out, b.out);
  assert.deepEqual(a.cost, b.cost);
  assert.notDeepEqual((await run(l2Sampling, { ...input, seed: 6 }, { samples: 64 })).out, a.out);
  assert.equal(a.cost.samples, 4 * 64);
  assert.ok(a.cost.scoreEvaluations > 4 && a.cost.scoreEvaluations <= 4 * 64, `distinct scores ${a.cost.scoreEvaluations}`);
  assert.equal(a.cost.extra['distinctKeysPerQuery'], a.cost.scoreEvaluations / 4);
});

test('l2-sampling: zero keys bias pure ℓ2 sampling; a uniform mixture removes the bias (documented)', async () => {
  const input = gaussianInput({ m: 4, n: 64, d: 8, dv: 4, seed: 23 });
  const k = input.k.slice();
  for (let j = 0; j < 64; j += 2) k.fill(0, j * 8, (j + 1) * 8);
  const zeroed = { ...input, k };
  const [biasedFew, biased] = [await meanErr(zeroed, 2000, [1]), await meanErr(zeroed, 20_000, [1])];
  const [mixedFew, mixed] = [await meanErr(zeroed, 2000, [1], 0.5), await meanErr(zeroed, 20_000, [1], 0.5)];
  assert.ok(biased > 0.8 * biasedFew && biased > 4 * mixed, `pure ℓ2 plateaus: ${biasedFew} → ${biased}`);
  assert.ok(mixed < 0.6 * mixedFew, `mixture converges: ${mixedFew} → ${mixed}`);
});

test('l2-sampling: causal windows and −∞ padding keys never contribute', async () => {
  const causal = gaussianInput({ m: 6, n: 6, d: 4, dv: 3, seed: 24, causal: true });
  const out = (await run(l2Sampling, causal, { samples: 32 })).out;
  assert.deepEqual(Array.from(out.subarray(0, 3)), Array.from(causal.v.subarray(0, 3)), 'query 0 sees key 0 only');
  const mask = new Float32Array(100).map((_, j) => (j % 4 === 0 ? -Infinity : 0));
  const padded = gaussianInput({ m: 4, n: 100, d: 8, dv: 4, seed: 25, mask });
  const v = padded.v.slice();
  for (let j = 0; j < 100; j += 4) v.fill(1e6, j * 4, (j + 1) * 4);
  const ref = referenceAttention64({ ...padded, v });
  const k = padded.k.slice();
  assert.ok(relL2((await run(l2Sampling, { ...padded, v }, { samples: 20_000 })).out, ref) < 0.05);
  assert.deepEqual(padded.k, k, 'padding keys leave the SQ structure, not the caller\'s K');
});

test('dequantized-topk: k = n (exhaustive) is exact, also causal and masked', async () => {
  const mask = new Float32Array(90).map((_, j) => (j % 9 === 0 ? -Infinity : (j % 5) / 5));
  for (const input of [gaussianInput({ m: 7, n: 90, d: 8, dv: 5, seed: 26 }), gaussianInput({ m: 20, n: 90, d: 8, dv: 5, seed: 27, causal: true, mask })]) {
    const res = await run(dequantizedTopk, input, { k: input.n });
    assert.ok(relL2(res.out, referenceAttention64(input)) < (dequantizedTopk.tolerance.kind === 'exhaustive' ? dequantizedTopk.tolerance.relL2 : 0));
    assert.equal(res.cost.extra['rejectionTrials'], 0);
    assert.equal(res.cost.extra['enumeratedQueries'], input.m);
  }
});

/** χ² test that a sampler's accepted draws follow (q·k_j)² / Σ_j (q·k_j)², and the mean trial count its formula. */
function checkTarget(input: AttentionInput, sampler: RejectionSampler, expectedTrials: number, what: string): void {
  const { accepted, trials } = rejectionSample(sampler, 40_000, 1e9, createRng(31));
  const w = Array.from({ length: input.n }, (_, j) => dot(input, 0, j) ** 2), z = w.reduce((a, b) => a + b, 0);
  const counts = new Float64Array(input.n);
  for (const j of accepted) counts[j]!++;
  let chi = 0;
  for (let j = 0; j < input.n; j++) chi += (counts[j]! - 40_000 * w[j]! / z) ** 2 / (40_000 * w[j]! / z);
  assert.ok(chi < input.n - 1 + 6 * Math.sqrt(2 * (input.n - 1)), `${what}: χ² = ${chi}`);
  assert.ok(Math.abs(trials / 40_000 / expectedTrials - 1) < 0.05, `${what}: ${trials / 40_000} trials/sample, formula ${expectedTrials}`);
}

test('rejection samplers draw ∝ (q·k)² with the documented expected trials per sample', () => {
  const input = gaussianInput({ m: 1, n: 60, d: 6, dv: 2, seed: 28 });
  const { q, k, n, d } = input;
  const sq = SQAccess.fromMatrix(k, n, d, { columnTrees: true });
  let kq2 = 0, frob = 0, colMix = 0;
  for (let j = 0; j < n; j++) kq2 += dot(input, 0, j) ** 2;
  for (let t = 0; t < n * d; t++) frob += k[t]! ** 2;
  for (let t = 0; t < n * d; t++) colMix += q[t % d]! ** 2 * k[t]! ** 2;
  const qn2 = Array.from(q).reduce((a, x) => a + x * x, 0);
  checkTarget(input, rowSampler(input, 0, n, sq, new KeyMemo()), (qn2 * frob) / kq2, 'row');
  checkTarget(input, columnSampler(input, 0, n, sq, new KeyMemo(), new KeyMemo()), (d * colMix) / kq2, 'column');
});

test('dequantized-topk: recovers planted needles; negative scores drawn by (q·k)² lose to positive ones', async () => {
  const { input, needles } = plantedNeedleInput({ m: 8, n: 2048, d: 16, dv: 8, seed: 29, needles: 4 });
  for (const proposal of ['row', 'column']) {
    const res = await run(dequantizedTopk, { ...input, seed: 3 }, { k: 8, proposal });
    needles.forEach((mine, i) => mine.forEach((j) => assert.ok(res.selected![i]!.includes(j), `${proposal}: needle ${j} of query ${i}`)));
    assert.ok(selectionFidelity(input, res.selected!).massRecall > 0.99);
    assert.ok(res.cost.scoreEvaluations <= res.cost.extra['rejectionTrials']!, 'one score per distinct trial key at most');
  }
  // Query 0 = e_0: key 1 has score −8·scale and is drawn 64/89 of the time, key 2 has +5·scale; every other
  // key is orthogonal to q (never accepted). Top-1 by exact score must be key 2; with k = 2 key 1 comes second.
  const k = new Float32Array(40 * 4).map((_, t) => (t % 4 === 1 ? 1 + (t % 7) : 0));
  k[4] = -8;
  k[8] = 5;
  const tiny: AttentionInput = { m: 1, n: 40, d: 4, dv: 40, q: Float32Array.of(1, 0, 0, 0), k, v: new Float32Array(1600) };
  assert.deepEqual(Array.from((await run(dequantizedTopk, tiny, { k: 1, samples: 64 })).selected![0]!), [2]);
  assert.deepEqual(Array.from((await run(dequantizedTopk, tiny, { k: 2, samples: 64 })).selected![0]!), [2, 1]);
});

test('dequantized-topk: q = 0 falls back to uniform candidates; column proposal refused when too large', async () => {
  const input = gaussianInput({ m: 3, n: 100, d: 8, dv: 4, seed: 30 });
  const res = await run(dequantizedTopk, { ...input, q: new Float32Array(24) }, { k: 4, samples: 16 });
  assert.equal(res.cost.extra['uniformFallbackQueries'], 3);
  assert.equal(res.cost.samples, 48);
  const big = { ...input, n: 1 << 20, d: 64 };
  assert.match(dequantizedTopk.notSupportedReasons(big, resolveOptions(dequantizedTopk, { proposal: 'column' }))[0] ?? '', /use proposal=row/);
  assert.deepEqual(dequantizedTopk.notSupportedReasons(big, resolveOptions(dequantizedTopk, {})), []);
});

/** Least-squares slope of log y against log x. */
function logLogSlope(xs: number[], ys: number[]): number {
  const lx = xs.map(Math.log), ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length, my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0, den = 0;
  lx.forEach((x, t) => ((num += (x - mx) * (ly[t]! - my)), (den += (x - mx) ** 2)));
  return num / den;
}

/**
 * Planted needles with ORDINARY norms (the needle family's aligned construction, bench/workloads/needle.ts):
 * keys are N(0, I) (norm ≈ √d), query i = 24·u_i and its 4 needles are √d·u_i, so needles differ from the
 * background by direction only — as in real models, where normalised keys have similar norms. plantedNeedleInput
 * instead gives needles a much larger norm than the background.
 */
function sameNormNeedles(m: number, n: number, d: number, seed: number): { input: AttentionInput; needles: Int32Array[] } {
  const rng = createRng(seed);
  const k = normalArray(rng, n * d);
  const { q, needles } = plantAligned(k, rng, rng, { m, n, d, needles: 4, queryNorm: 24, needleNorm: Math.sqrt(d), spread: 0, jitter: 0 });
  return { input: { m, n, d, dv: 4, q, k, v: normalArray(rng, n * 4) }, needles };
}

/** Mean over queries of the expected trials per sample of the row proposal, ‖q‖²‖K‖_F² / ‖Kq‖². */
function rowTrialFormula(input: AttentionInput): number {
  let frob = 0, total = 0;
  for (let t = 0; t < input.k.length; t++) frob += input.k[t]! ** 2;
  for (let i = 0; i < input.m; i++) {
    let kq2 = 0, qn2 = 0;
    for (let j = 0; j < input.n; j++) kq2 += dot(input, i, j) ** 2;
    for (let t = 0; t < input.d; t++) qn2 += input.q[i * input.d + t]! ** 2;
    total += (qn2 * frob) / kq2;
  }
  return total / input.m;
}

const NS = [1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14];

async function trialsPerSample(input: AttentionInput, proposal: string): Promise<number> {
  const res = await run(dequantizedTopk, { ...input, seed: 1 }, { proposal });
  assert.equal(res.cost.samples, input.m * 256, 'every query reached its 256 accepted samples');
  return res.cost.extra['trialsPerSample']!;
}

test('dequantized-topk: trials per accepted sample are flat in n on Gaussian and same-norm needle keys (counts)', async () => {
  for (const proposal of ['row', 'column']) {
    const gauss: number[] = [], needle: number[] = [];
    for (const n of NS) {
      gauss.push(await trialsPerSample(gaussianInput({ m: 8, n, d: 16, dv: 4, seed: 32 }), proposal));
      const { input, needles } = sameNormNeedles(8, n, 64, 33);
      needle.push(await trialsPerSample(input, proposal));
      if (proposal === 'row' && n === NS[NS.length - 1]) {
        const mass = selectionFidelity(input, needles).massRecall;
        assert.ok(mass > 0.99, `needles carry ${mass} of the softmax mass`);
      }
    }
    for (const [what, ys] of [['gaussian', gauss], ['same-norm needles', needle]] as const) {
      const slope = logLogSlope(NS, ys);
      assert.ok(Math.abs(slope) <= 0.1, `${proposal}, ${what}: ${ys.map((x) => x.toFixed(2)).join(', ')} → exponent ${slope}`);
    }
  }
});

test('dequantized-topk: with high-norm needles trials follow ‖q‖²‖K‖_F²/‖Kq‖² (rising toward d as background grows)', async () => {
  for (const n of [1 << 10, 1 << 14]) {
    const { input } = plantedNeedleInput({ m: 8, n, d: 16, dv: 4, seed: 34, needles: 4, strength: 15 });
    const measured = await trialsPerSample(input, 'row'), formula = rowTrialFormula(input);
    assert.ok(Math.abs(measured / formula - 1) < 0.05, `n=${n}: measured ${measured}, formula ${formula}`);
    assert.ok(measured < 1.1 * input.d, 'bounded by ≈ d (the isotropic-background limit)');
  }
});

/** K behind a Proxy that counts element reads, so a test can see how much of K a query touches. */
function countingK(k: Float32Array): { k: Float32Array; reads: () => number; reset: () => void } {
  let reads = 0;
  const proxy = new Proxy(k, {
    get(target, p) {
      if (typeof p === 'string' && p.length > 0 && p.charCodeAt(0) >= 48 && p.charCodeAt(0) <= 57) reads++;
      const x = Reflect.get(target, p);
      return typeof x === 'function' ? x.bind(target) : x;
    },
  });
  return { k: proxy, reads: () => reads, reset: () => void (reads = 0) };
}

test('a prepared query reads K only for the keys it scores (the trees are built once, in prepare)', async () => {
  const input = { ...gaussianInput({ m: 4, n: 20_000, d: 8, dv: 4, seed: 50 }), seed: 2 };
  const cases: [Mechanism, Record<string, OptionValue>][] = [
    [l2Sampling, { samples: 64 }], [dequantizedTopk, { samples: 64 }], [dequantizedTopk, { samples: 64, proposal: 'column' }],
  ];
  for (const [mech, given] of cases) {
    const counted = countingK(input.k);
    const { prepared } = await prepareAttention(mech.name, { ...kvOf(input), k: counted.k }, given);
    assert.equal(prepared.cost.extra['sqTreeRows'], input.n, 'prepare counts the n tree rows');
    assert.equal(prepared.cost.extra['sqColumnTreeEntries'], given['proposal'] === 'column' ? input.n * input.d : undefined);
    counted.reset();
    const { output } = await attendPrepared(prepared, queryOf(input));
    const scored = output.cost.scoreEvaluations + (output.cost.extra['proposalWeightEvaluations'] ?? 0);
    assert.ok(scored > 0 && scored < input.n / 2, `${mech.name} ${JSON.stringify(given)}: ${scored} key evaluations for ${input.m} queries`);
    assert.equal(counted.reads(), scored * input.d, `${mech.name} ${JSON.stringify(given)}: K reads = d per evaluated key, no pass over K`);
    assert.deepEqual(output.out, (await run(mech, input, given)).out, 'the same output as one call on the plain K');
  }
});

test('append, one key at a time and in blocks, through capacity doublings, equals preparing the concatenation bit for bit', async () => {
  const input = { ...gaussianInput({ m: 6, n: 300, d: 8, dv: 4, seed: 51 }), seed: 9 };
  const { d, dv } = input;
  const cases: [Mechanism, Record<string, OptionValue>][] = [
    [l2Sampling, {}], [l2Sampling, { uniformMix: 0.25 }], [dequantizedTopk, { k: 8 }], [dequantizedTopk, { k: 8, proposal: 'column' }],
  ];
  for (const [mech, given] of cases) {
    const what = `${mech.name} ${JSON.stringify(given)}`;
    let { prepared } = await prepareAttention(mech.name, { ...kvOf(input), k: input.k.slice(0, 3 * d), v: input.v.slice(0, 3 * dv), n: 3 }, given);
    const early = prepared, earlyQuery = queryOf(gaussianInput({ m: 2, n: 3, d, dv, seed: 52 }));
    const earlyOut = (await attendPrepared(early, earlyQuery)).output;
    let at = 3;
    for (const to of [4, 5, 6, 9, 17, 33, 200, 201, 256, 257, 300]) {
      prepared = await mech.append!(prepared, input.k.slice(at * d, to * d), input.v.slice(at * dv, to * dv));
      at = to;
    }
    assert.equal(prepared.kv.n, 300);
    assert.equal(prepared.cost.extra['sqTreeRows'], 300, `${what}: prepare + appends count each key's tree row once`);
    const grown = (await attendPrepared(prepared, queryOf(input))).output;
    const whole = (await runAttention(mech.name, copyInput(input), given)).output;
    assert.deepEqual(grown.out, whole.out, what);
    assert.deepEqual(grown.selected, whole.selected, what);
    assert.deepEqual(grown.cost, whole.cost, what);
    assert.deepEqual((await attendPrepared(early, earlyQuery)).output.out, earlyOut.out, `${what}: the state prepared before the appends still attends its 3 keys as before`);
  }
});

test('a padding mask costs one O(n) tree copy for that call and leaves the prepared trees as they were', async () => {
  const input = { ...gaussianInput({ m: 4, n: 200, d: 8, dv: 4, seed: 53 }), seed: 4 };
  const mask = new Float32Array(200).map((_, j) => (j % 4 === 1 ? -Infinity : 0));
  for (const [mech, given] of [[l2Sampling, {}], [dequantizedTopk, { k: 8 }], [dequantizedTopk, { k: 8, proposal: 'column' }]] as const) {
    const { prepared } = await prepareAttention(mech.name, kvOf(input), given);
    const plain = (await attendPrepared(prepared, queryOf(input))).output;
    const masked = (await attendPrepared(prepared, { ...queryOf(input), mask })).output;
    assert.equal(plain.cost.extra['sqMaskCopyRows'], 0);
    assert.equal(masked.cost.extra['sqMaskCopyRows'], 200);
    assert.deepEqual(masked.out, (await runAttention(mech.name, { ...copyInput(input), mask }, given)).output.out);
    for (const sel of masked.selected ?? []) for (const j of sel) assert.notEqual(j % 4, 1, `masked key ${j} selected`);
    assert.deepEqual((await attendPrepared(prepared, queryOf(input))).output.out, plain.out, 'unmasked attend unchanged after a masked one');
  }
});
