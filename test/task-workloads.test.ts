/**
 * The task workloads (bench/workloads/tasks.ts) and their scoring on cases with a known answer: exact attention
 * answers every query; an output equal to the answer is correct and one equal to a rival (a distractor's value,
 * a mean missing one needle) is not; aggregation's relative tolerance is a sharp line; top-k with k far below the
 * matching keys fails aggregation while exact attention passes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAttention } from '../attention/run.ts';
import { QattnError } from '../core/errors.ts';
import { getWorkload, resolveWorkloadParams } from '../bench/workloads/index.ts';
import { correct, taskAccuracy } from '../bench/workloads/tasks.ts';
import type { WorkloadInput } from '../bench/workloads/types.ts';

const TASKS = ['single-key', 'multi-key', 'multi-value', 'aggregation'] as const;

function generate(name: string, n: number, params: Record<string, string> = {}): WorkloadInput {
  const w = getWorkload(name);
  return w.generate({ mode: 'decode', n, m: 16, d: 64, causal: false, seed: 3 }, resolveWorkloadParams(w, params));
}

for (const name of TASKS) {
  test(`${name}: exact attention answers every query; the answer itself is correct; generation is seeded`, async () => {
    const input = generate(name, 4096);
    assert.ok(input.task && input.task.answers.length === 16);
    const { output } = await runAttention('exact', { ...input, seed: 0 });
    assert.equal(taskAccuracy(input.task, output.out, 64), 1, `${name}: exact attention`);
    const perfect = new Float32Array(16 * 64);
    input.task.answers.forEach((a, i) => perfect.set(a, i * 64));
    assert.equal(taskAccuracy(input.task, perfect, 64), 1);
    assert.deepEqual(generate(name, 4096).q, input.q, 'same request, same queries');
  });
}

test('nearest-answer tasks: an output equal to a rival is wrong (a distractor\'s value; a mean missing one needle)', () => {
  for (const name of ['single-key', 'multi-key', 'multi-value']) {
    const { task } = generate(name, 4096);
    for (let i = 0; i < 16; i++) {
      assert.equal(correct(task!, i, task!.rivals![i]![0]!), false, `${name} query ${i}`);
      assert.equal(correct(task!, i, task!.answers[i]!), true);
    }
  }
  const mv = generate('multi-value', 4096, { needles: '4' }).task!;
  assert.equal(mv.rivals![0]!.length, 4, 'one rival per needle left out');
  const mk = generate('multi-key', 4096, { distractors: '8' }).task!;
  assert.equal(mk.rivals![0]!.length, 8 + 63, 'its 8 distractors and the other 63 needles');
});

test('aggregation: correct exactly within the stated relative error; top-8 of 128 matching keys fails where exact passes', async () => {
  const input = generate('aggregation', 4096, { tolerance: '0.1' });
  const task = input.task!;
  const a = task.answers[0]!;
  const scaled = (f: number): Float32Array => a.map((x) => x * f);
  assert.equal(correct(task, 0, scaled(1.09)), true);
  assert.equal(correct(task, 0, scaled(1.11)), false);
  const top = await runAttention('topk-exact', { ...input, seed: 0 }, { k: 8 });
  const exact = await runAttention('exact', { ...input, seed: 0 });
  assert.equal(taskAccuracy(task, exact.output.out, 64), 1);
  assert.equal(taskAccuracy(task, top.output.out, 64), 0, 'the mean of 8 of 128 noisy values misses by ≈ 1/√8 of its norm');
});

test('tasks refuse what they cannot answer: causal masks and too-short contexts', () => {
  const w = getWorkload('single-key');
  assert.throws(() => w.generate({ mode: 'decode', n: 4096, m: 16, d: 64, causal: true, seed: 0 }, resolveWorkloadParams(w)), (e: unknown) => e instanceof QattnError && /non-causal/.test(e.message));
  const mk = getWorkload('multi-key');
  assert.throws(() => mk.generate({ mode: 'decode', n: 512, m: 16, d: 64, causal: false, seed: 0 }, resolveWorkloadParams(mk)), (e: unknown) => e instanceof QattnError && /more than half of n=512/.test(e.message));
});
