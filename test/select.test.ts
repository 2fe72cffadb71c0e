// TopKHeap (attention/select.ts): the k best (score, index) pairs, best first, ties to the lower index — checked
// against a full sort on random arrays with many ties and −∞ entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { topKByScore, TopKHeap } from '../attention/select.ts';

const reference = (scores: readonly number[], k: number): number[] =>
  scores.map((s, j) => [s, j] as const).filter(([s]) => s > -Infinity).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, j]) => j);

test('topKByScore equals a full sort (descending score, ties to the lower index, −∞ never kept)', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(-Infinity), fc.double({ min: -10, max: 10, noNaN: true })), { maxLength: 200 }),
    fc.integer({ min: 0, max: 64 }),
    (scores, k) => {
      assert.deepEqual([...topKByScore(scores, k)], reference(scores, k));
    },
  ), { numRuns: 400 });
});

test('TopKHeap.indices does not consume the heap', () => {
  const h = new TopKHeap(3);
  for (const [j, s] of [[0, 1], [1, 5], [2, 3], [3, 5], [4, -1]] as const) h.push(j, s);
  assert.deepEqual([...h.indices()], [1, 3, 2]);
  assert.deepEqual([...h.indices()], [1, 3, 2]);
  assert.equal(h.size, 3);
});
