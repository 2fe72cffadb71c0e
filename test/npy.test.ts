import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { QattnError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { encodeNpy, parseNpy, readNpy, toFloat32, writeNpy, type NpyArray } from '../io/npy.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-npy-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A .npy file with an arbitrary header dict and data, for malformed-input tests. */
function rawNpy(dict: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const body = dict + ' '.repeat(63 - ((pre + dict.length) % 64)) + '\n';
  const out = new Uint8Array(pre + body.length + data.length);
  out.set(latin1('\x93NUMPY'), 0);
  out[6] = version;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, body.length, true);
  else view.setUint32(8, body.length, true);
  out.set(latin1(body), pre);
  out.set(data, pre + body.length);
  return out;
}

const dict = (descr: string, shape: string, fortran = 'False'): string =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

function rejects(buf: Uint8Array, pattern: RegExp): void {
  assert.throws(() => parseNpy(buf, 'x.npy'), (e: unknown) => e instanceof QattnError && /^x\.npy: /.test(e.message) && pattern.test(e.message));
}

test('encodes the header byte for byte as NumPy writes it', () => {
  const bytes = encodeNpy({ dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  assert.equal(bytes[8]! + 256 * bytes[9]!, 118, 'header length, little-endian uint16');
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  assert.equal(new TextDecoder('latin1').decode(bytes.subarray(10, 128)), header.padEnd(117, ' ') + '\n');
  assert.equal(128 % 64, 0);
  assert.equal(bytes.length, 128 + 24);
  assert.deepEqual([...new Float32Array(bytes.slice(128).buffer)], [1, 2, 3, 4, 5, 6]);
});

test('leaves NumPy\'s 21-digit growth room for the first axis', () => {
  // The dict is 110 chars: 10 + 110 + 1 fits in 128 bytes, but not with the 20 spaces of growth room.
  const big = Number.MAX_SAFE_INTEGER;
  const bytes = encodeNpy({ dtype: 'float32', shape: [0, big, big, big], data: new Float32Array(0) });
  assert.equal(bytes.length, 192);
  assert.deepEqual(parseNpy(bytes).shape, [0, big, big, big]);
});

const samples: NpyArray[] = [
  { dtype: 'float32', shape: [5], data: new Float32Array([0, -1.5, 3.25, 1e-30, -0]) },
  { dtype: 'float64', shape: [2, 2], data: new Float64Array([Math.PI, -Math.E, 1e300, 5e-324]) },
  { dtype: 'int32', shape: [2, 1, 3], data: new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31), 7, 8]) },
  { dtype: 'int64', shape: [1, 2, 1, 2], data: new BigInt64Array([0n, -1n, 2n ** 62n, -(2n ** 63n)]) },
  { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) },
];

test('round-trips every dtype and rank 1–4 through bytes and files', () => {
  for (const [i, arr] of samples.entries()) {
    const back = parseNpy(encodeNpy(arr));
    assert.equal(back.dtype, arr.dtype);
    assert.deepEqual(back.shape, arr.shape);
    assert.deepEqual(back.data, arr.data);
    const path = join(dir, `rt${i}.npy`);
    writeNpy(path, arr);
    assert.deepEqual(readNpy(path), back);
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('round-trips random float32 arrays (property)', () => {
  const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });
  fc.assert(fc.property(shapeArb, fc.integer(), (shape, seed) => {
    const len = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: len }, (_, i) => Math.fround(Math.sin(seed + i) * 1e3));
    const back = parseNpy(encodeNpy({ dtype: 'float32', shape, data }));
    assert.deepEqual(back.shape, shape);
    assert.deepEqual(back.data, data);
  }), { numRuns: 50 });
});

test('reads format versions 2.0 and 3.0 and the | and = byte orders', () => {
  const data = new Uint8Array(new Float64Array([1, 2]).buffer);
  for (const v of [2, 3]) assert.deepEqual(parseNpy(rawNpy(dict('<f8', '(2,)'), data, v)).data, new Float64Array([1, 2]));
  assert.deepEqual(parseNpy(rawNpy(dict('=f8', '(1, 2)'), data)).shape, [1, 2]);
  assert.equal(parseNpy(rawNpy(dict('|i4', '(2,)'), new Uint8Array(8))).dtype, 'int32');
  // Python 2 era headers wrote longs with an L suffix and may use double quotes.
  assert.deepEqual(parseNpy(rawNpy(`{"descr": "<f8", "fortran_order": False, "shape": (2L,)}`, data)).shape, [2]);
});

test('rejects bad magic, versions and truncation with the file name', () => {
  rejects(latin1('PK\x03\x04 this is a zip'), /not a \.npy file/);
  rejects(new Uint8Array(0), /not a \.npy file/);
  rejects(latin1('\x93NUMPY\x01'), /truncated \.npy header/);
  const good = encodeNpy(samples[0]!);
  rejects(good.subarray(0, 60), /truncated \.npy header/);
  rejects(good.subarray(0, good.length - 3), /truncated: shape \[5\] of float32 needs 20 data bytes, file has 17/);
  rejects(Uint8Array.from([...good, 0]), /1 unexpected bytes after the data/);
  const v9 = good.slice();
  v9[6] = 9;
  rejects(v9, /unsupported \.npy format version 9\.0/);
});

test('rejects malformed header dicts', () => {
  rejects(rawNpy("{'descr': '<f4', 'shape': (2,), }"), /malformed .*keys must be descr, fortran_order and shape/);
  rejects(rawNpy(dict('<f4', '(2,)') + "'x'"), /malformed .*unexpected text after/);
  rejects(rawNpy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }"), /malformed .*expected a string, True, False or a tuple/);
  rejects(rawNpy(dict('<f4', '(2)')), /malformed .*\(n,\)/);
  rejects(rawNpy(dict('<f4', '(2, -3)')), /malformed .*non-negative integer/);
  rejects(rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)"), /malformed .*expected ',' or '}'/);
  rejects(rawNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"), /structured dtypes/);
  rejects(rawNpy("{'descr': 5, 'fortran_order': False, 'shape': (2,), }"), /malformed/);
});

test('rejects unsupported dtypes, big-endian, Fortran order and bad ranks', () => {
  rejects(rawNpy(dict('<c8', '(2,)'), new Uint8Array(16)), /unsupported dtype '<c8'.*'<f4'/);
  rejects(rawNpy(dict('|u1', '(2,)'), new Uint8Array(2)), /unsupported dtype '\|u1'/);
  rejects(rawNpy(dict('f4', '(2,)'), new Uint8Array(8)), /unsupported dtype 'f4'/);
  rejects(rawNpy(dict('>f4', '(2,)'), new Uint8Array(8)), /big-endian dtype '>f4'/);
  rejects(rawNpy(dict('<f4', '(2, 2)', 'True'), new Uint8Array(16)), /Fortran-order/);
  rejects(rawNpy(dict('<f4', '()'), new Uint8Array(4)), /0-D \(scalar\)/);
  rejects(rawNpy(dict('<f4', '(1, 1, 1, 1, 1)'), new Uint8Array(4)), /5-D arrays are not supported/);
  assert.throws(() => encodeNpy({ dtype: 'int32', shape: [], data: new Int32Array(1) }), /0-D/);
  assert.throws(() => encodeNpy({ dtype: 'int32', shape: [3], data: new Int32Array(2) }), /needs 3 values, data has 2/);
});

test('reports unreadable files as QattnError naming the path', () => {
  const missing = join(dir, 'nope.npy');
  assert.throws(() => readNpy(missing), new QattnError(`cannot read ${missing}: no such file or directory`));
  assert.throws(() => readNpy(dir), new QattnError(`cannot read ${dir}: is a directory`));
  const bad = join(dir, 'bad.npy');
  writeFileSync(bad, 'hello');
  assert.throws(() => readNpy(bad), new QattnError(`${bad}: not a .npy file (missing the \\x93NUMPY magic bytes)`));
});

test('toFloat32 converts every dtype and refuses inexact conversions', () => {
  const f32 = samples[0]!.data as Float32Array;
  assert.equal(toFloat32(samples[0]!), f32, 'float32 is returned without a copy');
  assert.deepEqual(toFloat32({ dtype: 'float64', shape: [2], data: new Float64Array([0.5, -2]) }), new Float32Array([0.5, -2]));
  assert.deepEqual(toFloat32({ dtype: 'int32', shape: [2], data: new Int32Array([3, -4]) }), new Float32Array([3, -4]));
  assert.deepEqual(toFloat32({ dtype: 'int64', shape: [2], data: new BigInt64Array([2n ** 53n, -5n]) }), new Float32Array([2 ** 53, -5]));
  assert.throws(() => toFloat32({ dtype: 'int64', shape: [2], data: new BigInt64Array([1n, 2n ** 53n + 1n]) }, 'K'), /^QattnError: K: int64 value 9007199254740993 at flat index 1 exceeds 2\^53/);
  assert.throws(() => toFloat32({ dtype: 'float64', shape: [1], data: new Float64Array([1e300]) }, 'Q'), /Q: value 1e\+300 at flat index 0 is outside the float32 range/);
  // Non-finite values pass through: attention input validation reports them with their position.
  assert.ok(Number.isNaN(toFloat32({ dtype: 'float64', shape: [1], data: new Float64Array([NaN]) })[0]));
});

test('writeFileAtomic replaces the target and never leaves a temp file', () => {
  const sub = join(dir, 'atomic');
  mkdirSync(sub);
  const target = join(sub, 'out.txt');
  writeFileAtomic(target, 'one');
  writeFileAtomic(target, new Uint8Array([116, 119, 111]), { fsync: true });
  assert.equal(readFileSync(target, 'utf8'), 'two');
  // The rename fails after the temp file was fully written: the temp must be removed.
  mkdirSync(join(sub, 'isdir'));
  assert.throws(() => writeFileAtomic(join(sub, 'isdir'), 'x'), (e: unknown) => e instanceof QattnError && /^cannot write .*isdir: /.test(e.message));
  assert.throws(() => writeNpy(join(sub, 'missing', 'o.npy'), samples[0]!), /cannot write .*o\.npy: no such file or directory/);
  assert.deepEqual(readdirSync(sub).sort(), ['isdir', 'out.txt']);
});

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test('agrees with NumPy byte for byte (skipped without python3 + numpy)', (t) => {
  if (!hasNumpy) return t.skip('python3 with numpy is not available');
  const py = `
import numpy as np, sys, os
d = sys.argv[1]
arrs = {'a': np.arange(6, dtype='<f4').reshape(2, 3) / 7, 'b': np.array([1.5, -2e300], '<f8'),
        'c': np.arange(24, dtype='<i4').reshape(1, 2, 3, 4) - 5, 'd': np.array([[-2**63, 2**62]], '<i8')}
for k, a in arrs.items():
    np.save(os.path.join(d, 'np_' + k + '.npy'), a)
    b = np.load(os.path.join(d, 'js_' + k + '.npy'))
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b), k
`;
  const mine: Record<string, NpyArray> = {
    a: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5], (x) => x / 7) },
    b: { dtype: 'float64', shape: [2], data: new Float64Array([1.5, -2e300]) },
    c: { dtype: 'int32', shape: [1, 2, 3, 4], data: Int32Array.from({ length: 24 }, (_, i) => i - 5) },
    d: { dtype: 'int64', shape: [1, 2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n]) },
  };
  for (const [k, a] of Object.entries(mine)) writeNpy(join(dir, `js_${k}.npy`), a);
  const r = spawnSync('python3', ['-c', py, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const [k, a] of Object.entries(mine)) {
    const theirs = readFileSync(join(dir, `np_${k}.npy`));
    assert.deepEqual(readNpy(join(dir, `np_${k}.npy`)), a, k);
    assert.deepEqual(encodeNpy(a), new Uint8Array(theirs), `bytes of ${k}`);
  }
});
