import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import { writeNpy } from '../io/npy.ts';
import { GROVER_USAGE, groverCommand, groverProgress } from '../cli/grover.ts';
import { BIN, runCli } from './helpers/cli.ts';
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
    await assert.rejects(run(['--scores', path, '--algorithm', 'max']), /contains NaN at flat index 1/);
    const ok = join(dir, 'ok.npy');
    writeNpy(ok, { dtype: 'float64', shape: [3], data: new Float64Array([1, 3, 2]) });
    await assert.rejects(run(['--scores', ok, '--algorithm', 'topk', '--k', '4']), /k = 4 exceeds/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The real bin: exit code, stdout and stderr as text. */
function bin(...argv: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('qattn grover --scores refuses every non-finite score (NaN, +Inf, -Inf) with one qattn: line, exit 2 (D12)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qattn-grover-'));
  try {
    const cases: Array<[string, number, string, string[]]> = [
      ['nan', NaN, 'NaN', ['--algorithm', 'max']],
      ['pinf', Infinity, 'Inf', ['--algorithm', 'max']],
      ['pinf-threshold', Infinity, 'Inf', ['--threshold', '0', '--algorithm', 'known']],
      ['ninf', -Infinity, '-Inf', ['--algorithm', 'topk', '--k', '1']],
    ];
    for (const [name, bad, word, flags] of cases) {
      const path = join(dir, `${name}.npy`);
      writeNpy(path, { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, bad, 3]) });
      const r = bin('grover', '--scores', path, ...flags);
      assert.equal(r.code, 2, `${name}: ${r.err}`);
      assert.equal(r.out, '', name);
      const lines = r.err.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: one line, got ${r.err}`);
      assert.equal(lines[0], `qattn: --scores ${path} contains ${word} at flat index 2 (scores must be finite)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qattn grover progress: nothing for a quick search; throttled "run r/R" lines with elapsed and remaining time', () => {
  let t = 0;
  const lines: string[] = [];
  const io = { out: () => {}, err: (s: string) => void lines.push(s) };
  const quick = groverProgress(io, 'statevector', 1024, 3, () => t);
  for (let i = 1; i <= 3; i++) { t += 100; quick(i, 3); }
  assert.deepEqual(lines, [], 'a 0.3 s search prints nothing');
  t = 0;
  const slow = groverProgress(io, 'analytic', 1024, 4, () => t);
  t = 2000; slow(1, 4); // 2 s for run 1: a line, no estimate yet (run 1 carries the one-time work)
  t = 2100; slow(2, 4); // 0.1 s later: throttled
  t = 5000; slow(3, 4); // 1.5 s per run since the last line: ~2 s for the one left
  t = 5100; slow(4, 4); // the last run always closes a progress sequence
  assert.deepEqual(lines, [
    'qattn grover: run 1/4 done, 2.0 s elapsed',
    'qattn grover: run 3/4 done, 5.0 s elapsed, ~2 s left',
    'qattn grover: run 4/4 done, 5.1 s elapsed',
  ]);
  lines.length = 0;
  groverProgress(io, 'statevector', 2 ** 26, 100, () => 0);
  assert.match(lines.join('\n'), /^qattn grover: 100 runs on the statevector backend over 2\^26 amplitudes; a run may take minutes/);
  lines.length = 0;
  groverProgress(io, 'analytic', 2 ** 26, 100, () => 0);
  assert.deepEqual(lines, [], 'the analytic backend is never slow per run');
});

test('qattn grover through the bin: a long run reports progress on stderr while --json stdout stays one JSON document', () => {
  const r = bin('grover', '--n', String(2 ** 20), '--marked', '1', '--backend', 'statevector', '--runs', '2', '--json');
  assert.equal(r.code, 0, r.err);
  const out = r.out.trim().split('\n');
  assert.equal(out.length, 1, 'one JSON line on stdout');
  const report = JSON.parse(out[0]!) as { wallSeconds: number; runs: number };
  assert.equal(report.runs, 2);
  const err = r.err.trim() === '' ? [] : r.err.trim().split('\n');
  for (const line of err) assert.match(line, /^qattn grover: run [12]\/2 done, \d+\.\d s elapsed/);
  // The first run alone takes about 1.5 s here (2^20 amplitudes × 804 iterations); a faster machine may
  // not need a progress line, so require one only when the search was that slow.
  if (report.wallSeconds >= 1.5) assert.ok(err.length >= 1, `a ${report.wallSeconds} s search printed no progress`);
});

test('qattn grover --help: every flag, all three backends, seed default 0 and a legend of the table columns', async () => {
  const { code, out } = await run(['--help']);
  assert.equal(code, 0);
  assert.equal(out.trim(), GROVER_USAGE);
  for (const flag of ['--n', '--marked', '--scores', '--threshold', '--algorithm', '--k', '--backend', '--noise', '--hardware', '--runs', '--seed', '--json']) {
    assert.match(out, new RegExp(`^  ${flag} `, 'm'), `no help line for ${flag}`);
  }
  const backendLine = out.split('\n').find((l) => l.startsWith('  --backend'))!;
  for (const b of ['analytic', 'statevector', 'gpujs']) assert.ok(backendLine.includes(b), `--backend line omits ${b}`);
  assert.match(out, /--seed S +seed \(default 0\)/);
  const legend = out.slice(out.indexOf('The table'));
  assert.ok(legend.length < out.length, 'a legend of the table columns');
  for (const col of ['QPU s', 'QRAM s', 'arith s', 'diffuse s', 'measure s', 'qubits', 'fits', 'p/call', 'classical∥ s']) {
    // A label in the first column (`  QPU s            …`) or after a `;  ` (two short entries on one line).
    assert.ok(legend.split('\n').some((l) => l.slice(0, 19).includes(col) || l.includes(`;  ${col}  `)), `no legend line for ${col}`);
  }
  assert.match(out, /1\.000 means fully depolarized/);
  // The table itself carries a short legend too.
  const table = await run(['--n', '64', '--marked', '1', '--runs', '2']);
  assert.match(table.out, /p\/call: depolarizing probability per oracle call .*1\.000 = fully depolarized/);
  assert.match(table.out, /classical∥ s: the same task on N' classical processors/);
});

test('qattn grover: --seed defaults to 0, like every other command', async () => {
  const r = await json(['--n', '64', '--marked', '2', '--runs', '3']);
  assert.equal(r.seed, 0);
  assert.deepEqual(r, { ...(await json(['--n', '64', '--marked', '2', '--runs', '3', '--seed', '0'])), wallSeconds: r.wallSeconds });
});

test('qattn --version, -V and version print the version from package.json', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.match(version, /^\d+\.\d+\.\d+/);
  for (const flag of ['--version', '-V', 'version']) {
    const r = await runCli(flag);
    assert.equal(r.code, 0, flag);
    assert.deepEqual(r.out, [version], flag);
    assert.deepEqual(r.err, [], flag);
  }
  const b = bin('--version');
  assert.equal(b.code, 0);
  assert.equal(b.out, `${version}\n`);
  assert.equal(b.err, '');
  const extra = await runCli('--version', 'x');
  assert.equal(extra.code, 2);
  assert.match(extra.err[0]!, /^qattn: --version takes no arguments/);
  assert.match((await runCli('--help')).out.join('\n'), /qattn --version/);
});
