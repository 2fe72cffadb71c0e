import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import type { Rng } from '../core/rng.ts';
import { SQAccess, SumTree } from '../attention/sq-access.ts';

/** Pearson χ² of observed counts against probabilities; counts where p = 0 make it +∞. */
function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>): { stat: number; df: number } {
  let total = 0;
  for (let j = 0; j < counts.length; j++) total += counts[j]!;
  let stat = 0, df = -1;
  for (let j = 0; j < probs.length; j++) {
    const e = total * probs[j]!, c = counts[j]!;
    if (e === 0) {
      if (c > 0) return { stat: Infinity, df };
      continue;
    }
    stat += (c - e) ** 2 / e;
    df++;
  }
  return { stat, df };
}

/** χ² with df degrees of freedom has mean df and sd √(2df); 6 sd is a bound a correct sampler never crosses on these seeds. */
function assertFits(counts: ArrayLike<number>, probs: ArrayLike<number>, what: string): void {
  const { stat, df } = chiSquare(counts, probs);
  assert.ok(stat <= df + 6 * Math.sqrt(2 * df), `${what}: χ²=${stat.toFixed(1)} with df=${df}`);
}

function draw(times: number, size: number, sample: () => number): Float64Array {
  const counts = new Float64Array(size);
  for (let r = 0; r < times; r++) {
    const j = sample();
    assert.ok(j >= 0 && j < size, `sample ${j} outside [0, ${size})`);
    counts[j]!++;
  }
  return counts;
}

/** Rows with very different norms, so a sampler that ignored the norms would fail. */
function skewedMatrix(rng: Rng, n: number, d: number): Float32Array {
  const k = normalArray(rng, n * d);
  for (let j = 0; j < n; j++) for (let t = 0; t < d; t++) k[j * d + t]! *= 0.1 + (j % 7);
  return k;
}

function rowProbs(k: Float32Array, d: number, limit: number): Float64Array {
  const p = new Float64Array(limit);
  for (let j = 0; j < limit; j++) for (let t = 0; t < d; t++) p[j]! += k[j * d + t]! ** 2;
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / s);
}

test('row sampling frequencies match ‖k_j‖²/‖K‖_F² (χ²), and the test has power against uniform', () => {
  const n = 50, d = 8, k = skewedMatrix(createRng(1), n, d);
  const sq = SQAccess.fromMatrix(k, n, d);
  const rng = createRng(2);
  const counts = draw(100_000, n, () => sq.sampleRow(rng));
  const p = rowProbs(k, d, n);
  assertFits(counts, p, 'row sampling');
  const uniform = new Float64Array(n).fill(1 / n);
  assert.ok(chiSquare(counts, uniform).stat > 1000, 'χ² must reject a wrong (uniform) distribution');
  let frob = 0;
  for (let i = 0; i < k.length; i++) frob += k[i]! ** 2;
  assert.ok(Math.abs(sq.frobenius2() - frob) < 1e-9 * frob);
});

test('prefix sampling stays in [0, limit) with probabilities renormalised over the prefix', () => {
  const n = 100, d = 4, k = skewedMatrix(createRng(3), n, d);
  const sq = SQAccess.fromMatrix(k, n, d);
  const rng = createRng(4);
  for (const limit of [1, 17, 64, 65]) {
    const counts = draw(40_000, limit, () => sq.sampleRow(rng, limit));
    assertFits(counts, rowProbs(k, d, limit), `prefix ${limit}`);
    const p = rowProbs(k, d, n);
    assert.ok(Math.abs(sq.frobenius2(limit) / sq.frobenius2() - p.slice(0, limit).reduce((a, b) => a + b, 0)) < 1e-12);
  }
});

test('zero rows are never sampled; an all-zero prefix yields −1', () => {
  const d = 3, k = new Float32Array([0, 0, 0, 0, 0, 0, 1, 2, 2, 0, 0, 0, 3, 0, 0]);
  const sq = SQAccess.fromMatrix(k, 5, d);
  const rng = createRng(5);
  assert.equal(sq.sampleRow(rng, 2), -1);
  const counts = draw(20_000, 5, () => sq.sampleRow(rng));
  assert.equal(counts[0]! + counts[1]! + counts[3]!, 0);
  assertFits(counts, [0, 0, 9 / 18, 0, 9 / 18], 'zero rows');
});

test('append through several capacity doublings equals building from the whole matrix', () => {
  const n = 300, d = 5, k = skewedMatrix(createRng(6), n, d);
  const grown = new SQAccess(d);
  for (let j = 0; j < n; j++) assert.equal(grown.append(k.subarray(j * d, (j + 1) * d)), j);
  const built = SQAccess.fromMatrix(k, n, d);
  assert.equal(grown.n, n);
  for (const limit of [1, 2, 3, 127, 128, 129, 255, 256, 257, 300]) {
    assert.ok(Math.abs(grown.frobenius2(limit) - built.frobenius2(limit)) <= 1e-12 * built.frobenius2(limit), `limit ${limit}`);
  }
  assert.equal(grown.entry(299, 4), k[299 * d + 4]);
  const rng = createRng(7);
  assertFits(draw(60_000, n, () => grown.sampleRow(rng)), rowProbs(k, d, n), 'after appends');
});

test('point update changes the sampling distribution and the norms', () => {
  const n = 20, d = 4, k = skewedMatrix(createRng(8), n, d);
  const sq = SQAccess.fromMatrix(k, n, d), original = k.slice();
  sq.update(3, [0, 0, 0, 0]);
  sq.update(11, [10, 0, 0, 0]);
  assert.deepEqual(k, original, 'fromMatrix borrows K: the first update copies it instead of writing into it');
  k.fill(0, 3 * d, 4 * d);
  k.set([10, 0, 0, 0], 11 * d);
  assert.equal(sq.rowNorm2(3), 0);
  assert.equal(sq.rowNorm2(11), 100);
  const rng = createRng(9);
  const counts = draw(40_000, n, () => sq.sampleRow(rng));
  assert.equal(counts[3], 0);
  assertFits(counts, rowProbs(k, d, n), 'after updates');
});

test('entry sampling within a row and column trees (norms, in-column prefix sampling)', () => {
  const n = 40, d = 6, k = skewedMatrix(createRng(10), n, d);
  const sq = SQAccess.fromMatrix(k, n, d, { columnTrees: true });
  const rng = createRng(11);
  const row = Array.from(k.subarray(7 * d, 8 * d), (x) => x * x);
  const rowSum = row.reduce((a, b) => a + b, 0);
  assertFits(draw(30_000, d, () => sq.sampleEntry(7, rng)), row.map((x) => x / rowSum), 'entry sampling');
  for (const [t, limit] of [[0, 40], [5, 23]] as const) {
    const col = Array.from({ length: limit }, (_, j) => k[j * d + t]! ** 2);
    const colSum = col.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sq.columnNorm2(t, limit) - colSum) < 1e-9 * colSum);
    assertFits(draw(30_000, limit, () => sq.sampleInColumn(t, rng, limit)), col.map((x) => x / colSum), `column ${t}`);
  }
  sq.append(new Float32Array(d).fill(2));
  assert.ok(Math.abs(sq.columnNorm2(2) - sq.columnNorm2(2, 40) - 4) < 1e-9);
});

test('sampling is deterministic under the seed', () => {
  const k = skewedMatrix(createRng(12), 64, 4), sq = SQAccess.fromMatrix(k, 64, 4);
  const seq = (seed: number): number[] => {
    const rng = createRng(seed);
    return Array.from({ length: 50 }, () => sq.sampleRow(rng, 40));
  };
  assert.deepEqual(seq(13), seq(13));
  assert.notDeepEqual(seq(13), seq(14));
});

test('SumTree prefix sums equal naive sums after any sequence of sets (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(200), fc.double({ min: 0, max: 1e3, noNaN: true })), { maxLength: 60 }), (ops) => {
      const tree = new SumTree(1), naive: number[] = [];
      for (const [j, w] of ops) {
        tree.set(j, w);
        naive[j] = w;
      }
      let s = 0;
      for (let lim = 1; lim <= naive.length + 1; lim++) {
        s += naive[lim - 1] ?? 0;
        if (Math.abs(tree.prefix(lim) - s) > 1e-9 * Math.max(1, s)) return false;
      }
      return tree.capacity >= naive.length;
    }),
  );
});

test('misuse is a QattnError naming the problem', () => {
  const sq = SQAccess.fromMatrix(new Float32Array([1, 2, 3, 4]), 2, 2);
  assert.throws(() => sq.update(2, [0, 0]), (e) => e instanceof QattnError && /out of range/.test(e.message));
  assert.throws(() => sq.append([1]), (e) => e instanceof QattnError && /expected 2/.test(e.message));
  assert.throws(() => sq.columnNorm2(0), (e) => e instanceof QattnError && /column trees/.test(e.message));
  assert.throws(() => sq.update(0, [NaN, 0]), (e) => e instanceof QattnError && /NaN or Inf/.test(e.message));
});
