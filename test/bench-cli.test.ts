import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLengths } from '../bench/lengths.ts';
import { timestampDir } from '../bench/output.ts';
import { latestRun } from '../bench/resume.ts';
import { BIN, runCli } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-bench-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const run = runCli;

test('--lengths takes numbers, 2^k and power-of-two ranges', () => {
  assert.deepEqual(parseLengths(['2^8..2^10', '100,2^4 4096'], 2 ** 24, 'decode'), [16, 100, 256, 512, 1024, 4096]);
  assert.deepEqual(parseLengths(['300..1100'], 2 ** 24, 'decode'), [512, 1024]);
  assert.throws(() => parseLengths(['2^25'], 2 ** 24, 'decode'), /above the decode limit of 2\^24/);
  assert.throws(() => parseLengths(['0'], 2 ** 24, 'decode'), /not a positive integer/);
  assert.throws(() => parseLengths(['3..3'], 2 ** 24, 'decode'), /holds no power of two/);
});

test('bad arguments exit 2 with one line naming the problem, before anything runs', async () => {
  const out = join(dir, 'never');
  const cases: Array<[string[], RegExp]> = [
    [['--mode', 'train'], /--mode must be decode or prefill/],
    [['--lengths', '2^30'], /above the decode limit/],
    [['--mode', 'prefill', '--lengths', '2^17'], /above the prefill limit/],
    [['--lengths', 'big'], /'big' is not a positive integer/],
    [['--methods', 'nope'], /unknown attention method 'nope'/],
    [['--workloads', 'uniform'], /unknown workload 'uniform'/],
    [['--opt', 'exact.nope=1'], /unknown option 'nope' for exact/],
    [['--opt', 'exact.path=warp'], /option path of exact must be/],
    [['--opt', 'zipf.alpha=2'], /not among the --methods or --workloads/],
    [['--opt', 'frob.x=1'], /unknown method or workload 'frob'/],
    [['--opt', 'novalue'], /--opt expects method.key=value/],
    [['--queries', '0'], /--queries must be in \[1, 65536\]/],
    [['--dim', '1.5'], /--dim must be an integer/],
    [['--budget-s', '0'], /--budget-s must be in \[0\.001, /],
    [['--budget-s', 'soon'], /--budget-s must be a number, got 'soon'/],
    [['--max-memory-gib=-2'], /--max-memory-gib must be in \[0\.01, /],
    [['--frobnicate'], /unknown flag '--frobnicate' for qattn bench/],
    [['--workloads', 'npy'], /npy workload needs its files/],
    [['--q', 'a.npy'], /needs all three of --q, --k and --v/],
    [['--npy', join(dir, 'missing')], /cannot read/],
  ];
  for (const [argv, message] of cases) {
    const r = await run('bench', ...argv, '--out', out);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.err.length, 1, `${argv.join(' ')}: ${r.err.join(' | ')}`);
    assert.match(r.err[0]!, /^qattn: /);
    assert.match(r.err[0]!, message, argv.join(' '));
    assert.deepEqual(r.out, []);
  }
});

test('an existing run directory is refused without --resume', async () => {
  const out = join(dir, 'taken');
  mkdirSync(out);
  writeFileSync(join(out, 'results.jsonl'), '');
  const r = await run('bench', '--methods', 'exact', '--lengths', '16', '--out', out);
  assert.equal(r.code, 2);
  assert.match(r.err[0]!, /already holds a run: pass --resume/);
});

test('the real binary exits 2 on a bad argument, printing one line', () => {
  const r = spawnSync(process.execPath, [BIN, 'bench', '--mode', 'sideways'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  assert.match(r.stderr, /^qattn: --mode must be decode or prefill, got 'sideways'/);
});

test('--help prints the usage', async () => {
  const r = await run('bench', '--help');
  assert.equal(r.code, 0);
  assert.match(r.out.join('\n'), /usage: qattn bench/);
});

test('default run directories sort by time, and a bare --resume picks the newest with a journal', () => {
  const root = join(dir, 'results');
  const a = timestampDir(root, new Date('2025-01-02T03:04:05.678Z'));
  const b = timestampDir(root, new Date('2025-01-02T03:05:00.000Z'));
  assert.equal(a, join(root, '2025-01-02T03-04-05Z'));
  assert.equal(latestRun(root), null);
  for (const d of [a, b]) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'results.jsonl'), '');
  }
  mkdirSync(timestampDir(root, new Date('2025-01-03T00:00:00Z')));
  assert.equal(latestRun(root), b, 'a directory without a journal is not a run to resume');
});
