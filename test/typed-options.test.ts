/**
 * Options are declared once and their types derived (attention/define.ts): a misspelt option name, a value of
 * the wrong type or an enum value that was not declared is a compile error in a mechanism's code. The
 * `@ts-expect-error` lines below fail `tsc --noEmit` (part of `npm test`) the day that stops being true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineMechanism } from '../attention/define.ts';
import { resolveOptions } from '../attention/options.ts';
import { emptyCost, type OptionValues } from '../attention/types.ts';

const OPTIONS = {
  k: { type: 'int', default: 4, min: 1, max: 64, description: 'keys kept' },
  path: { type: 'enum', default: 'fast', values: ['fast', 'slow'], description: 'which path' },
  exact: { type: 'boolean', default: false, description: 'a flag' },
} as const;

test('declared options type every options argument of a mechanism', async () => {
  const seen: OptionValues<typeof OPTIONS>[] = [];
  const mech = defineMechanism({
    name: 'typed-fake', family: 'classical', summary: 'test double', costFields: { scoreEvaluations: 'sum' },
    tolerance: { kind: 'exhaustive', relL2: 0, note: 'test double', options: (n: number) => ({ k: n }) }, options: OPTIONS, budget: null,
    notSupportedReasons: (_input, o) => {
      // @ts-expect-error — 'kk' is not a declared option
      void o.kk;
      // @ts-expect-error — path is 'fast' | 'slow', never 'medium'
      if (o.path === 'medium') return ['unreachable'];
      return [];
    },
    prepare: (_kv, o) => {
      const k: number = o.k;
      // @ts-expect-error — exact is a boolean, not a number
      const wrong: number = o.exact;
      void wrong;
      return { state: { k } };
    },
    attend: async (p, query) => {
      seen.push(p.options);
      const state: { k: number } = p.state;
      return { out: new Float32Array(query.m * p.kv.dv).fill(state.k), cost: emptyCost() };
    },
  });
  void (() => defineMechanism({
    name: 'typed-fake-2', family: 'classical', summary: 'test double', costFields: {},
    // @ts-expect-error — exhaustive options are typed too: k is a number
    tolerance: { kind: 'exhaustive', relL2: 0, note: 'x', options: () => ({ k: 'all' }) },
    options: OPTIONS, notSupportedReasons: () => [], prepare: () => ({ state: 0 }),
    attend: async () => ({ out: new Float32Array(0), cost: emptyCost() }),
  }));
  void (() => defineMechanism({
    name: 'typed-fake-3', family: 'classical', summary: 'test double', costFields: {},
    // @ts-expect-error — a bound needs its exhaustive setting: kind 'exhaustive' without options
    tolerance: { kind: 'exhaustive', relL2: 0, note: 'x' },
    options: OPTIONS, notSupportedReasons: () => [], prepare: () => ({ state: 0 }),
    attend: async () => ({ out: new Float32Array(0), cost: emptyCost() }),
  }));
  void (() => defineMechanism({
    name: 'typed-fake-4', family: 'classical', summary: 'test double', costFields: {},
    // @ts-expect-error — 'none' declares no bound
    tolerance: { kind: 'none', relL2: 0.1, note: 'x' },
    options: OPTIONS, notSupportedReasons: () => [], prepare: () => ({ state: 0 }),
    attend: async () => ({ out: new Float32Array(0), cost: emptyCost() }),
  }));
  const options = resolveOptions(mech, { k: '7', path: 'slow' });
  const prepared = await mech.prepare({ k: new Float32Array(2), v: new Float32Array(2), n: 1, d: 2, dv: 2 }, options);
  const out = await mech.attendPrepared(prepared, { q: new Float32Array(2), m: 1 });
  assert.deepEqual([...out.out], [7, 7]);
  assert.deepEqual(seen[0], { k: 7, path: 'slow', exact: false });
});
