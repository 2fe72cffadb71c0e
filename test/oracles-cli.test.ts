import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import { writeNpy } from '../io/npy.ts';
import { groverCommand } from '../cli/grover.ts';
import { groverSuccessProbability, profileNames } from '../oracles/index.ts';

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await groverCommand(argv, { out: (t) => void (out += `${t}\n`), err: () => {} });
  return { code, out };
}

async function json(argv: string[]): Promise<Record<string, unknown>> {
  const { code, out } = await run([...argv, '--json']);
  assert.equal(code, 0);
  assert.equal(out.trim().split('\n').length, 1, 'one JSON line');
  return JSON.parse(out) as Record<string, unknown>;
}

test('qattn grover --json (known): required fields, r and the backend success probability', async () => {
  for (const backend of ['analytic', 'statevector']) {
    const r = await json(['--n', '4096', '--marked', '16', '--backend', backend, '--runs', '20', '--seed', '3']);
    for (const k of ['algorithm', 'backend', 'n', 'marked', 'qubits', 'iterations', 'oracleCalls', 'successProbability', 'successRate', 'runs', 'qpuSeconds']) {
      assert.ok(k in r, `missing ${k}`);
    }
    assert.equal(r.algorithm, 'known');
    assert.equal(r.backend, backend);
    assert.equal(r.iterations, 12);
    assert.deepEqual(r.oracleCalls, { mean: 12, max: 12 });
    assert.ok(Math.abs((r.successProbability as number) - groverSuccessProbability(12, 16, 4096)) < 1e-12);
    assert.deepEqual(Object.keys(r.qpuSeconds as object).sort(), [...profileNames].sort());
  }
});

test('qattn grover: bbht, max and topk over a .npy of scores; human table without --json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qattn-grover-'));
  try {
    const path = join(dir, 's.npy');
    const data = normalArray(createRng(4), 500);
    writeNpy(path, { dtype: 'float32', shape: [5, 100], data });
    const bbht = await json(['--scores', path, '--threshold', '2', '--algorithm', 'bbht', '--runs', '30']);
    assert.equal(bbht.n, 500);
    assert.equal(bbht.marked, Array.from(data).filter((x) => x > 2).length);
    assert.equal(bbht.successRate, 1);
    const max = await json(['--scores', path, '--algorithm', 'max', '--runs', '30']);
    assert.ok((max.successRate as number) >= 0.5);
    const topk = await json(['--scores', path, '--algorithm', 'topk', '--k', '5', '--runs', '30', '--noise', '0.001']);
    assert.equal(topk.marked, 5);
    assert.ok((topk.successRate as number) >= 0.9);
    assert.equal((topk.noise as { p: number }).p, 0.001);
    const { out } = await run(['--scores', path, '--threshold', '1', '--algorithm', 'known', '--runs', '5']);
    assert.match(out, /grover known on analytic: N = 500/);
    assert.match(out, /trapped-ion/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qattn grover --hardware derives the noise from the profile', async () => {
  const r = await json(['--n', '16', '--marked', '1', '--hardware', 'superconducting', '--runs', '10']);
  const p = (r.noise as { p: number; source: string }).p;
  assert.ok(p > 0 && p <= 1);
  assert.match((r.noise as { source: string }).source, /superconducting/);
});

test('qattn grover: bad input is a QattnError naming the problem', async () => {
  const bad: Array<[string[], RegExp]> = [
    [['--n', '10', '--marked', '1', '--bogus'], /unknown flag '--bogus'/],
    [['--n', '10', '--marked', '11'], /--marked M = 11 exceeds --n N = 10/],
    [['--n', '0', '--marked', '0'], /--n must be in \[1/],
    [['--n', '10', '--marked', '1', '--backend', 'qiskit'], /valid: statevector, analytic or gpujs/],
    [['--n', '10', '--marked', '1', '--algorithm', 'shor'], /valid: known, bbht, max or topk/],
    [['--n', '134217728', '--marked', '1', '--backend', 'statevector'], /limit of 26 qubits/],
    [['--n', '10', '--marked', '1', '--noise', '0.1', '--hardware', 'superconducting'], /not both/],
    [['--n', '10', '--marked', '1', '--hardware', 'dwave'], /unknown hardware profile/],
    [['--n', '10', '--algorithm', 'topk', '--k', '2'], /needs --scores/],
    [['--n', '10'], /--marked M/],
    [['--n', '10', '--marked', '1', '--k', '2'], /only used by --algorithm topk/],
    [['--scores', '/nonexistent/s.npy', '--algorithm', 'max'], /nonexistent/],
  ];
  for (const [argv, re] of bad) await assert.rejects(run(argv), (e: unknown) => e instanceof QattnError && re.test(e.message), argv.join(' '));
});

test('qattn grover: k > N and NaN scores are QattnErrors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qattn-grover-'));
  try {
    const path = join(dir, 's.npy');
    writeNpy(path, { dtype: 'float64', shape: [3], data: new Float64Array([1, NaN, 2]) });
    await assert.rejects(run(['--scores', path, '--algorithm', 'max']), /NaN at index 1/);
    const ok = join(dir, 'ok.npy');
    writeNpy(ok, { dtype: 'float64', shape: [3], data: new Float64Array([1, 3, 2]) });
    await assert.rejects(run(['--scores', ok, '--algorithm', 'topk', '--k', '4']), /k = 4 exceeds/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
