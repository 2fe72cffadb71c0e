import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mechanismNames } from '../attention/registry.ts';
import { buildConfig } from '../bench/config.ts';
import { cellKey } from '../bench/journal.ts';
import { upgradeResults, validateResults, type BenchRecord, type ResultsDoc } from '../bench/results.ts';
import { runBench } from '../bench/runner.ts';
import type { CliIo } from '../cli/args.ts';
import { benchCommand } from '../cli/bench.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-bench-results-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function quickRun(out: string): Promise<{ code: number; stdout: string[] }> {
  const stdout: string[] = [];
  const io: CliIo = { out: (t) => void stdout.push(t), err: () => undefined };
  const code = await benchCommand(['--quick', '--out', out, '--json', '--no-charts'], io);
  return { code, stdout };
}

const clone = (doc: ResultsDoc): Record<string, unknown> => JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;

test('a --quick run covers every mechanism, and results.json / .csv / .jsonl agree and validate', async () => {
  const out = join(dir, 'quick');
  const { code, stdout } = await quickRun(out);
  assert.equal(code, 0);
  const doc = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsDoc;
  assert.deepEqual(validateResults(doc), []);
  assert.deepEqual(JSON.parse(stdout.join('\n')), doc, '--json prints the same document');
  assert.deepEqual([...new Set(doc.records.map((r) => r.method))].sort(), [...mechanismNames].sort());
  const cfg = doc.meta.config;
  assert.equal(doc.records.length, cfg.methods.length * cfg.workloads.length * cfg.lengths.length);
  assert.ok(doc.records.every((r) => r.status !== 'ok' || r.fidelity.reference === 'float64'));
  assert.ok(doc.fits.length > 0, 'quick runs fit over all their lengths');
  const csvRows = readFileSync(join(out, 'results.csv'), 'utf8').trimEnd().split('\r\n');
  assert.equal(csvRows.length, doc.records.length + 1);
  const journal = readFileSync(join(out, 'results.jsonl'), 'utf8').trimEnd().split('\n');
  assert.deepEqual(new Set(journal.map((l) => cellKey(JSON.parse(l) as BenchRecord))), new Set(doc.records.map(cellKey)));
  // Query and prepare phases are timed and counted apart; every record says which reference scored it and its RSS.
  for (const r of doc.records) {
    assert.ok(r.rss && r.rss.peakBytes > 0, `${r.method} n=${r.n}: RSS recorded`);
    if (r.status !== 'ok') continue;
    assert.ok(r.prepare && r.prepare.timing.samples >= 1 && r.timing.samples >= 1);
    assert.equal(typeof r.prepare.cost.scoreEvaluations, 'number');
  }
  assert.ok(doc.fits.some((f) => f.metric === 'prepareTime') && doc.fits.some((f) => f.metric === 'time'));
  assert.ok(doc.meta.memoryLimitBytes! > 0);
  assert.ok(doc.meta.gitCommit === null || /^[0-9a-f]{40}$/.test(doc.meta.gitCommit));
  assert.ok(doc.meta.peakRssBytes! > 0 && doc.meta.cores >= 1);
  assert.deepEqual(doc.meta.argv, ['--quick', '--out', out, '--json', '--no-charts']);

  // The schema is a real contract: it rejects what the types forbid.
  const broken: Array<[string, (d: any) => void]> = [
    ['ok record without timing', (d) => { d.records.find((r: BenchRecord) => r.status === 'ok').timing = null; }],
    ['unknown record field', (d) => { d.records[0].extraField = 1; }],
    ['error without reason', (d) => { Object.assign(d.records[0], { status: 'error', reason: null, timing: null, cost: null, fidelity: null, modeledQpuSeconds: null, path: null }); }],
    ['bad status', (d) => { d.records[0].status = 'done'; }],
    ['meta without createdAt', (d) => { delete d.meta.createdAt; }],
    ['bad date', (d) => { d.meta.createdAt = 'yesterday'; }],
    ['ci95 of three numbers', (d) => { d.fits[0].ci95 = [0, 1, 2]; }],
    ['wrong schemaVersion', (d) => { d.schemaVersion = 4; }],
    ['ok record without its prepare phase field', (d) => { delete d.records.find((r: BenchRecord) => r.status === 'ok').prepare; }],
    ['prepare timing without samples', (d) => { d.records.find((r: BenchRecord) => r.status === 'ok').prepare.timing.samples = 0; }],
    ['prepare counts mixed into an unknown field', (d) => { d.records.find((r: BenchRecord) => r.status === 'ok').prepare.cost.hashEvaluations = 3; }],
    ['negative RSS', (d) => { d.records.find((r: BenchRecord) => r.status === 'ok').rss.peakBytes = -1; }],
    ['unknown fit metric', (d) => { d.fits[0].metric = 'wallTime'; }],
  ];
  for (const [what, mutate] of broken) {
    const d = clone(doc);
    mutate(d);
    assert.ok(validateResults(d).length > 0, what);
  }
});

test('the same seed gives identical fidelity and cost fields; another seed changes the data', async () => {
  const run = async (seed: number): Promise<BenchRecord[]> => {
    const { plan } = buildConfig({ quick: true, lengths: ['2^7', '2^8'], workloads: ['gaussian', 'needle'], seed });
    const store = new Map<string, BenchRecord>();
    return runBench(plan, { get: (k) => store.get(k), add: (r) => void store.set(cellKey(r), r) });
  };
  const strip = (rs: BenchRecord[]) => rs.map((r) => ({ key: cellKey(r), status: r.status, reason: r.reason, fidelity: r.fidelity, cost: r.cost, qpu: r.modeledQpuSeconds }));
  const a = await run(11), b = await run(11), c = await run(12);
  assert.ok(a.some((r) => r.status === 'ok'));
  assert.deepEqual(strip(a), strip(b));
  const exactRelL2 = (rs: BenchRecord[]) => rs.filter((r) => r.method === 'exact').map((r) => r.fidelity?.relL2);
  assert.notDeepEqual(exactRelL2(a), exactRelL2(c));
});

test('a schema-1 file (prepare not timed apart) and a schema-2 file (no variants) are read in the schema-3 shape; as they are they do not validate', async () => {
  const out = join(dir, 'v1');
  assert.equal((await quickRun(out)).code, 0);
  const doc = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsDoc;
  const { query } = doc.meta.config.timing;
  // What schema 1 wrote: no prepare or rss per record, a one-phase timing plan, no limits.
  const v1 = {
    ...doc, schemaVersion: 1,
    meta: (({ memoryLimitBytes: _m, ...meta }) => ({
      ...meta,
      config: (({ budgetS: _b, maxMemoryBytes: _x, budgets: _bs, ...c }) => ({
        ...c, timing: { budgetMs: query.budgetMs, minSamples: query.minSamples, singleSampleAboveMs: query.singleSampleAboveMs },
        referencePolicy: { maxFloat64Macs: 2 ** 32, maxCachedWeights: 2 ** 24, parallelMinMacs: 2 ** 26 },
      }))(meta.config),
    }))(doc.meta),
    records: doc.records.map(({ prepare: _p, rss: _r, variant: _v, budget: _bu, ...r }) => ({ ...r, fidelity: r.fidelity && (({ accuracy: _a, ...f }) => f)(r.fidelity) })),
    fits: doc.fits.map(({ variant: _v, ...f }) => f),
  };
  assert.ok(validateResults(v1).length > 0);
  const up = upgradeResults(v1) as ResultsDoc;
  assert.deepEqual(validateResults(up), []);
  assert.equal(up.schemaVersion, 3);
  assert.ok(up.records.every((r) => r.prepare === null && r.rss === null && r.variant === r.method && r.budget === null));
  assert.ok(up.records.every((r) => r.fidelity === null || r.fidelity.accuracy === null));
  assert.ok(up.fits.every((f) => f.variant === f.method));
  assert.equal(up.meta.config.budgetS, null);
  assert.equal(up.meta.config.budgets, null);
  const v2 = { ...JSON.parse(JSON.stringify(v1)), schemaVersion: 2, records: doc.records.map(({ variant: _v, budget: _bu, ...r }) => ({ ...r, fidelity: r.fidelity && (({ accuracy: _a, ...f }) => f)(r.fidelity) })),
    meta: { ...doc.meta, config: (({ budgets: _bs, ...c }) => c)(doc.meta.config) } };
  assert.ok(validateResults(v2).length > 0);
  assert.deepEqual(validateResults(upgradeResults(v2)), []);
  assert.equal(upgradeResults(doc), doc, 'a schema-3 file is returned as it is');
});
