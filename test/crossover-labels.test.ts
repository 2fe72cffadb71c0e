/**
 * What the crossover chart, the report and the cost model say beside the break-even (issue 13): the
 * noiseless assumption of the physical profiles and why (finding 4), the GPU reference's other head dimension
 * (finding 2), and Babbush et al.'s generic break-even next to qattn's attention-specific one (item 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { crossoverAnalysis, NOISELESS_LINES } from '../bench/charts/crossover-analysis.ts';
import { crossoverSubtitle } from '../bench/charts/crossover.ts';
import { GPU_REFERENCE_DIM, loadGpuReference } from '../bench/charts/gpu-reference.ts';
import { buildReport } from '../bench/report.ts';
import { upgradeResults, type ResultsDoc } from '../bench/results.ts';
import { DEFAULT_BITS, getProfile, noisePerOracleCall, oracleCostModel, profileNames } from '../oracles/index.ts';

const sample = upgradeResults(JSON.parse(readFileSync(new URL('../results/sample/results.json', import.meta.url), 'utf8'))) as ResultsDoc;

test('the label is true: a 2^20-key grover-topk oracle call fails with probability ≈ 1 on every physical profile', () => {
  const model = oracleCostModel({ indexQubits: 20, payload: { kind: 'key', dim: 64, bits: DEFAULT_BITS }, excludeCount: 32 });
  for (const name of profileNames) {
    const p = noisePerOracleCall(getProfile(name), model);
    if (getProfile(name).surfaceCode) assert.ok(p < 0.01, `${name} is error-corrected: ${p}`);
    else assert.ok(p > 0.99, `${name}: ${p}`);
  }
});

test('the crossover chart and the report say the break-even assumes noiseless hardware', () => {
  const a = crossoverAnalysis(sample);
  assert.ok(a.method, 'the sample has grover-topk records');
  assert.ok(NOISELESS_LINES.every((l) => crossoverSubtitle(sample, a).includes(l)));
  assert.ok(buildReport(sample, []).includes('assume noiseless hardware'));
});

test('the crossover says when the GPU reference has another head dimension than the run (issue 13, finding 2)', () => {
  assert.ok(loadGpuReference().every((r) => r.d === null || r.d === GPU_REFERENCE_DIM), 'every GPU attention row is at the declared d');
  const a = crossoverAnalysis(sample);
  assert.equal(sample.meta.config.dim, 64);
  assert.ok(crossoverSubtitle(sample, a).some((line) => /GPU figures are at d = 128, this run at d = 64/.test(line)));
  const same = { ...sample, meta: { ...sample.meta, config: { ...sample.meta.config, dim: 128 } } };
  assert.ok(!crossoverSubtitle(same, crossoverAnalysis(same)).some((line) => /GPU figures are at d =/.test(line)));
});

test('the report puts Babbush et al.\'s generic break-even T* = t_Q²/t_C beside the attention-specific one', () => {
  const html = buildReport(sample, []);
  assert.match(html, /generic T\* = t_Q²\/t_C \(Babbush et al\. 2021\)/);
});
