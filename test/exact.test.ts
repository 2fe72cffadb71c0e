import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exact, exactScoreEvaluations } from '../attention/mechanisms/exact.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { streamingAttention } from '../attention/kernels/streaming.ts';
import { ORT_MAX_SCORES, fullyMaskedRows, ortAttention, ortCannotRunReason, planOrt } from '../attention/kernels/ort/attention.ts';
import { cachedSessionCount, releaseSessions } from '../attention/kernels/ort/sessions.ts';
import { maxAbs } from '../attention/fidelity.ts';
import { resolveOptions } from '../attention/options.ts';
import { attendPrepared, prepareAttention, runAttention } from '../attention/run.ts';
import { kvOf, queryOf } from '../attention/define.ts';
import { visibleKeys } from '../attention/validate.ts';
import type { AttentionInput } from '../attention/types.ts';
import { createRng, normalArray } from '../core/rng.ts';

after(releaseSessions);

const TOL = 1e-5;

function randomInput(seed: number, m: number, n: number, d: number, dv: number, extra: Partial<AttentionInput> = {}): AttentionInput {
  const rng = createRng(seed);
  return { q: normalArray(rng, m * d), k: normalArray(rng, n * d), v: normalArray(rng, n * dv), m, n, d, dv, ...extra };
}

/** Runs every execution of exact on `input` and checks each against the float64 reference. */
async function checkAllPaths(input: AttentionInput, expectAutoPath: string): Promise<void> {
  const ref = referenceAttention64(input);
  const auto = await exact.attend(input, resolveOptions(exact));
  assert.equal(auto.path, expectAutoPath);
  assert.ok(maxAbs(auto.out, ref) <= TOL, `auto (${auto.path}) max abs ${maxAbs(auto.out, ref)}`);
  const dec = await ortAttention(input, 'decomposed');
  assert.equal(dec.path, 'ort-decomposed');
  assert.ok(maxAbs(dec.out, ref) <= TOL, `decomposed max abs ${maxAbs(dec.out, ref)}`);
  assert.ok(maxAbs(auto.out, dec.out) <= TOL, 'fast path vs decomposed ORT graph');
  for (const path of ['streaming', 'reference'] as const) {
    const r = await exact.attend(input, resolveOptions(exact, { path }));
    assert.equal(r.path, path);
    assert.ok(maxAbs(r.out, ref) <= TOL, `${path} max abs ${maxAbs(r.out, ref)}`);
  }
}

test('fast path matches the float64 reference and the decomposed ORT graph (no mask)', async () => {
  await checkAllPaths(randomInput(1, 80, 80, 32, 32), 'ort-mha');
  await checkAllPaths(randomInput(2, 37, 211, 16, 24), 'ort-decomposed'); // decode: m ≤ DECODE_MAX_QUERIES
  await checkAllPaths(randomInput(11, 97, 211, 16, 24), 'ort-mha');
  await checkAllPaths(randomInput(3, 1, 500, 64, 64, { scale: 0.3 }), 'ort-decomposed');
});

test('causal masks, bottom-right aligned: m = n, m < n and m = 1', async () => {
  await checkAllPaths(randomInput(4, 72, 72, 16, 16, { causal: true }), 'ort-mha');
  await checkAllPaths(randomInput(5, 13, 70, 16, 8, { causal: true }), 'ort-decomposed');
  await checkAllPaths(randomInput(6, 1, 33, 8, 8, { causal: true }), 'ort-decomposed');
});

test('padding masks: length-n rows and m×n masks with −∞ and large negative values', async () => {
  const m = 70, n = 90;
  const row = new Float32Array(n);
  for (let j = 0; j < n; j += 7) row[j] = -Infinity;
  row[3] = -1e30;
  row[4] = -2.5;
  await checkAllPaths(randomInput(7, m, n, 16, 16, { mask: row }), 'ort-decomposed');
  const full = new Float32Array(m * n);
  const rng = createRng(70);
  for (let i = 0; i < full.length; i++) full[i] = rng.next() < 0.3 ? -Infinity : rng.next() < 0.1 ? -1e9 : rng.normal();
  await checkAllPaths(randomInput(8, m, n, 16, 16, { mask: full }), 'ort-mha');
  await checkAllPaths(randomInput(9, m, n, 16, 16, { mask: full, causal: true }), 'ort-decomposed');
  await checkAllPaths(randomInput(10, n, n, 8, 8, { mask: row, causal: true }), 'ort-decomposed');
});

test('fully masked rows give zero output rows on every path', async () => {
  const m = 6, n = 10;
  const full = new Float32Array(m * n);
  full.fill(-Infinity, 2 * n, 3 * n); // row 2: every key masked
  full.fill(-Infinity, 4 * n, 4 * n + 9); // row 4: keys 0…8 masked — all it sees under causal (4 + n − m)
  const rowAll = new Float32Array(n).fill(-Infinity);
  const cases: AttentionInput[] = [
    randomInput(11, m, n, 8, 8, { mask: full }),
    randomInput(12, m, n, 8, 8, { mask: full, causal: true }),
    randomInput(13, m, n, 8, 8, { mask: rowAll }),
    randomInput(14, 1, n, 8, 8, { mask: rowAll }),
  ];
  const zeroRows = [[2], [2, 4], [0, 1, 2, 3, 4, 5], [0]];
  for (const [c, input] of cases.entries()) {
    assert.deepEqual(fullyMaskedRows(input), zeroRows[c]);
    const ref = referenceAttention64(input);
    for (const path of ['auto', 'ort', 'streaming', 'reference']) {
      const { out } = await exact.attend(input, resolveOptions(exact, { path }));
      assert.ok(!out.some(Number.isNaN), `case ${c} ${path}: NaN in output`);
      assert.ok(maxAbs(out, ref) <= TOL, `case ${c} ${path}`);
      for (const i of zeroRows[c]!) assert.ok(out.subarray(i * 8, i * 8 + 8).every((x) => x === 0), `case ${c} ${path} row ${i}`);
    }
    const dec = await ortAttention(input, 'decomposed');
    assert.ok(maxAbs(dec.out, ref) <= TOL, `case ${c} decomposed`);
  }
});

test('logits of ±1e4 (future keys far above visible ones under causal) give no NaN and stay exact', async () => {
  const m = 72, n = 72, d = 4;
  const q = new Float32Array(m * d), k = new Float32Array(n * d);
  for (let i = 0; i < m; i++) q[i * d] = 1;
  for (let j = 0; j < n; j++) k[j * d] = j < 4 ? -2e4 : 2e4; // scale 1/2 → logits ∓1e4
  const v = normalArray(createRng(15), n * d);
  for (const causal of [false, true]) {
    await checkAllPaths({ q, k, v, m, n, d, dv: d, causal }, 'ort-mha');
    await checkAllPaths({ q: q.subarray(5 * d), k, v, m: m - 5, n, d, dv: d, causal, mask: new Float32Array(n) }, 'ort-decomposed');
  }
});

test('streaming kernel: block boundaries, query groups of 4 and long decode without an m×n buffer', () => {
  const input = randomInput(16, 11, 301, 12, 5, { causal: true });
  const ref = referenceAttention64(input);
  for (const block of [1, 7, 64, 1000]) assert.ok(maxAbs(streamingAttention(input, { block }), ref) <= TOL, `block ${block}`);
  const decode = randomInput(17, 3, 1 << 20, 4, 4);
  assert.ok(maxAbs(streamingAttention(decode), referenceAttention64(decode)) <= TOL);
});

test('streaming matches the reference on random shapes, masks and causal flags (property)', () => {
  fc.assert(
    fc.property(
      fc.record({ m: fc.integer({ min: 1, max: 9 }), extra: fc.integer({ min: 0, max: 40 }), d: fc.integer({ min: 1, max: 9 }), dv: fc.integer({ min: 1, max: 6 }), causal: fc.boolean(), mask: fc.constantFrom('none', 'row', 'full'), block: fc.integer({ min: 1, max: 17 }), seed: fc.nat() }),
      ({ m, extra, d, dv, causal, mask, block, seed }) => {
        const n = m + extra;
        const rng = createRng(seed ^ 0x5eed);
        const len = mask === 'row' ? n : mask === 'full' ? m * n : 0;
        const mk = Float32Array.from({ length: len }, () => (rng.next() < 0.4 ? -Infinity : rng.normal()));
        const input = randomInput(seed, m, n, d, dv, { causal, ...(len ? { mask: mk } : {}) });
        return maxAbs(streamingAttention(input, { block }), referenceAttention64(input)) <= TOL;
      },
    ),
    { numRuns: 60, seed: 2024 },
  );
});

test('cost counts the dot products actually needed; exhaustive options are empty', async () => {
  for (const [m, n, causal] of [[5, 5, true], [3, 10, true], [4, 9, false]] as const) {
    const input = randomInput(18, m, n, 4, 4, { causal });
    let visible = 0;
    for (let i = 0; i < m; i++) visible += visibleKeys(input, i);
    assert.equal(exactScoreEvaluations(input), visible);
    const { cost } = await exact.attend(input, resolveOptions(exact));
    assert.equal(cost.scoreEvaluations, visible);
    assert.equal(cost.selectedPerQuery, visible / m);
    assert.equal(cost.oracleQueries, null);
  }
  assert.deepEqual(exact.exhaustiveOptions(100), {});
});

test('ORT limits: beyond ORT_MAX_SCORES, prefill without mask takes fused MHA and everything else key blocks', () => {
  const none = new Float32Array(0);
  const shape = (m: number, n: number, extra: Partial<AttentionInput> = {}): AttentionInput => ({ q: none, k: none, v: none, m, n, d: 64, dv: 64, ...extra });
  const big = shape(16, 1 << 23); // decode over 2^23 keys: 2^27 scores
  assert.equal(planOrt(big).sig.kind, 'lse', 'decode: key blocks, not MHA (MHA copies K and V)');
  assert.equal(planOrt(big).materialisesScores, false);
  assert.equal(ortCannotRunReason(big), null);
  const prefill = shape(4096, 1 << 15);
  assert.ok(4096 * (1 << 15) > ORT_MAX_SCORES);
  assert.equal(planOrt(prefill).sig.kind, 'mha');
  const causal = shape(4096, 1 << 15, { causal: true });
  assert.equal(planOrt(causal).sig.kind, 'lse');
  assert.equal(ortCannotRunReason(causal), null);
  assert.match(ortCannotRunReason(causal, 'decomposed') ?? '', /limit .*path=auto/);
  assert.deepEqual(exact.notSupportedReasons(causal, resolveOptions(exact, { path: 'ort' })), []);
});

test('key blocks (split-K lse graph) match the float64 reference: masks, causal cuts, empty blocks', async () => {
  const n = 300, d = 16;
  const row = new Float32Array(n).fill(-Infinity, 0, 150); // the first blocks see nothing
  row[7] = 0.5;
  const full = normalArray(createRng(31), 5 * n);
  full.fill(-Infinity, 2 * n, 3 * n); // query 2 sees no key
  const cases: [string, AttentionInput][] = [
    ['decode', randomInput(30, 16, n, d, 8)],
    ['one query', randomInput(30, 1, n, d, 8)],
    ['row mask', randomInput(32, 5, n, d, 8, { mask: row })],
    ['full mask, a fully masked row', randomInput(33, 5, n, d, 8, { mask: full })],
    ['causal m < n', randomInput(34, 40, n, d, 8, { causal: true })],
    ['causal prefill', randomInput(35, n, n, d, 8, { causal: true })],
    ['causal with mask', randomInput(36, 5, n, d, 8, { causal: true, mask: full })],
  ];
  for (const [what, input] of cases) {
    const blockScores = input.m * 37; // 37 keys per block: uneven last block, blocks around the causal cut
    const r = await ortAttention(input, undefined, 1, undefined, blockScores);
    assert.equal(r.path, 'ort-blocked', what);
    assert.ok(maxAbs(r.out, referenceAttention64(input)) <= TOL, `${what}: max abs ${maxAbs(r.out, referenceAttention64(input))}`);
  }
  const masked = await ortAttention(cases[3]![1], undefined, 1, undefined, 5 * 37);
  assert.ok(masked.out.subarray(2 * 8, 3 * 8).every((x) => x === 0), 'a fully masked row is 0');
  const huge = randomInput(37, 3, 50, d, 8);
  huge.k[5 * d] = 1e30; // float32 overflow in one block: NaN, which exact's output check catches
  huge.q.fill(1e10, 0, d);
  const o = await ortAttention(huge, undefined, 1, undefined, 3 * 16);
  assert.ok(Number.isNaN(o.out[0]!), 'overflow is not hidden');
});

test('sessions are cached per signature and shared across shapes', async () => {
  await releaseSessions(); // start below the LRU bound
  await exact.attend(randomInput(19, 4, 9, 8, 8), resolveOptions(exact));
  const before = cachedSessionCount();
  await exact.attend(randomInput(20, 17, 33, 16, 4), resolveOptions(exact)); // scale 1/√16: a new signature
  await exact.attend(randomInput(21, 30, 30, 8, 8), resolveOptions(exact)); // first signature, other shape
  // prepare builds every mask-free signature of a scale (mha and decomposed, causal or not) and the key-block
  // graph: 5 per new scale.
  assert.equal(cachedSessionCount(), before + 5, 'only the new scale adds sessions');
});

test('prepare binds K and V once and builds the mask-free sessions: attends of any shape add none', { skip: ortCannotRunReason(randomInput(0, 1, 1, 1, 1)) ?? false }, async () => {
  await releaseSessions();
  const n = 96, d = 8;
  const base = randomInput(23, n, n, d, d);
  const { prepared } = await prepareAttention('exact', kvOf(base));
  const built = cachedSessionCount();
  assert.equal(built, 5, 'mha and decomposed, causal or not, and the key-block graph');
  const queries: [string, AttentionInput, string][] = [
    ['decode', { ...base, q: base.q.subarray(0, 3 * d), m: 3 }, 'ort-decomposed'],
    ['prefill', base, 'ort-mha'],
    ['causal prefill', { ...base, causal: true }, 'ort-mha'],
    ['causal m < n', { ...base, q: base.q.subarray(0, 70 * d), m: 70, causal: true }, 'ort-decomposed'],
  ];
  for (const [what, input, path] of queries) {
    const { output } = await attendPrepared(prepared, queryOf(input));
    assert.equal(output.path, path, what);
    assert.ok(maxAbs(output.out, referenceAttention64(input)) <= TOL, what);
  }
  assert.equal(cachedSessionCount(), built, 'no attend built a session');
  const mask = new Float32Array(n).fill(-2, 0, 10);
  await attendPrepared(prepared, queryOf({ ...base, mask }));
  assert.equal(cachedSessionCount(), built + 1, 'a mask input is a new graph, built on first use');
});

test('runAttention integration and option validation', async () => {
  const input = randomInput(22, 5, 12, 8, 8, { causal: true });
  const r = await runAttention('exact', input, { path: 'streaming' });
  assert.equal(r.output.path, 'streaming');
  assert.ok(maxAbs(r.output.out, referenceAttention64(input)) <= TOL);
  await assert.rejects(runAttention('exact', input, { path: 'gpu' }), /option path of exact must be auto, ort, streaming or reference/);
});
