/**
 * Every mechanism's budget mapping (BudgetSpec, `qattn bench --budget`), for every registered mechanism: the
 * options it sets are valid at every budget and length a run may ask for, and a run at budget B spends what the
 * mapping says it does — the cost field it names reads min(B, n) per query (within its declared slack).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions } from '../attention/options.ts';
import { allMechanisms } from '../attention/registry.ts';
import { runAttention } from '../attention/run.ts';
import { gaussianInput } from './helpers/workloads.ts';

const N = 2048, M = 4;

for (const mech of allMechanisms()) {
  describe(`budget: ${mech.name}`, { skip: mech.unavailableReason?.() ?? false }, () => {
    if (!mech.budget) {
      test('has no budget knob: it attends every key', () => {
        assert.ok(['exact', 'exact-gpujs'].includes(mech.name), `${mech.name} declares no budget: only exact attention may`);
      });
      return;
    }
    const spec = mech.budget;
    test('the options it sets are valid for budgets 1 … 2^24 at n = 2^6 … 2^24', () => {
      const base = resolveOptions(mech);
      for (let b = 1; b <= 2 ** 24; b *= 4) {
        for (let n = 2 ** 6; n <= 2 ** 24; n *= 4) {
          const set = spec.options(b, n, base);
          assert.ok(Object.keys(set).length > 0, 'a budget sets at least one option');
          resolveOptions(mech, { ...base, ...set });
        }
      }
    });
    test('a run at budget B spends min(B, n) per query, as its cost counts report', async () => {
      const input = { ...gaussianInput({ m: M, n: N, d: 16, dv: 16, seed: 7 }), seed: 7 };
      for (const b of [8, 64, 512]) {
        const options = resolveOptions(mech, { ...resolveOptions(mech), ...spec.options(b, N, resolveOptions(mech)) });
        const { output } = await runAttention(mech.name, input, options);
        const spent = spec.spent(output.cost, M);
        const want = Math.min(b, N);
        assert.ok(spent <= want * spec.slack + 1e-9 && spent >= want / spec.slack - 1e-9,
          `${mech.name} at budget ${b}: spent ${spent} per query, want ${want} within ×${spec.slack} (${spec.counts})`);
      }
    });
  });
}
