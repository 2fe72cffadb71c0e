/** attention/define.ts: the helpers behind every two-phase mechanism. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grownKv } from '../attention/define.ts';

test('grownKv: two appends from the same cache never overwrite each other (branching decode)', () => {
  const base = { k: Float32Array.from([1, 2]), v: Float32Array.from([3, 4]), n: 2, d: 1, dv: 1 };
  const a = grownKv(base, Float32Array.from([5]), Float32Array.from([6]));
  const a2 = grownKv(a, Float32Array.from([7]), Float32Array.from([8]));
  const b = grownKv(a, Float32Array.from([9]), Float32Array.from([10])); // a second branch from a
  assert.deepEqual([...a2.k], [1, 2, 5, 7]);
  assert.deepEqual([...b.k], [1, 2, 5, 9]);
  assert.deepEqual([...a2.v], [3, 4, 6, 8]);
  assert.deepEqual([...a.k], [1, 2, 5]);
});
