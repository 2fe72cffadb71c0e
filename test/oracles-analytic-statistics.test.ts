/**
 * The analytic backend's fast bookkeeping (oracles/backends/marked-set.ts, threshold-index.ts, score-keys.ts)
 * against the ground truth, the state vector:
 * - its structures count and arrange exactly what a scan would (properties, ties, ±∞, −0, float32/float64);
 * - each measurement follows the state vector's exact distribution (Pearson goodness of fit, per oracle, along
 *   a rising sequence of thresholds over one array — the way top-k uses it);
 * - whole Dürr–Heiligman–Høyer–Mhalla runs have the same distribution of oracle calls, measurements and
 *   selected sets as on the state vector (two-sample chi-square, noiseless and noisy).
 * Every statistical check runs with fixed seeds against a critical value at a stated significance, and each
 * is shown to fail on a deliberately wrong variant (one threshold rank too low; θ from M + 1 marked).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRng, normalArray } from '../core/rng.ts';
import type { Rng } from '../core/rng.ts';
import {
  createBackend, depolarizing, isRankScores, isTrueTopK, quantumTopK, rankFinite, rankScores, survivalProbability, thresholdOracle,
  type Backend, type Noise, type PreparedSearch, type Scores, type ThresholdOracle,
} from '../oracles/index.ts';
import { ScoreView } from '../oracles/backends/marked-set.ts';
import { SIGNIFICANCE, chiSquareCritical, goodnessOfFit, passes, show, twoSample, type Chi } from './helpers/chi-square.ts';
import { ThresholdIndex } from '../oracles/backends/threshold-index.ts';

// ---- exact bookkeeping ----------------------------------------------------------------------------------------

const scoreArb = fc.oneof(
  fc.double({ min: -5, max: 5, noNaN: true }),
  fc.integer({ min: -3, max: 3 }), // heavy ties
  fc.constantFrom(-Infinity, Infinity, -0, 0, 1e-40, -1e-40),
);

test('ThresholdIndex: for any rising or falling τ, order[0, L) is exactly the members above τ (property)', () => {
  fc.assert(
    fc.property(
      fc.array(scoreArb, { minLength: 1, maxLength: 300 }), fc.boolean(), fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 5000 }), // stretch the array past the bucket layout's threshold (4096) now and then
      (xs, f64, picks, stretch) => {
        const base = stretch > 4800 ? Array.from({ length: 4096 + (stretch % 500) }, (_, i) => xs[i % xs.length]!) : xs;
        const vals = f64 ? Float64Array.from(base) : Float32Array.from(base);
        const members = Int32Array.from(vals.map((_, i) => i * 3 + 1)); // ids distinct from positions
        const index = new ThresholdIndex(vals, members);
        for (const pick of picks) {
          const tau = pick === 1000 ? Infinity : pick === 999 ? -Infinity : vals[pick % vals.length]! + (pick % 3 === 0 ? 0 : pick % 3 === 1 ? 0.5 : -0.5);
          const L = index.advance(tau);
          const above = new Set<number>();
          vals.forEach((v, i) => v > tau && above.add(members[i]!));
          assert.equal(L, above.size, `τ = ${tau}`);
          const seen = new Set<number>();
          for (let p = 0; p < vals.length; p++) {
            const id = index.order[p]!;
            assert.ok(!seen.has(id), 'a permutation');
            seen.add(id);
            assert.equal(p < L, above.has(id), `position ${p}, τ = ${tau}`);
          }
        }
      },
    ),
    { numRuns: 150, seed: 12 },
  );
});

test('ScoreView: bounds contain the count, exact counts and prefixes are exact, NaN is refused (property)', () => {
  fc.assert(
    fc.property(fc.array(scoreArb, { minLength: 1, maxLength: 400 }), fc.boolean(), fc.array(fc.double({ min: -6, max: 6, noNaN: true }), { minLength: 1, maxLength: 10 }), (xs, f64, taus) => {
      const scores = f64 ? Float64Array.from(xs) : Float32Array.from(xs);
      const view = new ScoreView(scores);
      for (const t of [...taus, ...xs.slice(0, 4)]) {
        let truth = 0;
        for (const v of scores) if (v > t) truth++;
        view.bound(t);
        assert.ok(view.low <= truth && truth <= view.high, `bounds [${view.low}, ${view.high}] vs ${truth} at τ = ${t}`);
        assert.equal(view.above(t), truth);
        const prefix = view.abovePrefix(t);
        assert.equal(prefix.above, truth);
        for (let p = 0; p < prefix.above; p++) assert.ok(scores[prefix.order[p]!]! > t);
        const all = view.allAt(t);
        for (let p = all.above; p < scores.length; p++) assert.ok(!(scores[all.order[p]!]! > t));
      }
    }),
    { numRuns: 150, seed: 13 },
  );
  assert.throws(() => new ScoreView(Float32Array.from([1, 2, NaN, 3])).prepare(), /NaN at index 2/);
  // Large enough that the candidates (≈ N/16) get the bucket layout too; Gaussian, and a few crowded values.
  for (const scores of [normalArray(createRng(5), 2 ** 17), Float32Array.from({ length: 2 ** 17 }, (_, i) => (i * 7919) % 13)]) {
    const view = new ScoreView(scores);
    const sorted = Float64Array.from(scores).sort();
    for (const rank of [100, 60000, 120000, 124000, 130000, 131000, 131060]) {
      const t = sorted[rank]!;
      let truth = 0;
      for (const v of scores) if (v > t) truth++;
      view.bound(t);
      assert.ok(view.low <= truth && truth <= view.high);
      assert.equal(view.above(t), truth);
      assert.equal(view.abovePrefix(t).above, truth);
    }
  }
});

test('rank scores (grover-topk\'s search space): the sorted evaluator counts, tests and lists exactly what a scan does (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.array(fc.integer({ min: 0, max: 299 }), { maxLength: 40 }), fc.array(fc.integer({ min: -2, max: 302 }), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, ex, cuts, masked) => {
      // Half the cases with a −∞ tail (masked keys), of any length.
      const finite = masked < 0.5 ? n : Math.floor(((masked - 0.5) * 2) * (n + 1)) % (n + 1);
      const scores = rankScores(n, finite);
      assert.equal(rankFinite(scores), finite);
      assert.ok(isRankScores(scores) && !isRankScores(Float64Array.from(scores)), 'only the views rankScores hands out are recognised');
      const exclude = ex.filter((j) => j < n); // duplicates kept: the evaluator must count each index once
      const analytic = createBackend('analytic');
      // τ at a member's score (as top-k sets it), between two, and below / above every score.
      const top = finite > 0 ? scores[0]! : 1;
      const taus = [-Infinity, Infinity, ...cuts.map((c) => (c >= 0 && c < finite ? scores[c]! : c < 0 ? top + 0.5 : top - finite - 0.5 - c))];
      for (const tau of [...taus, ...taus.map((t) => t - 0.25)]) {
        const search = analytic.prepare(thresholdOracle(scores, tau, { exclude }));
        const truth: number[] = [];
        for (let j = 0; j < n; j++) if (scores[j]! > tau && !exclude.includes(j)) truth.push(j);
        assert.equal(search.markedCount, truth.length, `τ = ${tau}`);
        for (let j = 0; j < search.searchSize; j++) assert.equal(search.isMarked(j), truth.includes(j), `index ${j}, τ = ${tau}`);
        // The amplitudes place the marked list: one value on exactly the marked states, another elsewhere.
        if (truth.length > 0 && truth.length < search.searchSize) {
          const a = search.amplitudes(1), on = a[truth[0]!]!;
          for (let j = 0; j < a.length; j++) assert.equal(a[j] === on, truth.includes(j), `amplitude of ${j}, τ = ${tau}`);
        }
      }
    }),
    { numRuns: 150, seed: 17 },
  );
  // A τ just below a score (not itself a rank value) at 2^20: the cut is moved, not refused.
  const big = rankScores(2 ** 20);
  const just = createBackend('analytic').prepare(thresholdOracle(big, big[big.length - 1]! - 2 ** -30, {}));
  assert.equal(just.markedCount, 2 ** 20);
  const below = createBackend('analytic').prepare(thresholdOracle(big, big[5]! - 1e-9, {}));
  assert.equal(below.markedCount, 6);
});

// ---- one oracle's measurements against the state vector -------------------------------------------------------

/** Counts of `draws` measurements after r iterations. */
function histogram(search: PreparedSearch, r: number, draws: number, rng: Rng, noise?: Noise): Float64Array {
  const h = new Float64Array(search.searchSize);
  for (let t = 0; t < draws; t++) h[search.measure(r, rng, noise)]!++;
  return h;
}

/** The oracle marking one more key: τ one rank lower (the deliberate off-by-one threshold). */
function oneRankLower(o: ThresholdOracle, sortedScores: Float64Array): ThresholdOracle {
  let i = 0;
  while (i < sortedScores.length && sortedScores[i]! < o.threshold) i++;
  return thresholdOracle(o.scores, i > 0 ? sortedScores[i - 1]! : o.threshold - 1, { exclude: o.exclude });
}

test('each measurement follows the state vector exactly: rising thresholds over one array, padding, exclusions, noise', () => {
  const draws = 20000;
  const cases: { what: string; right: Chi; wrong: Chi }[] = [];
  // Real scores (the ScoreView / ThresholdIndex path) and rank scores (the sorted path grover-topk searches).
  for (const [N, kind] of [[100, 'normal'], [256, 'normal'], [100, 'ranks'], [256, 'ranks']] as const) {
    const scores = kind === 'ranks' ? rankScores(N) : normalArray(createRng(N), N);
    const sorted = Float64Array.from(scores).sort();
    const analytic = createBackend('analytic'), statevector = createBackend('statevector');
    // Ranks from the bottom: from "almost everything marked" to "a few marked", as DHHM raises τ.
    for (const rank of [N / 25, N / 3, (3 * N) / 4, N - 12, N - 6, N - 3].map(Math.floor)) {
      const tau = sorted[rank]!;
      // Exclude three indices above τ (as top-k excludes its set) and one below.
      const above = Array.from(scores.keys()).filter((j) => scores[j]! > tau);
      const exclude = [above[0]!, above[above.length >> 1]!, above[above.length - 1]!, Array.from(scores.keys()).find((j) => scores[j]! < tau)!];
      const oracle = thresholdOracle(scores, tau, { exclude });
      const truth = statevector.prepare(oracle);
      const fast = analytic.prepare(oracle);
      assert.equal(fast.markedCount, truth.markedCount);
      for (const r of [0, 1, 4]) {
        const a = fast.probabilities(r), b = truth.probabilities(r);
        assert.ok(a.every((x, i) => Math.abs(x - b[i]!) <= 1e-12), `probabilities after ${r} iterations, rank ${rank}`);
      }
      for (const [r, p] of [[1, 0], [2, 0], [5, 0], [3, 0.1]] as const) {
        const noise = p > 0 ? depolarizing(p) : undefined;
        // Exact distribution after r noisy calls: (1 − p)^r |ψ_r|² + (1 − (1 − p)^r) / N'.
        const s = survivalProbability(noise, r);
        const exact = truth.probabilities(r).map((q) => s * q + (1 - s) / truth.searchSize);
        const expected = exact.map((q) => q * draws);
        const seed = N * 1000 + rank * 10 + r + (kind === 'ranks' ? 7 : 0);
        const right = goodnessOfFit(histogram(fast, r, draws, createRng(seed), noise), expected);
        const wrong = goodnessOfFit(histogram(analytic.prepare(oneRankLower(oracle, sorted)), r, draws, createRng(seed), noise), expected);
        cases.push({ what: `${kind} N=${N} rank=${rank} M=${truth.markedCount} r=${r} p=${p}`, right, wrong });
      }
    }
  }
  for (const c of cases) assert.ok(passes(c.right), `${c.what}: analytic vs state vector ${show(c.right)}`);
  // The self-check: one more marked key is seen in every case where its probability moves by much (few
  // marked keys), and in the sum over all cases.
  for (const c of cases.filter((x) => /M=[1-9] /.test(x.what))) assert.ok(!passes(c.wrong), `${c.what}: off-by-one threshold not detected, ${show(c.wrong)}`);
  const total = cases.reduce((a, c) => ({ stat: a.stat + c.wrong.stat, df: a.df + c.wrong.df }), { stat: 0, df: 0 });
  assert.ok(total.stat > chiSquareCritical(total.df, SIGNIFICANCE), `off-by-one threshold, all cases: χ² ${total.stat} on ${total.df} df`);
});

// ---- whole top-k runs against the state vector ---------------------------------------------------------------

/**
 * An analytic search re-implemented from the public interface (marked with probability sin²((2r+1)θ), then a
 * uniform index of the chosen part by rejection), with θ from M + `offset` marked keys whenever any is marked:
 * offset 0 is a second correct implementation, offset 1 the deliberate off-by-one.
 */
function rejectionBackend(offset: number): Backend {
  const inner = createBackend('analytic');
  return {
    name: 'analytic',
    maxQubits: inner.maxQubits,
    prepare(oracle) {
      const s = inner.prepare(oracle);
      const Np = s.searchSize;
      return {
        backend: s.backend, size: s.size, qubits: s.qubits, searchSize: Np,
        get markedCount() { return s.markedCount; },
        get scoreReads() { return s.scoreReads; },
        isMarked: (i) => s.isMarked(i),
        amplitudes: (r) => s.amplitudes(r),
        probabilities: (r) => s.probabilities(r),
        markedProbability: (r) => s.markedProbability(r),
        measure(r, rng, noise) {
          if (noise && rng.next() >= survivalProbability(noise, r)) return rng.int(Np);
          const M = s.markedCount, Mw = M > 0 ? Math.min(Np, M + offset) : 0;
          const p = Mw === 0 ? 0 : Mw === Np ? 1 : Math.sin((2 * r + 1) * Math.asin(Math.sqrt(Mw / Np))) ** 2;
          const marked = M === Np || (M > 0 && rng.next() < p);
          for (;;) {
            const x = rng.int(Np);
            if (s.isMarked(x) === marked) return x;
          }
        },
      };
    },
  };
}

interface RunStats {
  readonly calls: number[];
  readonly measurements: number[];
  /** How many of the true top k each result holds. */
  readonly hits: number[];
}

function runs(backend: () => Backend, scores: Scores, k: number, count: number, seed0: number, noise?: Noise): RunStats {
  const best = new Set(Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!).slice(0, k));
  const out: RunStats = { calls: [], measurements: [], hits: [] };
  for (let i = 0; i < count; i++) {
    const r = quantumTopK(scores, k, { backend: backend(), rng: createRng(seed0 + i), noise, maxOracleCalls: 20000 });
    assert.equal(r.success, isTrueTopK(scores, r.indices), 'success flag = a scan of the result');
    out.calls.push(r.cost.oracleCalls);
    out.measurements.push(r.cost.measurements);
    out.hits.push(Array.from(r.indices).filter((j) => best.has(j)).length);
  }
  return out;
}

test('top-k runs: the fast analytic path and the state vector give the same distributions of oracle calls, measurements and selections', () => {
  // 1200 runs per sample: enough that θ from M + 1 (which only moves the stages with few marked keys, a minor
  // share of the calls next to the certification rounds) shows; p = 0.6 makes about a third of the runs miss.
  const count = 1200;
  const report: string[] = [];
  for (const [N, k, p, kind] of [[64, 16, 0, 'normal'], [200, 8, 0, 'normal'], [64, 8, 0.6, 'normal'], [200, 8, 0, 'ranks'], [64, 8, 0.6, 'ranks']] as const) {
    const scores = kind === 'ranks' ? rankScores(N) : normalArray(createRng(40 + N), N);
    const noise = p > 0 ? depolarizing(p) : undefined;
    const truth = runs(() => createBackend('statevector'), scores, k, count, 1_000_000, noise);
    const variants = {
      fast: runs(() => createBackend('analytic'), scores, k, count, 0, noise),
      reimplemented: runs(() => rejectionBackend(0), scores, k, count, 2_000_000, noise),
      offByOne: runs(() => rejectionBackend(1), scores, k, count, 3_000_000, noise),
    };
    const where = `${kind} N=${N} k=${k} p=${p}`;
    const chis = Object.fromEntries(Object.entries(variants).map(([name, v]) => [name, {
      calls: twoSample(v.calls, truth.calls),
      measurements: twoSample(v.measurements, truth.measurements),
      hits: twoSample(v.hits, truth.hits),
    }]));
    for (const name of ['fast', 'reimplemented']) {
      for (const [stat, c] of Object.entries(chis[name]!)) assert.ok(passes(c), `${where} ${name} ${stat}: ${show(c)}`);
    }
    const off = chis['offByOne']!;
    report.push(`${where} off-by-one: calls ${show(off.calls)}`);
    assert.ok(!passes(off.calls) || !passes(off.measurements), `${where}: θ from M + 1 not detected (${report.at(-1)})`);
    if (p > 0) assert.ok(new Set(truth.hits).size > 1, `${where}: noise should make some runs miss (else the selection test is empty)`);
  }
});
