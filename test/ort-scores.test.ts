/**
 * The score product of kernels/ort/scores.ts: onnxruntime's Gemm logits equal the float64 logits within the
 * float32 rounding bound it states (float32LogitError), with −∞ exactly at causal-invisible and −∞-masked
 * keys; key blocks, the JS loop and the TopK graph agree with the whole product.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { logitsRow } from '../attention/math.ts';
import { float32LogitError, maxRowNorm, ortLogits, ortLogitsBlock, ortLogitsCannotRunReason, ortTopLogits, prepareOrtKeys, type OrtKeys } from '../attention/kernels/ort/scores.ts';
import { releaseSessions } from '../attention/kernels/ort/sessions.ts';
import { kvOf, queryOf } from '../attention/define.ts';
import type { AttentionInput } from '../attention/types.ts';
import { effectiveScale } from '../attention/validate.ts';
import { createRng } from '../core/rng.ts';
import { gaussianInput } from './helpers/workloads.ts';

after(releaseSessions);

const skipNoOrt = { skip: ortLogitsCannotRunReason() ?? false };

const norm = (x: Float32Array, o: number, d: number): number => Math.hypot(...x.subarray(o, o + d));

function maxKeyNorm(input: AttentionInput): number {
  let best = 0;
  for (let j = 0; j < input.n; j++) best = Math.max(best, norm(input.k, j * input.d, input.d));
  return best;
}

/** Every entry within the stated bound of the float64 logit; −∞ exactly where the float64 logit is −∞. */
function assertWithinRounding(input: AttentionInput, got: Float32Array, what: string): void {
  const { m, n, d } = input, kMax = maxKeyNorm(input), scale = effectiveScale(input);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    const ref = logitsRow(input, i);
    const { a, c } = float32LogitError(norm(input.q, i * d, d), d, scale, kMax);
    for (let j = 0; j < n; j++) {
      const x = got[i * n + j]!, r = ref[j]!;
      if (r === -Infinity) {
        assert.equal(x, -Infinity, `${what}: (${i}, ${j}) is invisible or masked, got ${x}`);
        continue;
      }
      const err = Math.abs(x - r);
      assert.ok(err <= a + c * Math.abs(r), `${what}: (${i}, ${j}) float32 ${x} vs float64 ${r}: error ${err} beyond the bound ${a + c * Math.abs(r)}`);
      // Not vacuous: the bound is a few float32 ulps of the logits' scale, not a loose tolerance.
      worst = Math.max(worst, err / (a + c * Math.abs(r)));
    }
  }
  assert.ok(worst > 0 && worst < 1, `${what}: worst error / bound = ${worst}`);
}

function cases(): [string, AttentionInput][] {
  const n = 90, m = 7;
  const row = new Float32Array(n).map((_, j) => (j % 6 === 1 ? -Infinity : j % 5 === 0 ? -3.5 : 0));
  const rng = createRng(33);
  const full = Float32Array.from({ length: m * n }, () => (rng.next() < 0.25 ? -Infinity : rng.next() < 0.1 ? -1e6 : rng.normal()));
  full.fill(-Infinity, 2 * n, 3 * n); // a fully masked row
  return [
    ['plain', gaussianInput({ m, n, d: 16, dv: 4, seed: 1 })],
    ['scale 0.3, qkScale 3', { ...gaussianInput({ m, n, d: 16, dv: 4, seed: 2, qkScale: 3 }), scale: 0.3 }],
    ['causal m < n', gaussianInput({ m, n, d: 16, dv: 4, seed: 3, causal: true })],
    ['causal m = n', gaussianInput({ m: 40, n: 40, d: 8, dv: 4, seed: 4, causal: true })],
    ['row mask', gaussianInput({ m, n, d: 16, dv: 4, seed: 5, mask: row })],
    ['m×n mask, causal', gaussianInput({ m, n, d: 16, dv: 4, seed: 6, mask: full, causal: true })],
    ['m = 1, d = 64', gaussianInput({ m: 1, n: 300, d: 64, dv: 4, seed: 7 })],
  ];
}

describe('ortLogits', () => {
  it('equals the float64 logits within float32 rounding, with −∞ at invisible and masked keys', skipNoOrt, async () => {
    for (const [what, input] of cases()) {
      const keys = await prepareOrtKeys(kvOf(input));
      assert.ok(keys.kTensor, 'onnxruntime is bound');
      const out = new Float32Array(input.m * input.n);
      const got = await ortLogits(keys, queryOf(input), out);
      assert.equal(got, out, 'writes into the given buffer');
      assertWithinRounding(input, got, what);
      // Key blocks (and their mask columns) give the same numbers as one product.
      assert.deepEqual(await ortLogits(keys, queryOf(input), undefined, 3 * input.m), got, `${what}: key blocks`);
    }
  });

  it('the JS loop (no onnxruntime) keeps the same contract', async () => {
    for (const [what, input] of cases()) {
      const keys: OrtKeys = { ...(await prepareOrtKeys(kvOf(input))), kTensor: null, plain: null, top: null };
      assertWithinRounding(input, await ortLogits(keys, queryOf(input)), `${what} (JS)`);
    }
  });

  it('ortLogitsBlock is the column range of the whole product', skipNoOrt, async () => {
    const [, input] = cases()[5]!; // m×n mask with −∞ and causal
    const keys = await prepareOrtKeys(kvOf(input));
    const whole = await ortLogits(keys, queryOf(input));
    const { m, n } = input;
    for (const [j0, w] of [[0, 1], [13, 40], [n - 9, 9]] as const) {
      const blk = await ortLogitsBlock(keys, queryOf(input), j0, w);
      for (let i = 0; i < m; i++) assert.deepEqual(blk.subarray(i * w, (i + 1) * w), whole.subarray(i * n + j0, i * n + j0 + w), `row ${i}, keys [${j0}, ${j0 + w})`);
    }
  });

  it('ortTopLogits returns each row\'s largest logits of a key range, descending, with their keys', skipNoOrt, async () => {
    const [, input] = cases()[4]!; // row mask with −∞
    const keys = await prepareOrtKeys(kvOf(input));
    const whole = await ortLogits(keys, queryOf(input));
    const { m, n } = input;
    const j0 = 10, w = 60, count = 12;
    const top = await ortTopLogits(keys, queryOf(input), j0, w, count);
    assert.equal(top.count, count);
    for (let i = 0; i < m; i++) {
      const vals = Array.from(top.values.subarray(i * count, (i + 1) * count));
      const expected = Array.from(whole.subarray(i * n + j0, i * n + j0 + w)).sort((x, y) => y - x).slice(0, count);
      assert.deepEqual(vals, expected, `row ${i}`);
      for (let t = 0; t < count; t++) {
        const j = top.indices[i * count + t]!;
        assert.ok(j >= j0 && j < j0 + w, `row ${i}: key ${j} outside the range`);
        assert.equal(whole[i * n + j], vals[t]);
      }
    }
    assert.equal((await ortTopLogits(keys, queryOf(input), 0, 5, 50)).count, 5, 'count is clamped to the range');
  });

  it('maxRowNorm bounds the largest key norm from above, tightly (and falls back to float64 past float32)', async () => {
    for (const [what, input] of cases()) {
      const exactMax = maxKeyNorm(input);
      const got = await maxRowNorm(input.k, input.n, input.d);
      assert.ok(got >= exactMax && got <= exactMax * (1 + 1e-5), `${what}: ${got} vs ${exactMax}`);
    }
    const huge = new Float32Array([3e19, 4e19, 1, 1]); // squared norm 2.5e39 overflows float32
    assert.equal(await maxRowNorm(huge, 2, 2), Math.sqrt(huge[0]! ** 2 + huge[1]! ** 2), 'the float64 norm, not ∞');
  });
});
