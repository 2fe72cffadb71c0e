import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import type { Rng } from '../core/rng.ts';
import { KeyMemo, SQAccess, SumTree, maskedAccess } from '../attention/sq-access.ts';

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

/** The first `count` draws of sampleRow(limit) from a fresh stream of `seed`. */
function rowDraws(sq: SQAccess, seed: number, limit: number, count = 400): number[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => sq.sampleRow(rng, limit));
}

test('SumTree prefix sums and samples do not depend on the capacity (bit for bit)', () => {
  // Log-normal weights use the full float64 mantissa, so sums taken in another order round differently
  // (weights of 32-bit randoms would add exactly in any order and hide a layout dependence).
  const rng = createRng(41), w = Array.from({ length: 64 }, () => Math.exp(3 * rng.normal()));
  const small = new SumTree(64), large = new SumTree(1024);
  w.forEach((x, j) => (small.set(j, x), large.set(j, x)));
  for (let lim = 1; lim <= 64; lim++) assert.equal(large.prefix(lim), small.prefix(lim), `prefix(${lim})`);
  for (const lim of [1, 33, 63, 64]) {
    const a = createRng(41), b = createRng(41);
    for (let r = 0; r < 300; r++) assert.equal(large.sample(a, lim), small.sample(b, lim), `sample ${r} within ${lim}`);
  }
});

test('extend (a KV cache that grows its own K) samples exactly as a structure built on the whole matrix', () => {
  const n = 300, d = 5, k = skewedMatrix(createRng(42), n, d);
  for (const columnTrees of [false, true]) {
    // Steps cross capacity doublings and take both paths: single rows (point sets) and one large block (rebuild).
    const grown = SQAccess.fromMatrix(k.subarray(0, 3 * d), 3, d, { columnTrees });
    let at = 3;
    for (const to of [4, 5, 9, 16, 17, 40, 250, 251, 300]) {
      grown.extend(k.subarray(0, to * d), at, to);
      at = to;
    }
    const built = SQAccess.fromMatrix(k, n, d, { columnTrees });
    assert.equal(grown.n, n);
    for (let lim = 1; lim <= n; lim++) assert.equal(grown.frobenius2(lim), built.frobenius2(lim), `frobenius2(${lim})`);
    for (const lim of [1, 7, 128, 256, 300]) assert.deepEqual(rowDraws(grown, 43, lim), rowDraws(built, 43, lim), `draws within ${lim}`);
    if (columnTrees) {
      for (const t of [0, 4]) {
        assert.equal(grown.columnNorm2(t, 200), built.columnNorm2(t, 200));
        const a = createRng(44), b = createRng(44);
        for (let r = 0; r < 200; r++) assert.equal(grown.sampleInColumn(t, a, 257), built.sampleInColumn(t, b, 257));
      }
    }
  }
});

test('extend borrows the grown matrix (no copy of K) and keeps an earlier window exact', () => {
  const d = 3, k = skewedMatrix(createRng(45), 40, d);
  const sq = SQAccess.fromMatrix(k.subarray(0, 20 * d), 20, d);
  const before = rowDraws(sq, 46, 20), mass = sq.frobenius2(20);
  sq.extend(k, 20, 40);
  assert.equal(sq.entry(39, 2), k[39 * d + 2]);
  k[39 * d + 2] = 123;
  assert.equal(sq.entry(39, 2), 123, 'rows are read from the caller\'s array, not a copy');
  assert.deepEqual(rowDraws(sq, 46, 20), before, 'a window of the first 20 keys draws as before the extension');
  assert.equal(sq.frobenius2(20), mass);
  assert.throws(() => sq.extend(k, 41, 42), (e) => e instanceof QattnError && /extend from row 41/.test(e.message));
  assert.throws(() => sq.extend(k, 40, 41), (e) => e instanceof QattnError && /needs a matrix/.test(e.message));
});

test('a padding mask removes keys from a copy of the trees, never from the prepared structure', () => {
  const n = 100, d = 4, k = skewedMatrix(createRng(47), n, d);
  const sq = SQAccess.fromMatrix(k, n, d, { columnTrees: true });
  const before = rowDraws(sq, 48, n);
  const mask = new Float32Array(n).map((_, j) => (j % 3 === 0 ? -Infinity : 0.5));
  const { sq: masked, copiedRows } = maskedAccess(sq, { n, mask });
  assert.equal(copiedRows, n);
  const zeroed = k.slice();
  for (let j = 0; j < n; j += 3) zeroed.fill(0, j * d, (j + 1) * d);
  const rng = createRng(49);
  const counts = draw(40_000, n, () => masked.sampleRow(rng, n));
  for (let j = 0; j < n; j += 3) assert.equal(counts[j], 0, `masked key ${j} drawn`);
  assertFits(counts, rowProbs(zeroed, d, n), 'masked row sampling');
  assert.ok(Math.abs(masked.columnNorm2(1) - Array.from({ length: n }, (_, j) => zeroed[j * d + 1]! ** 2).reduce((a, b) => a + b, 0)) < 1e-9 * masked.columnNorm2(1));
  assert.deepEqual(rowDraws(sq, 48, n), before, 'the prepared structure is unchanged');
  assert.equal(maskedAccess(sq, { n, mask: new Float32Array(n).fill(-1) }).sq, sq, 'no −∞ entries: no copy');
  assert.equal(maskedAccess(sq, { n, mask: new Float32Array(3 * n).fill(-Infinity) }).copiedRows, 0, 'per-query masks enter the scores instead');
});

test('KeyMemo computes and counts each key once per query, and forgets between queries', () => {
  const memo = new KeyMemo();
  let calls = 0;
  memo.begin(0, (j) => (calls++, j * 2));
  assert.equal(memo.get(5) + memo.get(5) + memo.get(1_000_000_000), 2_000_000_020);
  assert.equal(memo.evaluations, 2);
  memo.begin(1, (j) => (calls++, j * 3));
  assert.equal(memo.get(5), 15, 'a new query computes its own value');
  assert.equal(memo.evaluations, 3);
  assert.equal(calls, 3);
});

test('misuse is a QattnError naming the problem', () => {
  const sq = SQAccess.fromMatrix(new Float32Array([1, 2, 3, 4]), 2, 2);
  assert.throws(() => sq.update(2, [0, 0]), (e) => e instanceof QattnError && /out of range/.test(e.message));
  assert.throws(() => sq.append([1]), (e) => e instanceof QattnError && /expected 2/.test(e.message));
  assert.throws(() => sq.columnNorm2(0), (e) => e instanceof QattnError && /column trees/.test(e.message));
  assert.throws(() => sq.update(0, [NaN, 0]), (e) => e instanceof QattnError && /NaN or Inf/.test(e.message));
});

test('whole-window draws from 4096 rows on use the alias table: ‖k_j‖²/‖K‖_F² (χ²), zero rows never drawn, grown = built, stale after a change', () => {
  const n = 5000, d = 4, k = skewedMatrix(createRng(60), n, d);
  for (let j = 0; j < n; j += 9) k.fill(0, j * d, (j + 1) * d); // zero rows: weight 0
  const sq = SQAccess.fromMatrix(k, n, d);
  const rng = createRng(61);
  const p = rowProbs(k, d, n);
  const counts = draw(400_000, n, () => sq.sampleRow(rng));
  assertFits(counts, p, 'alias draws');
  assert.ok(chiSquare(counts, new Float64Array(n).fill(1 / n)).stat > 1000, 'χ² must reject uniform');
  for (let j = 0; j < n; j += 9) assert.equal(counts[j], 0, `zero row ${j} drawn`);
  // A prefix window still uses the tree (and its distribution).
  assertFits(draw(100_000, 3000, () => sq.sampleRow(rng, 3000)), rowProbs(k, d, 3000), 'prefix draws');
  // Grown by extend (table rebuilt from the same leaves): the same draws from the same stream.
  const grown = SQAccess.fromMatrix(k.subarray(0, 4100 * d), 4100, d);
  grown.sampleRow(createRng(1)); // builds the table for 4100 rows, which the extension must drop
  grown.extend(k, 4100, n);
  assert.deepEqual(rowDraws(grown, 62, n), rowDraws(sq, 62, n));
  // A point update makes the table stale: row 1 with all the mass is the only row drawn.
  const heavy = SQAccess.fromMatrix(k.slice(), n, d);
  heavy.sampleRow(rng);
  heavy.update(1, [1e6, 0, 0, 0]);
  const r = draw(2000, n, () => heavy.sampleRow(rng));
  assert.ok(r[1]! > 1990, `row 1 drawn ${r[1]} of 2000 times after the update`);
});
