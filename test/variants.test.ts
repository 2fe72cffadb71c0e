/**
 * Configured variants (bench/variants.ts): `--opt` lists, `--variants` files and `--budget` sweeps become labelled
 * MethodPlans; their records, CSV, fits and every chart key on the label — end to end, a results file with two
 * variants of one mechanism renders every chart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getMechanism } from '../attention/registry.ts';
import { QattnError } from '../core/errors.ts';
import { buildConfig } from '../bench/config.ts';
import { cellKey } from '../bench/journal.ts';
import { renderCharts } from '../bench/render.ts';
import { buildDoc } from '../bench/output.ts';
import type { BenchRecord } from '../bench/results.ts';
import { validateResults } from '../bench/results.ts';
import { runBench } from '../bench/runner.ts';
import { startMeta } from '../bench/meta.ts';
import { CHARTS } from '../bench/charts/index.ts';
import { optVariants, parseBudgets, readVariantsFile, variantLabel } from '../bench/variants.ts';
import { toCsv } from '../bench/csv.ts';

const userError = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: unknown) => e instanceof QattnError && re.test(e.message));

test('--opt lists: one labelled variant per value, their product for several lists, single values shared', () => {
  const grover = getMechanism('grover-topk');
  assert.deepEqual(optVariants(grover, { k: '8,32,128' }).map((v) => v.label), ['grover-topk[k=8]', 'grover-topk[k=32]', 'grover-topk[k=128]']);
  assert.deepEqual(optVariants(grover, { k: '32' }).map((v) => v.label), ['grover-topk'], 'one setting keeps the plain name');
  const lsh = optVariants(getMechanism('lsh'), { tables: '4,8', bits: '6,10', k: '16' });
  assert.deepEqual(lsh.map((v) => v.label), ['lsh[tables=4,bits=6]', 'lsh[tables=4,bits=10]', 'lsh[tables=8,bits=6]', 'lsh[tables=8,bits=10]']);
  assert.ok(lsh.every((v) => v.given['k'] === '16'));
  userError(() => optVariants(grover, { k: '8,,32' }), /an empty value in the list/);
  userError(() => optVariants(grover, { k: '8,8' }), /listed twice/);
  userError(() => optVariants(grover, { k: '8,0' }), /option k of grover-topk must be in \[1, /);
  assert.equal(variantLabel('x', []), 'x');
});

test('buildConfig: variants label the plan and the config record; labels must be unique', () => {
  const { plan, record } = buildConfig({ methods: ['exact', 'topk-exact'], opt: ['topk-exact.k=2,8'], workloads: ['gaussian'], lengths: ['2^6'], quick: true });
  assert.deepEqual(plan.methods.map((m) => m.variant), ['exact', 'topk-exact[k=2]', 'topk-exact[k=8]']);
  assert.deepEqual(plan.methods.map((m) => m.optionsAt(64)['k'] ?? null), [null, 2, 8]);
  assert.deepEqual(record.methods, ['exact', 'topk-exact[k=2]', 'topk-exact[k=8]']);
  assert.equal(record.budgets, null);
  userError(() => buildConfig({ methods: ['exact'], opt: ['needle.mass=0.9,0.99'], workloads: ['needle'] }), /must be a number/);
});

test('--variants FILE: configured variants under any labels, beside --methods; every mistake is one clear line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qattn-variants-'));
  try {
    const file = join(dir, 'v.json');
    writeFileSync(file, JSON.stringify([{ label: 'mips', method: 'lsh', options: { transform: 'simple', tables: 16 } }, { method: 'topk-exact', options: { k: 4 } }]));
    const specs = readVariantsFile(file);
    assert.deepEqual(specs.map((s) => s.label), ['mips', 'topk-exact[k=4]']);
    const only = buildConfig({ variants: file, workloads: ['gaussian'], lengths: ['2^6'], quick: true });
    assert.deepEqual(only.plan.methods.map((m) => m.variant), ['mips', 'topk-exact[k=4]'], 'without --methods only the variants run');
    const both = buildConfig({ variants: file, methods: ['exact'], workloads: ['gaussian'], lengths: ['2^6'], quick: true });
    assert.deepEqual(both.plan.methods.map((m) => m.variant), ['exact', 'mips', 'topk-exact[k=4]']);
    const bad = (content: string, re: RegExp): void => {
      writeFileSync(file, content);
      userError(() => readVariantsFile(file), re);
    };
    writeFileSync(file, JSON.stringify([{ label: 'magicpig', method: 'lsh', options: { bits: 10, tables: 150, mode: 'sample' }, budget: null }]));
    const swept = buildConfig({ variants: file, methods: ['topk-exact'], budget: ['16'], workloads: ['gaussian'], lengths: ['2^6'], quick: true });
    assert.deepEqual(swept.plan.methods.map((m) => [m.variant, m.budget]), [['topk-exact[budget=16]', 16], ['magicpig', null]], '"budget": null is run as it is');
    bad('[{"method": "lsh", "budget": 64}]', /"budget" may only be null/);
    bad('{', /not JSON/);
    bad('{}', /expected an array of/);
    bad('[{"method": "nope"}]', /entry 0: "method" must be one of/);
    bad('[{"method": "lsh", "options": {"tables": 0}}]', /entry 0: option tables of lsh must be in/);
    bad('[{"method": "lsh", "opts": {}}]', /unknown field opts/);
    bad('[{"method": "lsh", "label": ""}]', /"label" must be a non-empty one-line string/);
    writeFileSync(file, JSON.stringify([{ label: 'a', method: 'lsh' }, { label: 'a', method: 'exact' }]));
    userError(() => buildConfig({ variants: file, workloads: ['gaussian'], lengths: ['2^6'] }), /both labelled 'a'/);
    userError(() => readVariantsFile(join(dir, 'missing.json')), /cannot read it \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--budget: each mechanism\'s knob from each budget, exact once as the baseline; a knob given twice is refused', () => {
  assert.deepEqual(parseBudgets(['64,256', '1024']), [64, 256, 1024]);
  userError(() => parseBudgets(['64,0']), /integers in \[1, 2\^24\]/);
  userError(() => parseBudgets(['64,64']), /twice/);
  const { plan, record } = buildConfig({ methods: ['exact', 'topk-exact', 'lsh'], budget: ['16,64'], workloads: ['gaussian'], lengths: ['2^10', '2^12'], quick: true });
  assert.deepEqual(plan.methods.map((m) => m.variant), ['exact', 'topk-exact[budget=16]', 'topk-exact[budget=64]', 'lsh[budget=16]', 'lsh[budget=64]']);
  assert.deepEqual(record.budgets, [16, 64]);
  const lsh16 = plan.methods[3]!;
  // bits = round(log2(L·n/B)) with L = 8 tables: 9 at n = 2^10, 11 at 2^12.
  assert.deepEqual([lsh16.optionsAt(2 ** 10)['bits'], lsh16.optionsAt(2 ** 12)['bits'], lsh16.optionsAt(2 ** 12)['k']], [9, 11, 16]);
  userError(() => buildConfig({ methods: ['topk-exact'], opt: ['topk-exact.k=8'], budget: ['16'], workloads: ['gaussian'], lengths: ['2^6'] }), /--budget sets topk-exact's k .*: do not also give it/);
  userError(() => buildConfig({ methods: ['exact'], budget: ['16'], workloads: ['gaussian'], lengths: ['2^6'] }), /none of this run's methods has a budget knob/);
});

test('a run with variants of one mechanism and a budget sweep: records, CSV and fits keyed by variant; every chart renders', async () => {
  const { plan, record, fitMinN } = buildConfig({
    methods: ['exact', 'lsh'], opt: ['lsh.tables=4,8'], budget: ['4,16'], workloads: ['needle', 'single-key'], lengths: ['2^8', '2^9', '2^10'], queries: 4, dim: 16, quick: true,
  });
  const labels = ['exact', 'lsh[tables=4][budget=4]', 'lsh[tables=4][budget=16]', 'lsh[tables=8][budget=4]', 'lsh[tables=8][budget=16]'];
  assert.deepEqual(plan.methods.map((m) => m.variant), labels);
  const store = new Map<string, BenchRecord>();
  const records = await runBench(plan, { get: (k) => store.get(k), add: (r) => void store.set(cellKey(r), r) });
  assert.equal(records.length, 5 * 2 * 3);
  assert.ok(records.every((r) => r.status === 'ok'), records.filter((r) => r.status !== 'ok').map((r) => r.reason).join('; '));
  assert.deepEqual([...new Set(records.map((r) => r.variant))], labels);
  assert.deepEqual([...new Set(records.map((r) => r.budget))], [null, 4, 16]);
  assert.ok(records.filter((r) => r.workload === 'single-key').every((r) => r.fidelity?.accuracy !== null));
  assert.ok(records.filter((r) => r.workload === 'needle').every((r) => r.fidelity?.accuracy === null));
  const doc = buildDoc(startMeta(['bench'], plan.seed, record, 0, plan.limits.memoryLimitBytes), records, fitMinN);
  assert.deepEqual(validateResults(JSON.parse(JSON.stringify(doc))), []);
  const timeFits = doc.fits.filter((f) => f.metric === 'time' && f.workload === 'needle').map((f) => f.variant);
  assert.deepEqual(timeFits, labels);
  const csv = toCsv(records).split('\n');
  assert.ok(csv[0]!.split(',').includes('variant') && csv.some((l) => l.includes('lsh[tables=8][budget=16]')));
  const rendered = await renderCharts(doc, CHARTS);
  assert.deepEqual(rendered.map((c) => c.def.id), CHARTS.map((c) => c.id), 'with a budget sweep and a task workload every chart applies');
  assert.ok(rendered.every((c) => c.warnings.length === 0), rendered.flatMap((c) => c.warnings).join('; '));
  const timeSpec = JSON.stringify(CHARTS.find((c) => c.id === 'time-vs-n')!.build(doc));
  assert.ok(labels.every((l) => timeSpec.includes(l)), 'every variant is drawn as its own line');
  const pareto = JSON.stringify(CHARTS.find((c) => c.id === 'fidelity-vs-budget')!.build(doc));
  assert.ok(pareto.includes('"lsh[tables=4]"') && pareto.includes('"lsh[tables=8]"'), 'one budget curve per base variant');
  const accuracy = JSON.stringify(CHARTS.find((c) => c.id === 'accuracy-vs-n')!.build(doc));
  assert.ok(accuracy.includes('"single-key"') && !accuracy.includes('no task workload'));
});
