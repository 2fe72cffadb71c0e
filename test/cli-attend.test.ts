import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { reportError } from '../cli/main.ts';
import type { CliIo } from '../cli/args.ts';
import { combineHeadCosts } from '../attention/cost.ts';
import { QattnError } from '../core/errors.ts';
import { createRng, normalArray } from '../core/rng.ts';
import { encodeNpy, readNpy, writeNpy, type NpyArray } from '../io/npy.ts';
import { resolveOptions } from '../attention/options.ts';
import { singlePhase } from '../attention/define.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { relL2 } from '../attention/fidelity.ts';
import { emptyCost, type AttentionInput, type CostReport, type Mechanism } from '../attention/types.ts';
import { BIN, runCli } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const run = runCli;

function spawnBin(...argv: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The bytes of `arr` as .npy with its dtype string replaced by `descr` (same length), e.g. '<c8'. */
function withDescr(arr: NpyArray, descr: string): Uint8Array {
  const bytes = encodeNpy(arr);
  const at = new TextDecoder('latin1').decode(bytes.subarray(0, 64)).indexOf("'descr': '") + 10;
  bytes.set(new TextEncoder().encode(descr), at);
  return bytes;
}

const f32 = (shape: number[], data: Float32Array): NpyArray => ({ dtype: 'float32', shape, data });

/** Writes an array to dir/name and returns its path. */
function put(name: string, arr: NpyArray | Uint8Array): string {
  const path = join(dir, name);
  if (arr instanceof Uint8Array) writeFileSync(path, arr);
  else writeNpy(path, arr);
  return path;
}

const rng = createRng(7);
const [m, n, d, dv, H] = [3, 5, 4, 6, 2];
const Q = put('q.npy', f32([m, d], normalArray(rng, m * d)));
const K = put('k.npy', f32([n, d], normalArray(rng, n * d)));
const V = put('v.npy', f32([n, dv], normalArray(rng, n * dv)));
const qh = normalArray(rng, H * m * d), kh = normalArray(rng, H * n * d), vh = normalArray(rng, H * n * dv);
const QH = put('qh.npy', f32([H, m, d], qh)), KH = put('kh.npy', f32([H, n, d], kh)), VH = put('vh.npy', f32([H, n, dv], vh));

function input(over: Partial<AttentionInput> = {}): AttentionInput {
  const read = (p: string) => readNpy(p).data as Float32Array;
  return { q: read(Q), k: read(K), v: read(V), m, n, d, dv, ...over };
}

/** O from the file vs the float64 reference: exact attention agrees to float32 rounding. */
function assertMatchesReference(outPath: string, inp: AttentionInput): void {
  const o = readNpy(outPath);
  assert.equal(o.dtype, 'float32');
  assert.ok(relL2(o.data as Float32Array, referenceAttention64(inp)) < 1e-5);
}

test('help and unknown commands', async () => {
  for (const argv of [[], ['--help'], ['help']]) {
    const r = await run(...argv);
    assert.equal(r.code, 0);
    for (const c of ['attend', 'list', 'grover']) assert.match(r.out.join('\n'), new RegExp(`^  ${c} `, 'm'));
  }
  const h = await run('help', 'attend');
  assert.equal(h.code, 0);
  assert.match(h.out[0]!, /^usage: qattn attend .*\n[^]*\[H, m, d\]/);
  const u = await run('frobnicate');
  assert.equal(u.code, 2);
  assert.equal(u.err.length, 1);
  assert.match(u.err[0]!, /^qattn: unknown command 'frobnicate' \(valid: attend, list, grover\b.*; see qattn --help\)$/);
});

test('attend --repeat R: ms is the median of R attends on one prepared cache, apart from prepare and the first attend', async () => {
  const out = join(dir, 'o-rep.npy');
  const r = await run('attend', '--method', 'lsh', '--q', Q, '--k', K, '--v', V, '--out', out, '--repeat', '3', '--json');
  assert.equal(r.code, 0, r.err.join('\n'));
  const j = JSON.parse(r.out[0]!) as { ms: number; firstMs: number; prepareMs: number; repeat: number; prepareCost: { scoreEvaluations: number } };
  assert.equal(j.repeat, 3);
  for (const x of [j.ms, j.firstMs, j.prepareMs]) assert.ok(Number.isFinite(x) && x >= 0);
  assert.equal(typeof j.prepareCost.scoreEvaluations, 'number');
  const exactOut = join(dir, 'o-rep-exact.npy');
  assert.equal((await run('attend', '--method', 'exact', '--q', Q, '--k', K, '--v', V, '--out', exactOut, '--repeat', '2')).code, 0);
  assertMatchesReference(exactOut, input());
  assert.equal((await run('attend', '--method', 'exact', '--q', Q, '--k', K, '--v', V, '--out', out, '--repeat=-1')).code, 2);
});

test('attend writes O for one head and prints one JSON line', async () => {
  const out = join(dir, 'o1.npy');
  const r = await run('attend', '--method', 'exact', '--q', Q, '--k', K, '--v', V, '--out', out, '--json');
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.equal(r.out.length, 1);
  const j = JSON.parse(r.out[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ['method', 'options', 'shape', 'ms', 'firstMs', 'prepareMs', 'repeat', 'cost', 'prepareCost', 'path']);
  assert.equal(j.method, 'exact');
  assert.deepEqual(j.shape, [m, dv]);
  assert.ok(typeof j.ms === 'number' && j.ms >= 0);
  assert.equal((j.options as Record<string, unknown>).path, 'auto');
  assert.deepEqual(readNpy(out).shape, [m, dv]);
  assertMatchesReference(out, input());
});

test('attend loops over heads: [H, m, d] → [H, m, dv], a per-head mask, --causal and --scale', async () => {
  const out = join(dir, 'oh.npy');
  const mask = new Float32Array(H * m * n).map((_, i) => (i % 4 === 1 ? -Infinity : (i % 3) * 0.5));
  const M = put('mh.npy', f32([H, m, n], mask));
  const r = await run('attend', '--method', 'exact', '--q', QH, '--k', KH, '--v', VH, '--mask', M, '--causal', '--scale', '0.7', '--out', out);
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.match(r.out[0]!, /^exact: wrote .*oh\.npy \[2, 3, 6\] float32; prepare [\d.]+ ms, attend [\d.]+ ms \(2 heads/);
  const o = readNpy(out);
  assert.deepEqual(o.shape, [H, m, dv]);
  for (let h = 0; h < H; h++) {
    const inp: AttentionInput = {
      q: qh.subarray(h * m * d, (h + 1) * m * d), k: kh.subarray(h * n * d, (h + 1) * n * d), v: vh.subarray(h * n * dv, (h + 1) * n * dv),
      m, n, d, dv, causal: true, scale: 0.7, mask: mask.subarray(h * m * n, (h + 1) * m * n),
    };
    assert.ok(relL2((o.data as Float32Array).subarray(h * m * dv, (h + 1) * m * dv), referenceAttention64(inp)) < 1e-5, `head ${h}`);
  }
});

test('attend converts float64, int32 and int64 inputs and takes a shared [n] mask', async () => {
  const q64 = put('q64.npy', { dtype: 'float64', shape: [m, d], data: Float64Array.from(input().q) });
  const ki = Int32Array.from({ length: n * d }, (_, i) => (i % 5) - 2);
  const vi = BigInt64Array.from({ length: n * dv }, (_, i) => BigInt((i % 7) - 3));
  const k32 = put('ki.npy', { dtype: 'int32', shape: [n, d], data: ki });
  const v64 = put('vi.npy', { dtype: 'int64', shape: [n, dv], data: vi });
  const maskN = new Float32Array([0, -1, -Infinity, 0.5, 0]);
  const M = put('mn.npy', f32([n], maskN));
  const out = join(dir, 'oc.npy');
  const r = await run('attend', '--method=exact', `--q=${q64}`, '--k', k32, '--v', v64, '--mask', M, '--seed', '3', '--out', out);
  assert.equal(r.code, 0, r.err.join('\n'));
  assertMatchesReference(out, input({ k: Float32Array.from(ki), v: Float32Array.from(vi, Number), mask: maskN }));
});

test('logits of ±1e4 do not produce NaN', async () => {
  // Unit keys along the axes and queries scaled ×100: with scale 1, logits reach ±1e4 (exp overflows naively).
  const kk = new Float32Array(n * d).map((_, i) => (i % d === Math.floor(i / d) % d ? 1 : 0));
  const qq = input().q.map((x) => Math.sign(x) * 100);
  const qp = put('qbig.npy', f32([m, d], qq)), kp = put('kunit.npy', f32([n, d], kk));
  const out = join(dir, 'obig.npy');
  const r = await run('attend', '--method', 'exact', '--q', qp, '--k', kp, '--v', V, '--scale', '100', '--out', out);
  assert.equal(r.code, 0, r.err.join('\n'));
  const o = readNpy(out).data as Float32Array;
  assert.ok(o.every(Number.isFinite), 'no NaN/Inf in O');
  assertMatchesReference(out, input({ q: qq, k: kk, scale: 100 }));
});

/** A user error: exit 2, one `qattn: …` line matching `pattern`, no stack, no output or temp file. */
async function assertUserError(argv: string[], pattern: RegExp): Promise<void> {
  const out = join(dir, 'bad-out.npy');
  const r = await run('attend', ...argv.map((a) => (a === 'OUT' ? out : a)));
  assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err.join('\n')}`);
  assert.equal(r.err.length, 1, r.err.join('\n'));
  assert.match(r.err[0]!, /^qattn: [^\n]+$/);
  assert.match(r.err[0]!, pattern);
  assert.doesNotMatch(r.err[0]!, /\n\s+at /);
  assert.deepEqual(r.out, []);
  assert.equal(existsSync(out), false, 'no output file');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file');
}

const base = (over: Record<string, string | null>): string[] => {
  const flags: Record<string, string | null> = { method: 'exact', q: Q, k: K, v: V, out: 'OUT', ...over };
  return Object.entries(flags).flatMap(([key, val]) => (val === null ? [] : [`--${key}`, val]));
};

test('bad shapes, values and files are one-line user errors with no output', async () => {
  const vec = put('vec.npy', f32([d], new Float32Array(d)));
  const nan = input().q.slice(); nan[5] = NaN;
  const inf = input().v.slice(); inf[2] = -Infinity;
  const good = encodeNpy(f32([m, d], input().q));
  const cases: Array<[Record<string, string | null>, RegExp]> = [
    [{ q: vec }, /Q \(.*vec\.npy\) must be 2-D \[m, d\] or 3-\/4-D \[\.\.\., m, d\], got 1-D shape \[4\]/],
    [{ k: KH }, /K \(.*kh\.npy\) has shape \[2, 5, 4\] but Q .* has \[3, 4\]: their leading \(head\) dimensions must match/],
    [{ k: put('k5.npy', f32([n, d + 1], new Float32Array(n * (d + 1)))) }, /head dimension mismatch: Q .* has d=4 but K .* has d=5/],
    [{ v: put('v4.npy', f32([n - 1, dv], new Float32Array((n - 1) * dv))) }, /key count mismatch: K .* has n=5 rows but V .* has 4/],
    [{ q: put('qnan.npy', f32([m, d], nan)) }, /Q contains NaN at flat index 5/],
    [{ v: put('vinf.npy', f32([n, dv], inf)) }, /V contains Inf at flat index 2/],
    [{ q: QH, k: KH, v: put('vhinf.npy', f32([H, n, dv], vh.slice().fill(Infinity, n * dv + 1))) }, /head 1 of 2: V contains Inf at flat index 1/],
    [{ k: put('k0.npy', f32([0, d], new Float32Array(0))) }, /K \(.*k0\.npy\) is empty: shape \[0, 4\] has a dimension of 0/],
    [{ q: join(dir, 'missing.npy') }, /cannot read .*missing\.npy: no such file or directory/],
    [{ q: put('trunc.npy', good.subarray(0, good.length - 1)) }, /trunc\.npy: truncated: shape \[3, 4\] of float32 needs 48 data bytes, file has 47/],
    [{ v: put('c8.npy', withDescr({ dtype: 'float64', shape: [n, dv], data: new Float64Array(n * dv) }, '<c8')) }, /c8\.npy: unsupported dtype '<c8' \(qattn reads float32/],
    [{ k: put('u1.npy', withDescr(f32([n, d], new Float32Array(n * d)), '|u1')) }, /u1\.npy: unsupported dtype '\|u1'/],
    [{ k: put('be.npy', withDescr(f32([n, d], new Float32Array(n * d)), '>f4')) }, /be\.npy: big-endian dtype '>f4' is not supported/],
    [{ mask: put('mbad.npy', f32([n, m], new Float32Array(n * m))) }, /mask \(.*mbad\.npy\) has shape \[5, 3\], expected \[5\] or \[3, 5\]/],
    [{ method: 'flash' }, /unknown attention method 'flash' \(valid: .*exact/],
    [{ opt: 'bogus=1' }, /unknown option 'bogus' for exact \(valid options: .*path/],
    [{ opt: 'path=bogus' }, /option path of exact must be .*reference, got 'bogus'/],
    [{ opt: 'path' }, /--opt expects key=value, got 'path'/],
    [{ out: null }, /^qattn: missing required flag --out \(see qattn attend --help\)$/],
    [{ k: null }, /missing required flag --k /],
    [{ scale: 'abc' }, /--scale must be a number, got 'abc'/],
    [{ scale: '0' }, /scale must be a positive finite number, got 0/],
    [{ seed: '1.5' }, /--seed must be an integer, got '1.5'/],
    [{ out: join(dir, 'no-such-dir', 'o.npy') }, /cannot write .*o\.npy: directory .*no-such-dir does not exist/],
    [{ frob: 'x' }, /unknown flag '--frob' for qattn attend \(valid: --method/],
  ];
  for (const [over, pattern] of cases) await assertUserError(base(over), pattern);
  // Flags that the table above cannot express.
  await assertUserError([...base({}), '--causal', '--q', Q], /flag --q of qattn attend given more than once/);
  await assertUserError([...base({ q: put('q6c.npy', f32([n + 1, d], new Float32Array((n + 1) * d))) }), '--causal'], /causal attention needs m ≤ n/);
  await assertUserError([...base({}), '--json=1'], /flag --json of qattn attend takes no value/);
  await assertUserError([...base({}), 'extra'], /takes no positional arguments, got extra/);
  await assertUserError([...base({}), '--seed', '-1'], /flag --seed of qattn attend needs a value \(for a value starting with '-', write --seed=-1\)/);
  await assertUserError([...base({}), '--seed=-1'], /--seed must be in \[0, 4294967295\], got -1/);
});

test('numeric option ranges are enforced (resolveOptions with a fake mechanism)', () => {
  const fake: Mechanism = singlePhase({
    name: 'fake', family: 'classical', summary: 'test double', costFields: {}, tolerance: { kind: 'none', note: '' }, budget: null,
    options: {
      k: { type: 'int', default: 4, min: 1, max: 64, description: 'keys' },
      eps: { type: 'number', default: 0.1, min: 0, max: 1, description: 'error' },
    },
    exhaustiveOptions: () => null, notSupportedReasons: () => [],
    attend: async () => ({ out: new Float32Array(0), cost: emptyCost() }),
  });
  assert.deepEqual(resolveOptions(fake, { k: '64', eps: '0' }), { k: 64, eps: 0 });
  assert.throws(() => resolveOptions(fake, { k: '65' }), new QattnError('option k of fake must be in [1, 64], got 65'));
  assert.throws(() => resolveOptions(fake, { k: '0' }), new QattnError('option k of fake must be in [1, 64], got 0'));
  assert.throws(() => resolveOptions(fake, { k: '2.5' }), new QattnError("option k of fake must be an integer, got '2.5'"));
  assert.throws(() => resolveOptions(fake, { eps: '1.01' }), new QattnError('option eps of fake must be in [0, 1], got 1.01'));
  assert.throws(() => resolveOptions(fake, { eps: 'lots' }), new QattnError("option eps of fake must be a number, got 'lots'"));
});

test('per-head costs combine as declared: counts add up, means average, qubits and noise take the max; unused fields stay null', () => {
  const fields = { scoreEvaluations: 'sum', samples: 'sum', selectedPerQuery: 'mean', 'extra.trials': 'sum', 'extra.reads': 'sum', 'extra.qubits': 'max', 'extra.noisePerOracleCall': 'max', 'extra.trialsPerSample': 'mean' } as const;
  const a = { ...emptyCost(), scoreEvaluations: 10, samples: 3, selectedPerQuery: 2, extra: { trials: 1, qubits: 791, noisePerOracleCall: 0.2, trialsPerSample: 2 } };
  const b = { ...emptyCost(), scoreEvaluations: 5, samples: null, selectedPerQuery: 4, extra: { trials: 2, reads: 7, qubits: 791, noisePerOracleCall: 0.2, trialsPerSample: 4 } };
  assert.deepEqual(combineHeadCosts([a, b], fields, 'fake'), {
    scoreEvaluations: 15, oracleQueries: null, groverIterations: null, samples: 3, selectedPerQuery: 3,
    extra: { trials: 3, qubits: 791, noisePerOracleCall: 0.2, trialsPerSample: 3, reads: 7 },
  });
  assert.throws(() => combineHeadCosts([{ ...emptyCost(), extra: { undeclared: 1 } }], fields, 'fake'), /fake reports cost field extra.undeclared but does not declare it/);
});

test('D7: multi-head attend --json never adds up non-additive fields (8 heads of grover-topk)', async () => {
  const H = 8, hm = 2, hn = 64, hd = 8;
  const rnd = (len: number, s: number): Float32Array => Float32Array.from({ length: len }, (_, i) => Math.sin(i * 12.9898 + s) * 0.9);
  const q8 = put('q8.npy', f32([H, hm, hd], rnd(H * hm * hd, 1))), k8 = put('k8.npy', f32([H, hn, hd], rnd(H * hn * hd, 2))), v8 = put('v8.npy', f32([H, hn, hd], rnd(H * hn * hd, 3)));
  const one = put('q1.npy', f32([hm, hd], rnd(hm * hd, 1))), k1 = put('k1.npy', f32([hn, hd], rnd(hn * hd, 2))), v1 = put('v1.npy', f32([hn, hd], rnd(hn * hd, 3)));
  const args = (q: string, k: string, v: string, o: string): string[] => ['attend', '--method', 'grover-topk', '--opt', 'k=4', '--opt', 'noise=0.2', '--q', q, '--k', k, '--v', v, '--out', join(dir, o), '--json'];
  const multi = await run(...args(q8, k8, v8, 'o8.npy')), single = await run(...args(one, k1, v1, 'o1.npy'));
  assert.equal(multi.code, 0, multi.err.join('\n'));
  const cm = (JSON.parse(multi.out[0]!) as { cost: CostReport }).cost, cs = (JSON.parse(single.out[0]!) as { cost: CostReport }).cost;
  assert.equal(cm.extra['noisePerOracleCall'], 0.2, 'a probability stays a probability');
  assert.equal(cm.extra['qubits'], cs.extra['qubits'], 'every head has the same register');
  assert.ok(cm.oracleQueries! > cs.oracleQueries!, 'oracle calls add up');
  assert.ok(cm.selectedPerQuery! <= 4);
});

test('an unexpected error is reported with its stack and exit 1', () => {
  const lines: string[] = [];
  const io: CliIo = { out: () => undefined, err: (t) => void lines.push(t) };
  assert.equal(reportError(new TypeError('boom'), io), 1);
  assert.match(lines.join('\n'), /^qattn: internal error \(please report\): boom\nTypeError: boom\n\s+at /);
  assert.equal(reportError(new QattnError('two\nlines'), io), 2);
  assert.equal(lines.at(-1), 'qattn: two lines');
});

test('list prints every mechanism with options, cost fields, tolerance and reference', async () => {
  const r = await run('list');
  assert.equal(r.code, 0);
  const text = r.out.join('\n');
  assert.match(text, /^exact \[exact\] \S/m);
  assert.match(text, /^ {4}path=auto \(auto\|ort\|streaming\|reference\) \S/m);
  assert.match(text, /^ {2}cost fields \(over heads\): .*scoreEvaluations \(sum\)/m);
  assert.match(text, /^ {2}tolerance: exhaustive relative L2 <= [\d.e-]+ \(\S/m);
  const j = await run('list', '--json');
  const arr = JSON.parse(j.out[0]!) as Array<Record<string, unknown>>;
  const exact = arr.find((x) => x.name === 'exact')!;
  assert.deepEqual(Object.keys(exact), ['name', 'family', 'summary', 'reference', 'options', 'costFields', 'tolerance', 'budget']);
  const path = (exact.options as Array<Record<string, unknown>>).find((o) => o.name === 'path')!;
  assert.deepEqual(path.values, ['auto', 'ort', 'streaming', 'reference']);
  assert.match(String(path.text), /^path=auto /);
  assert.equal((await run('list', '--verbose')).code, 2);
});

test('the real bin: exit codes, stderr without stack, JSON on stdout', () => {
  const out = join(dir, 'bin-o.npy');
  const ok = spawnBin('attend', '--method', 'exact', '--q', Q, '--k', K, '--v', V, '--out', out, '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual((JSON.parse(ok.stdout) as { shape: number[] }).shape, [m, dv]);
  assertMatchesReference(out, input());
  const bad = join(dir, 'bin-bad.npy');
  const trunc = put('bin-trunc.npy', encodeNpy(f32([m, d], input().q)).subarray(0, 100));
  for (const [argv, pattern] of [
    [['attend', '--method', 'nope', '--q', Q, '--k', K, '--v', V, '--out', bad], /^qattn: unknown attention method 'nope'/],
    [['attend', '--method', 'exact', '--q', trunc, '--k', K, '--v', V, '--out', bad], /^qattn: .*bin-trunc\.npy: truncated/],
    [['attend', '--method', 'exact', '--q', Q, '--k', K, '--v', V], /^qattn: missing required flag --out /],
    [['bogus'], /^qattn: unknown command 'bogus'/],
  ] as const) {
    const r = spawnBin(...argv);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\bat .*:\d+:\d+/);
  }
  assert.equal(existsSync(bad), false);
});
