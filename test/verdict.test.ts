/**
 * `qattn verdict` (issue 13): the break-even table of a results file — every line with its fields, noiseless
 * and noisy side by side, the noiseless assumption in the text — and `qattn bench`'s short form of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { upgradeResults, type ResultsDoc } from '../bench/results.ts';
import { VERDICT_PARALLELISM, verdictLines, verdictShort } from '../bench/verdict.ts';
import { profileNames, qramModels } from '../oracles/index.ts';
import { runCli } from './helpers/cli.ts';

const SAMPLE = new URL('../results/sample/results.json', import.meta.url).pathname;
const sample = upgradeResults(JSON.parse(readFileSync(SAMPLE, 'utf8'))) as ResultsDoc;

test('qattn verdict --json on the committed sample: one line per profile × QRAM × S × noise, every field there', async () => {
  const r = await runCli('verdict', '--in', SAMPLE, '--json');
  assert.equal(r.code, 0, r.err.join('\n'));
  const lines = r.out.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, profileNames.length * qramModels.length * VERDICT_PARALLELISM.length * 2);
  assert.deepEqual([...new Set(lines.map((l) => l['qram']))].sort(), [...qramModels].sort());
  for (const l of lines) {
    for (const f of ['profile', 'qram', 'parallelism', 'noiseless', 'breakEvenN', 'neededOracleCallSeconds', 'modeledOracleCallSeconds']) assert.ok(f in l, `${f} missing`);
    assert.ok(l['breakEvenN'] === null || (typeof l['breakEvenN'] === 'number' && l['breakEvenN'] > 2 ** 20));
    assert.equal(typeof l['modeledOracleCallSeconds'], 'number');
  }
  assert.ok(lines.some((l) => l['noiseless'] === true) && lines.some((l) => l['noiseless'] === false));
  // More classical parallelism only pushes the break-even further out.
  for (const p of profileNames) {
    for (const q of qramModels) {
      const ns = lines.filter((l) => l['profile'] === p && l['qram'] === q && l['noiseless'] === true).map((l) => l['breakEvenN'] as number | null);
      for (let i = 1; i < ns.length; i++) assert.ok(ns[i] === null || (ns[i - 1] !== null && ns[i]! > ns[i - 1]!), `${p} ${q}: ${ns}`);
    }
    // The free QRAM is the most favourable: its break-even is the earliest ("never" counts as ∞).
    const at = (q: string): number => (lines.find((l) => l['profile'] === p && l['qram'] === q && l['parallelism'] === 1 && l['noiseless'] === true)!['breakEvenN'] as number | null) ?? Infinity;
    assert.ok(at('free') <= at('bucket-brigade') && at('free') <= at('qroam'), p);
    // QROAM reads the N keys with ~2√(N·b) Toffolis per call (Berry et al. 2019), so √N calls cost ∝ N, as the
    // scan does: the per-call cost comes from the cost model at each n (not a line in log n), and it never wins.
    assert.equal(at('qroam'), Infinity, `${p}: qroam`);
  }
});

test('the text names the noiseless assumption, and the noisy rows say why there is no break-even', async () => {
  const r = await runCli('verdict', '--in', SAMPLE);
  assert.equal(r.code, 0);
  const text = r.out.join('\n');
  assert.match(text, /assume noiseless hardware/);
  assert.match(text, /never \(p\/call 1\.00\)/);
  const noisy = verdictLines(sample).filter((l) => !l.noiseless);
  const physical = noisy.filter((l) => l.profile !== 'fault-tolerant');
  assert.ok(physical.every((l) => l.breakEvenN === null && /uniform sampling/.test(l.note)), 'p ≈ 1 on every physical profile at 2^20');
  const ft = noisy.filter((l) => l.profile === 'fault-tolerant');
  assert.ok(ft.length > 0 && ft.every((l) => l.perCallError < 0.01), 'the surface code corrects the fault-tolerant profile');
  assert.match(verdictShort(sample) ?? '', /^verdict \(break-even n .*superconducting 2\^\d+(\.\d)? noiseless, never with its noise/);
});

test('bad input is one line and exit 2', async () => {
  assert.equal((await runCli('verdict')).code, 2);
  const missing = await runCli('verdict', '--in', '/nonexistent/results.json');
  assert.equal(missing.code, 2);
  assert.match(missing.err.join('\n'), /^qattn: cannot read results file/);
});
