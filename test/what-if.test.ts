/**
 * The report's what-if panel (bench/what-if.ts, issue 13 item 7): the model the page runs reproduces the verdict
 * table at each profile's own settings, moves the right way when an assumption changes, and is inlined into
 * index.html as the one script its Content-Security-Policy allows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildReport } from '../bench/report.ts';
import type { ResultsDoc } from '../bench/results.ts';
import { verdictLines } from '../bench/verdict.ts';
import { defaultInputs, whatIf, whatIfData, whatIfText } from '../bench/what-if.ts';

const doc = JSON.parse(readFileSync(new URL('../results/sample/results.json', import.meta.url), 'utf8')) as ResultsDoc;
const data = whatIfData(doc)!;

test('at each profile\'s own settings the panel gives the verdict table\'s break-even (to its ¼ grid step), noiseless and noisy', () => {
  assert.ok(data, 'the sample has grover-topk records');
  const lines = verdictLines(doc);
  assert.ok(lines.length > 0);
  for (const l of lines) {
    const r = whatIf(data, { ...defaultInputs(data, l.profile, l.parallelism), qram: l.qram })!;
    const mine = l.noiseless ? r.breakEvenLog2 : r.noisyBreakEvenLog2;
    const what = `${l.profile} ${l.qram} S=${l.parallelism} ${l.noiseless ? 'noiseless' : 'noisy'}`;
    if (l.breakEvenN === null) {
      assert.equal(mine, null, what);
    } else {
      // The first grid point at or past the verdict's bisected n; the page's data carries 4 significant digits,
      // which may move a crossing that lies within 0.01 of a grid point to the next one.
      const even = Math.log2(l.breakEvenN);
      assert.ok(mine !== null && mine >= even - 0.01 && mine - even <= 0.25 + 0.01, `${what}: ${mine} vs ${even}`);
    }
    if (!l.noiseless) assert.ok(Math.abs(r.perCallError - l.perCallError) <= 0.05 * l.perCallError + 1e-12, `${what}: p/call ${r.perCallError} vs ${l.perCallError}`);
  }
});

test('the panel moves the right way: faster gates, a perfect device, more parallelism, a larger code distance', () => {
  const sc = defaultInputs(data, 'superconducting');
  const base = whatIf(data, sc)!;
  assert.ok(base.breakEvenLog2 !== null);
  const fast = whatIf(data, { ...sc, twoQubitSeconds: sc.twoQubitSeconds / 1000 })!;
  assert.ok(fast.breakEvenLog2! < base.breakEvenLog2!, `1000× faster gates: ${fast.breakEvenLog2} vs ${base.breakEvenLog2}`);
  assert.ok(base.perCallError > 0.5 && base.noisyBreakEvenLog2 === null, 'Willow-class errors: a call fails, no break-even');
  const perfect = whatIf(data, { ...sc, error: 0 })!;
  assert.equal(perfect.perCallError, 0);
  assert.equal(perfect.noisyBreakEvenLog2, perfect.breakEvenLog2, 'error 0: the noisy row is the noiseless one');
  const parallel = whatIf(data, { ...sc, parallelism: 1e6 })!;
  assert.ok(parallel.breakEvenLog2 === null || parallel.breakEvenLog2 > base.breakEvenLog2!);
  const ft = defaultInputs(data, 'fault-tolerant');
  const auto = whatIf(data, { ...ft, qram: 'bucket-brigade' })!;
  assert.ok(auto.distance !== null && auto.distance >= 3 && auto.distance % 2 === 1);
  const wide = whatIf(data, { ...ft, qram: 'bucket-brigade', distance: auto.distance! + 20 })!;
  assert.equal(wide.distance, auto.distance! + 20);
  assert.ok(wide.qpuSecondsAtReference > auto.qpuSecondsAtReference && wide.perCallError < auto.perCallError, 'a larger distance: slower cycles, fewer logical errors');
  assert.ok(whatIf(data, { ...ft, error: 0.02 })!.perCallError > 0.5, 'above threshold no distance helps');
  assert.match(whatIfText(data, sc, base), /^break-even n = 2\^\d+(\.\d+)? with noiseless hardware; with the error rate: never/);
  assert.match(whatIfText(data, { ...sc, qram: 'free' }, whatIf(data, { ...sc, qram: 'free' })), /free QRAM \(the most favourable assumption\)/);
});

test('index.html inlines the panel as its one executable script, allowed by its hash, with inert JSON data', () => {
  const html = buildReport(doc, []);
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 2);
  const json = scripts.find((m) => m[1]!.includes('application/json'))!;
  const code = scripts.find((m) => !m[1]!.includes('application/json'))!;
  assert.ok(!json[2]!.includes('<'), 'no < inside the data: nothing in it can close the element');
  assert.deepEqual(JSON.parse(json[2]!), JSON.parse(JSON.stringify(data)));
  const hash = createHash('sha256').update(code[2]!, 'utf8').digest('base64');
  assert.ok(html.includes(`script-src 'sha256-${hash}'`), 'the CSP allows exactly this script');
  assert.match(html, /<output id="wi-result"[^>]*>break-even n = /, 'the sentence is there before any script runs');
  // A run without quantum records has no panel and no script-src at all.
  const classical = { ...doc, records: doc.records.filter((r) => r.method !== 'grover-topk') };
  const plain = buildReport(classical, []);
  assert.ok(!/<script/.test(plain) && !plain.includes('script-src'));
});
