/**
 * The defects D1–D14 of issue 11's bad-input and fault campaign, each through the real bin where it was a CLI
 * defect: one `qattn:` line on stderr, exit code 2, no stack trace, no file left behind or replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel } from '../onnx/index.ts';
import { gpt2Model } from '../infer/synthetic.ts';
import { readNpy, writeNpy } from '../io/npy.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { relL2 } from '../attention/fidelity.ts';
import { runAttention } from '../attention/run.ts';
import { getMechanism } from '../attention/registry.ts';
import type { AttentionInput } from '../attention/types.ts';
import { createRng, normalArray } from '../core/rng.ts';
import { QattnError } from '../core/errors.ts';
import { BIN } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-faults-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface BinRun { code: number | null; stdout: string; stderr: string }

function bin(argv: string[], opts: SpawnSyncOptions = {}): BinRun {
  const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', timeout: 60_000, ...opts });
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Exit 2 with exactly one stderr line `qattn: …` matching `re`, and no stack trace. */
function assertOneLine(r: BinRun, re: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one stderr line, got: ${r.stderr}`);
  assert.match(lines[0]!, /^qattn: /);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

const rng = createRng(3);
const [m, n, d] = [3, 16, 4];
const put = (name: string, shape: number[], data: Float32Array): string => {
  const p = join(dir, name);
  writeNpy(p, { dtype: 'float32', shape, data });
  return p;
};
const Q = put('q.npy', [m, d], normalArray(rng, m * d));
const K = put('k.npy', [n, d], normalArray(rng, n * d));
const V = put('v.npy', [n, d], normalArray(rng, n * d));
const attend = (out: string, ...more: string[]): string[] => ['attend', '--method', 'exact', '--q', Q, '--k', K, '--v', V, '--out', out, ...more];

const isRoot = process.getuid?.() === 0;
const linux = existsSync('/proc/self');

test('D1: a symlink, FIFO or device at --out is refused and left as it was', (t) => {
  const target = join(dir, 'target.npy');
  writeFileSync(target, 'precious');
  const link = join(dir, 'link.npy');
  symlinkSync(target, link);
  assertOneLine(bin(attend(link)), /it is a symbolic link.*give the real path/);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(target, 'utf8'), 'precious');

  const fifo = join(dir, 'fifo');
  try {
    execFileSync('mkfifo', [fifo]);
  } catch {
    t.diagnostic('mkfifo unavailable: FIFO case not run');
  }
  if (existsSync(fifo)) {
    assertOneLine(bin(attend(fifo)), /it is a FIFO/);
    assert.ok(lstatSync(fifo).isFIFO());
  }
  // A device node of our own (never /dev/full itself: a regression would replace the machine's node).
  const dev = join(dir, 'full');
  if (isRoot) {
    try { execFileSync('mknod', [dev, 'c', '1', '7']); } catch { t.diagnostic('mknod refused: device case not run'); }
  }
  if (existsSync(dev)) {
    assertOneLine(bin(attend(dev)), /it is a character device/);
    assert.ok(lstatSync(dev).isCharacterDevice());
  }
  // A regular file is replaced, atomically, as before.
  const plain = join(dir, 'plain.npy');
  writeFileSync(plain, 'old');
  assert.equal(bin(attend(plain)).code, 0);
  assert.deepEqual(readNpy(plain).shape, [m, d]);
});

/** A small finished bench run in `out` (exact and topk-exact, 2 lengths). */
function benchRun(out: string, ...more: string[]): BinRun {
  return bin(['bench', '--methods', 'exact,topk-exact', '--lengths', '16,32', '--queries', '2', '--dim', '4', '--quick', '--no-charts', '--out', out, ...more]);
}

/** Snapshot of every file of a run directory, to check that a refused --resume changed nothing. */
const snapshot = (p: string): Record<string, string> => Object.fromEntries(readdirSync(p).map((f) => [f, readFileSync(join(p, f), 'utf8')]));

/** Marks a finished run as interrupted (what a kill -9 before the last cell leaves: finishedAt null). */
function unfinish(out: string): void {
  const json = join(out, 'results.json');
  const doc = JSON.parse(readFileSync(json, 'utf8')) as { meta: { finishedAt: string | null } };
  doc.meta.finishedAt = null;
  writeFileSync(json, JSON.stringify(doc));
}

test('D2: --resume refuses flags that differ from the recorded run, and never rewrites a finished one', () => {
  const out = join(dir, 'run');
  assert.equal(benchRun(out).code, 0);
  const finished = snapshot(out);
  assertOneLine(benchRun(out, '--resume'), /is a finished run .*nothing to resume/);
  assert.deepEqual(snapshot(out), finished);

  unfinish(out);
  const before = snapshot(out);
  assertOneLine(benchRun(out, '--resume', '--seed', '5'), /flags differ .*seed: recorded 0, given 5.*recorded command: qattn bench/);
  assertOneLine(bin(['bench', '--methods', 'exact', '--lengths', '16,32', '--queries', '2', '--dim', '4', '--quick', '--no-charts', '--out', out, '--resume']), /methods: recorded exact,topk-exact, given exact/);
  assertOneLine(benchRun(out, '--resume', '--opt', 'topk-exact.k=2'), /journaled cell\(s\) .* are not in this run's plan/);
  assert.deepEqual(snapshot(out), before, 'a refused --resume changes nothing');
  // The same flags resume (nothing left to run here, so it just completes the run).
  assert.equal(benchRun(out, '--resume').code, 0);
});

test('D2: a bare --resume never picks a committed or finished run such as results/sample', () => {
  const cwd = join(dir, 'clone');
  mkdirSync(join(cwd, 'results'), { recursive: true });
  cpSync(new URL('../results/sample', import.meta.url), join(cwd, 'results', 'sample'), { recursive: true });
  const before = snapshot(join(cwd, 'results', 'sample'));
  assertOneLine(bin(['bench', '--resume', '--quick', '--no-charts'], { cwd }), /no unfinished run under results\//);
  assert.deepEqual(snapshot(join(cwd, 'results', 'sample')), before);
});

test('D3: --resume with nothing to resume is refused, and creates nothing', () => {
  const out = join(dir, 'nothing-here');
  assertOneLine(benchRun(out, '--resume'), /holds no interrupted run .*drop --resume/);
  assert.equal(existsSync(out), false);
});

test('D4/D5: an output folder under /proc is refused at once (bench, chart, report, infer --capture)', (t) => {
  if (!linux) return t.skip('no /proc here');
  const model = join(dir, 'gpt2.onnx'), ids = join(dir, 'ids.npy');
  writeFileSync(model, encodeModel(gpt2Model()));
  writeNpy(ids, { dtype: 'int64', shape: [1, 4], data: BigInt64Array.from([1n, 2n, 3n, 4n]) });
  const results = new URL('../results/sample/results.json', import.meta.url).pathname;
  const bad = '/proc/qattn-no-such/out';
  const opts = { timeout: 30_000 };
  assertOneLine(bin(['bench', '--methods', 'exact', '--lengths', '16', '--quick', '--out', bad], opts), /cannot create output directory .*\/proc does not allow creating directories/);
  assertOneLine(bin(['chart', '--in', results, '--out', bad], opts), /cannot create output directory/);
  assertOneLine(bin(['report', '--in', results, '--out', bad], opts), /cannot create output directory/);
  assertOneLine(bin(['infer', '--model', model, '--feed', `input_ids=${ids}`, '--capture', bad], opts), /cannot create capture directory/);
  // D5: a capture folder below a regular file.
  assertOneLine(bin(['infer', '--model', model, '--feed', `input_ids=${ids}`, '--capture', join(Q, 'sub')], opts), /cannot create capture directory .* is not a directory/);
});

/** Q and K finite but near 1e20, so float32 scores overflow (|q·k| ~ 1e40). */
function hugeInput(): AttentionInput {
  const r = createRng(11);
  const big = (len: number): Float32Array => normalArray(r, len).map((x) => x * 1e20);
  return { q: big(2 * 4), k: big(8 * 4), v: normalArray(r, 8 * 4), m: 2, n: 8, d: 4, dv: 4 };
}

test('D6: exact never returns NaN for finite inputs whose float32 scores overflow', async (t) => {
  const input = hugeInput();
  const ref = referenceAttention64(input);
  const r = await runAttention('exact', input);
  assert.ok(r.output.out.every(Number.isFinite));
  assert.ok(relL2(r.output.out, ref) < 1e-5, `relL2 ${relL2(r.output.out, ref)}`);
  assert.match(r.output.path ?? '', /streaming/);
  await assert.rejects(runAttention('exact', input, { path: 'ort' }), (e: unknown) => e instanceof QattnError && /float32 scores overflowed/.test(e.message));
  const gpujs = getMechanism('exact-gpujs');
  const unavailable = gpujs.unavailableReason?.();
  if (unavailable) return t.diagnostic(`exact-gpujs not checked: ${unavailable}`);
  await assert.rejects(runAttention('exact-gpujs', input), (e: unknown) => e instanceof QattnError && /overflow float32/.test(e.message));
});

test('D6: through the bin, a huge-but-finite input gives a right O.npy, never an all-NaN one', () => {
  const h = hugeInput();
  const q = put('hq.npy', [h.m, h.d], h.q), k = put('hk.npy', [h.n, h.d], h.k), v = put('hv.npy', [h.n, h.dv], h.v);
  const out = join(dir, 'huge-o.npy');
  const r = bin(['attend', '--method', 'exact', '--q', q, '--k', k, '--v', v, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const o = readNpy(out).data as Float32Array;
  assert.ok(relL2(o, referenceAttention64(h)) < 1e-5);
});

test('D8: input every cell would reject is refused before the run starts', () => {
  const nanK = new Float32Array(n * d).fill(0.5);
  nanK[5] = NaN;
  const kBad = put('k-nan.npy', [n, d], nanK);
  const out1 = join(dir, 'd8-npy');
  assertOneLine(bin(['bench', '--workloads', 'npy', '--q', Q, '--k', kBad, '--v', V, '--quick', '--out', out1]), /k-nan\.npy contains NaN at flat index 5/);
  assert.equal(existsSync(out1), false);
  const out2 = join(dir, 'd8-causal');
  assertOneLine(bin(['bench', '--causal', '--queries', '512', '--lengths', '2^8', '--quick', '--out', out2]), /--causal needs --queries ≤ n .*m = 512 exceeds n = 256/);
  assert.equal(existsSync(out2), false);
});

test('D9/D10/D11: infer refuses --similarity with --model (no --out left), unknown --feed names, and prints only its own line', () => {
  const model = join(dir, 'gpt2-b.onnx'), ids = join(dir, 'ids-b.npy'), huge = join(dir, 'ids-huge.npy');
  writeFileSync(model, encodeModel(gpt2Model()));
  writeNpy(ids, { dtype: 'int64', shape: [1, 4], data: BigInt64Array.from([1n, 2n, 3n, 4n]) });
  writeNpy(huge, { dtype: 'int64', shape: [1, 4], data: BigInt64Array.from([1n, 2n, 14000n, 4n]) });
  const out = join(dir, 'sim-o.npy');
  assertOneLine(bin(['infer', '--model', model, '--feed', `input_ids=${ids}`, '--similarity', '--out', out]), /--similarity scores the default model .* cannot be used with --model/);
  assert.equal(existsSync(out), false);
  assertOneLine(bin(['infer', '--model', model, '--feed', `input_ids=${ids}`, '--feed', `Z=${ids}`]), /--feed Z: the model has no input named 'Z' \(inputs: input_ids\)/);
  // D11: onnxruntime's own coloured [E:onnxruntime…] line is not printed before qattn's; the message is whole.
  const r = bin(['infer', '--model', model, '--feed', `input_ids=${huge}`]);
  assertOneLine(r, /onnxruntime failed running .*indices element out of data bounds, idx=14000 must be within the inclusive range \[-\d+,\d+\]$/);
  assert.doesNotMatch(r.stderr, /\[E:onnxruntime/);
});

test('D13: qattn list > /dev/full is one line and exit 2', (t) => {
  if (!existsSync('/dev/full')) return t.skip('no /dev/full here');
  const fd = openSync('/dev/full', 'w');
  try {
    const r = bin(['list'], { stdio: ['ignore', fd, 'pipe'] });
    assertOneLine(r, /cannot write to standard output: no space left on device/);
  } finally {
    closeSync(fd);
  }
});

test('D14: bench --out on a read-only file system says so', (t) => {
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { stdio: 'ignore' });
  } catch {
    return t.skip('cannot mount a read-only tmpfs here (needs root)');
  }
  try {
    assertOneLine(benchRun(join(ro, 'a', 'b')), /cannot create output directory .*: read-only file system/);
  } finally {
    execFileSync('umount', [ro]);
  }
});
