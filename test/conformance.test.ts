/**
 * Registry-wide conformance: every mechanism in attention/registry.ts — registered now or later — is run
 * through runAttention (so validation and notSupportedReasons are exercised) on the same small workloads:
 * well-formed output, determinism under a seed, the exhaustive setting against the float64 reference within
 * the mechanism's declared tolerance, planted needles for selection methods, causal / masked inputs (handled
 * or refused with a reason) and named edge cases. Sizes stay small (n ≤ 300, d ≤ 16) so the suite is fast.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QattnError } from '../core/errors.ts';
import { relL2, selectionFidelity } from '../attention/fidelity.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { resolveOptions } from '../attention/options.ts';
import { allMechanisms } from '../attention/registry.ts';
import { attendPrepared, prepareAttention, runAttention } from '../attention/run.ts';
import { kvOf, queryOf } from '../attention/define.ts';
import type { RunResult } from '../attention/run.ts';
import type { AttentionInput, Mechanism, OptionValue } from '../attention/types.ts';
import { maskAt, visibleKeys } from '../attention/validate.ts';
import { copyInput, gaussianInput, plantedNeedleInput } from './helpers/workloads.ts';

type Given = Readonly<Record<string, OptionValue>>;

/** Shape, finiteness and (for selection methods) a valid selection: distinct, in range, visible, unmasked. */
function assertWellFormed(input: AttentionInput, res: RunResult): void {
  const { out, selected } = res.output;
  assert.equal(out.length, input.m * input.dv, 'output length m·dv');
  for (let t = 0; t < out.length; t++) assert.ok(Number.isFinite(out[t]), `output[${t}] = ${out[t]} is not finite`);
  if (!selected) return;
  assert.equal(selected.length, input.m, 'one selection per query');
  selected.forEach((sel, i) => {
    const vis = visibleKeys(input, i);
    assert.equal(new Set(sel).size, sel.length, `query ${i}: selection has duplicates`);
    for (const j of sel) {
      assert.ok(Number.isInteger(j) && j >= 0 && j < vis, `query ${i}: selected key ${j} outside [0, ${vis})`);
      assert.notEqual(maskAt(input, i, j), -Infinity, `query ${i}: selected masked key ${j}`);
    }
  });
}

/** Every cost field a mechanism fills is declared in costFields with how it combines over heads (attention/cost.ts). */
function assertCostsDeclared(mech: Mechanism, res: RunResult): void {
  const c = res.output.cost;
  const filled = [
    ...(['scoreEvaluations', 'oracleQueries', 'groverIterations', 'samples', 'selectedPerQuery'] as const).filter((f) => c[f] !== null && c[f] !== 0),
    ...Object.keys(c.extra).map((k) => `extra.${k}`),
  ];
  for (const f of filled) assert.ok(f in mech.costFields, `${mech.name} reports ${f} but costFields does not declare it (nor how heads combine it)`);
}

/**
 * Runs `given` on `input` if the mechanism supports it and returns the result; if it refuses, checks that the
 * refusal has non-empty reasons and that runAttention rejects with a QattnError, and returns null.
 */
async function runOrRefused(mech: Mechanism, input: AttentionInput, given: Given): Promise<RunResult | null> {
  const reasons = mech.notSupportedReasons(input, resolveOptions(mech, given));
  if (reasons.length > 0) {
    for (const r of reasons) assert.ok(r.trim().length > 0, 'a refusal reason is empty');
    await assert.rejects(runAttention(mech.name, input, given), QattnError);
    return null;
  }
  const res = await runAttention(mech.name, input, given);
  assertWellFormed(input, res);
  assertCostsDeclared(mech, res);
  return res;
}

/**
 * In the exhaustive setting the output must match the float64 reference within tolerance.relL2.
 * The default options must give a well-formed output too (selections inside causal windows, no masked key),
 * which is the only check for mechanisms without an exhaustive setting (exhaustiveOptions = null).
 */
async function checkAgainstReference(mech: Mechanism, input: AttentionInput): Promise<void> {
  await runOrRefused(mech, input, {});
  const ex = mech.exhaustiveOptions(input.n);
  if (!ex) return;
  const res = await runOrRefused(mech, input, ex);
  if (!res) return;
  const err = relL2(res.output.out, referenceAttention64(input));
  const tol = mech.tolerance;
  assert.equal(tol.kind, 'exhaustive', 'an exhaustive setting comes with an exhaustive tolerance');
  if (tol.kind === 'exhaustive') assert.ok(err <= tol.relL2, `relL2 ${err} > declared ${tol.relL2} with ${JSON.stringify(ex)}`);
}

function skipWithoutExhaustive(mech: Mechanism, t: TestContext): boolean {
  if (mech.exhaustiveOptions(8) !== null) return false;
  t.skip(`${mech.name} has no exhaustive setting (${mech.tolerance.note})`);
  return true;
}

const base = { m: 7, n: 50, d: 8, dv: 5 };

for (const mech of allMechanisms()) {
  // A mechanism whose optional dependency is missing here (e.g. gpu.js) is skipped, with the reason, not failed.
  describe(`conformance: ${mech.name}`, { skip: mech.unavailableReason?.() ?? false }, () => {
    it('declares consistent metadata', () => {
      assert.ok(mech.summary.length > 0 && mech.tolerance.note.length > 0);
      assert.doesNotThrow(() => resolveOptions(mech, {}), 'defaults must pass its own option validation');
      const ex = mech.exhaustiveOptions(50);
      if (ex) assert.doesNotThrow(() => resolveOptions(mech, ex), 'exhaustive options must be valid options');
    });

    it('gives a finite [m×dv] output on a plain Gaussian input (never refused)', async () => {
      const input = gaussianInput({ ...base, seed: 1 });
      assert.deepEqual(mech.notSupportedReasons(input, resolveOptions(mech, {})), []);
      assertWellFormed(input, await runAttention(mech.name, input));
    });

    it('is deterministic under a seed (same values → identical output, cost and selection)', async () => {
      const input = { ...gaussianInput({ ...base, seed: 2 }), seed: 7 };
      // Fresh copies, so a cache keyed on array identity (ann-topk's index) cannot make the runs differ.
      const a = (await runAttention(mech.name, copyInput(input))).output;
      const b = (await runAttention(mech.name, copyInput(input))).output;
      assert.deepEqual(b.out, a.out);
      assert.deepEqual(b.cost, a.cost);
      assert.deepEqual(b.selected, a.selected);
    });

    it('prepare once, attend many: each attend equals a one-call run, and attending leaves the cache as it was', async () => {
      const input = { ...gaussianInput({ ...base, seed: 13 }), seed: 5 };
      const other = gaussianInput({ ...base, seed: 14 });
      const { prepared } = await prepareAttention(mech.name, kvOf(input));
      const first = (await attendPrepared(prepared, queryOf(input))).output;
      const second = (await attendPrepared(prepared, queryOf({ ...input, q: other.q }))).output;
      const again = (await attendPrepared(prepared, queryOf(input))).output;
      const single = (await runAttention(mech.name, copyInput(input))).output;
      const singleOther = (await runAttention(mech.name, copyInput({ ...input, q: other.q }))).output;
      assert.deepEqual(first.out, single.out, 'prepared attend = one-call run');
      assert.deepEqual(second.out, singleOther.out, 'a second query set on the same cache = its own one-call run');
      assert.deepEqual(again.out, first.out, 'attending does not change the prepared cache');
      assert.deepEqual(again.cost, first.cost);
    });

    it('append equals preparing the concatenation (or says why it cannot append)', async () => {
      if (!mech.append) {
        assert.ok((mech.appendUnsupported ?? '').trim().length > 0, 'a mechanism without append says why');
        return;
      }
      const input = { ...gaussianInput({ m: 5, n: 48, d: 8, dv: 4, seed: 15 }), seed: 3 };
      const { d, dv } = input;
      const head = { ...kvOf(input), k: input.k.slice(0, 40 * d), v: input.v.slice(0, 40 * dv), n: 40 };
      let { prepared } = await prepareAttention(mech.name, head);
      prepared = await mech.append(prepared, input.k.slice(40 * d, 47 * d), input.v.slice(40 * dv, 47 * dv)); // 7 keys at once
      prepared = await mech.append(prepared, input.k.slice(47 * d), input.v.slice(47 * dv)); // then one, as in decode
      assert.equal(prepared.kv.n, 48);
      const grown = (await attendPrepared(prepared, queryOf(input))).output;
      const whole = (await runAttention(mech.name, copyInput(input))).output;
      assert.ok(relL2(grown.out, whole.out) <= 1e-6, `relL2 ${relL2(grown.out, whole.out)} between appended and whole-cache outputs`);
      assert.deepEqual(grown.selected, whole.selected);
    });

    it('matches the float64 reference in its exhaustive setting', async (t) => {
      if (skipWithoutExhaustive(mech, t)) return;
      await checkAgainstReference(mech, gaussianInput({ m: 9, n: 120, d: 16, dv: 6, seed: 3 }));
    });

    it('recovers planted needles (selection methods)', async (t) => {
      const { input, needles } = plantedNeedleInput({ m: 8, n: 200, d: 16, dv: 8, seed: 11 });
      const res = await runAttention(mech.name, input);
      const selected = res.output.selected;
      if (!selected) return t.skip(`${mech.name} is not a selection method (no selected keys)`);
      assertWellFormed(input, res);
      needles.forEach((mine, i) => {
        const sel = new Set(selected[i]);
        for (const j of mine) assert.ok(sel.has(j), `query ${i}: needle ${j} not selected`);
      });
      const { massRecall } = selectionFidelity(input, selected);
      assert.ok(massRecall > 0.99, `mass recall ${massRecall}`);
    });

    it('handles causal m = n (or refuses with a reason)', async () => {
      await checkAgainstReference(mech, gaussianInput({ m: 40, n: 40, d: 8, dv: 4, seed: 4, causal: true }));
    });

    it('handles causal m < n, bottom-right aligned (or refuses with a reason)', async () => {
      await checkAgainstReference(mech, gaussianInput({ m: 12, n: 70, d: 8, dv: 4, seed: 5, causal: true }));
    });

    it('handles a length-n −∞ padding mask (or refuses with a reason)', async () => {
      const mask = new Float32Array(60).map((_, j) => (j % 5 === 3 ? -Infinity : 0));
      await checkAgainstReference(mech, gaussianInput({ m: 6, n: 60, d: 8, dv: 4, seed: 6, mask }));
    });

    it('handles a per-query m×n mask with a fully masked row (or refuses with a reason)', async () => {
      const m = 4, n = 30;
      const mask = new Float32Array(m * n).map((_, t) => (t < n || t % 3 === 0 ? -Infinity : (t % 7) / 7));
      await checkAgainstReference(mech, gaussianInput({ m, n, d: 8, dv: 4, seed: 12, mask }));
    });

    describe('edge cases', () => {
      it('all scores equal (identical K rows)', async () => {
        const input = gaussianInput({ m: 5, n: 40, d: 8, dv: 4, seed: 7 });
        const k = input.k.slice();
        for (let j = 1; j < input.n; j++) k.copyWithin(j * input.d, 0, input.d);
        await checkAgainstReference(mech, { ...input, k });
      });

      it('n not a power of two', async () => {
        await checkAgainstReference(mech, gaussianInput({ m: 5, n: 37, d: 8, dv: 3, seed: 8 }));
      });

      it('k = n', async (t) => {
        if (!('k' in mech.options)) return t.skip(`${mech.name} has no k option`);
        const input = gaussianInput({ m: 5, n: 40, d: 8, dv: 3, seed: 9 });
        const res = await runOrRefused(mech, input, { k: input.n });
        assert.ok(res, 'k = n must be supported');
        for (const sel of res.output.selected ?? []) assert.ok(sel.length <= input.n);
      });

      it('n = 1', async () => {
        await checkAgainstReference(mech, gaussianInput({ m: 3, n: 1, d: 8, dv: 4, seed: 10 }));
      });

      it('m = 1 decode (causal: the single query sees every key)', async () => {
        await checkAgainstReference(mech, gaussianInput({ m: 1, n: 100, d: 8, dv: 4, seed: 11, causal: true }));
      });

      it('logits of ±1e4 produce no NaN', async () => {
        // q·k ~ N(0, d·σ⁴) and scale = 1/√d, so σ = 100 gives scaled logits with standard deviation 1e4.
        await checkAgainstReference(mech, gaussianInput({ m: 6, n: 50, d: 8, dv: 4, seed: 12, qkScale: 100 }));
      });
    });

    it('property: selection outputs are convex combinations of the selected V rows (0 if none)', async () => {
      const shapes = fc.record({
        m: fc.integer({ min: 1, max: 6 }), n: fc.integer({ min: 1, max: 40 }), d: fc.integer({ min: 1, max: 8 }),
        dv: fc.integer({ min: 1, max: 4 }), seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }), qkScale: fc.constantFrom(0.1, 1, 5),
      });
      await fc.assert(fc.asyncProperty(shapes, async (s) => {
        const input = { ...gaussianInput(s), seed: s.seed };
        const { out, selected } = (await runAttention(mech.name, input)).output;
        if (!selected) return; // dense methods are not claimed convex here
        selected.forEach((sel, i) => {
          for (let c = 0; c < input.dv; c++) {
            let lo = Infinity, hi = -Infinity;
            for (const j of sel) lo = Math.min(lo, input.v[j * input.dv + c]!), hi = Math.max(hi, input.v[j * input.dv + c]!);
            const o = out[i * input.dv + c]!;
            // An empty selection attends to nothing: the row is 0, as for a fully masked query.
            if (sel.length === 0) assert.ok(o === 0, `O[${i},${c}] = ${o} with an empty selection`);
            else assert.ok(o >= lo - 1e-5 && o <= hi + 1e-5, `O[${i},${c}] = ${o} outside [${lo}, ${hi}] of its selected V rows`);
          }
        });
      }), { numRuns: 25, seed: 42 });
    });
  });
}
