/**
 * lsh transform=simple: simple-LSH for maximum inner product (Neyshabur & Srebro, ICML 2015) beside plain SimHash
 * (issue 14, item 3). SimHash collides by angle only; simple-LSH's transform makes the collision probability grow
 * with q·k, so of two keys at the same angle the longer one is found more often. Appending keeps the tables equal
 * to a prepare on the concatenation, also when a new key is longer than every old one (the scale M changes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvOf, queryOf } from '../attention/define.ts';
import { lsh } from '../attention/mechanisms/lsh.ts';
import { attendPrepared, prepareAttention, runAttention } from '../attention/run.ts';
import { relL2 } from '../attention/fidelity.ts';
import { referenceAttention64 } from '../attention/kernels/reference.ts';
import { createRng, normalArray } from '../core/rng.ts';

/** Keys in pairs at the same direction: key 2j has norm 1, key 2j + 1 norm 6 (so q·k differs, the angle not). */
function pairedInput(n: number, d: number, m: number, seed: number) {
  const rng = createRng(seed);
  const k = new Float32Array(n * d);
  for (let j = 0; j < n; j += 2) {
    const u = normalArray(rng, d);
    const norm = Math.hypot(...u);
    for (let c = 0; c < d; c++) {
      k[j * d + c] = u[c]! / norm;
      k[(j + 1) * d + c] = (6 * u[c]!) / norm;
    }
  }
  return { m, n, d, dv: 2, q: normalArray(rng, m * d), k, v: normalArray(rng, n * 2), seed };
}

test('simple-LSH finds the longer of two keys at the same angle (the larger q·k) more often; plain SimHash cannot tell them apart', async () => {
  const input = pairedInput(4000, 16, 24, 3);
  const share = async (transform: 'none' | 'simple'): Promise<number> => {
    const out = (await runAttention('lsh', input, { tables: 24, bits: 6, transform, mode: 'sample' })).output;
    // Among candidates with q·k > 0 (where a longer key has the larger inner product; below 0 it has the smaller).
    let long = 0, all = 0;
    out.selected!.forEach((sel, i) => {
      for (const j of sel) {
        let s = 0;
        for (let c = 0; c < input.d; c++) s += input.q[i * input.d + c]! * input.k[j * input.d + c]!;
        if (s <= 0) continue;
        all++;
        if (j % 2 === 1) long++;
      }
    });
    return long / all;
  };
  const plain = await share('none'), simple = await share('simple');
  assert.ok(Math.abs(plain - 0.5) < 0.02, `plain SimHash: long keys are ${plain} of the candidates (same angles: ½)`);
  assert.ok(simple > plain + 0.05, `simple-LSH: long keys are ${simple} of the candidates with q·k > 0 (plain ${plain})`);
});

test('simple-LSH: append equals preparing the concatenation, with and without a key longer than every old one', async () => {
  const base = pairedInput(600, 8, 5, 4);
  const d = base.d;
  for (const [name, scaleNew] of [['shorter', 0.5], ['longer', 20]] as const) {
    const extra = normalArray(createRng(9), 40 * d).map((x) => x * scaleNew);
    const whole = { ...base, n: 640, k: Float32Array.from([...base.k, ...extra]), v: Float32Array.from([...base.v, ...normalArray(createRng(10), 80)]) };
    for (const mode of ['topk', 'sample'] as const) {
      const given = { transform: 'simple', mode, tables: 6, bits: 5 } as const;
      const { prepared } = await prepareAttention('lsh', kvOf(base), given);
      const grown = await lsh.append!(prepared, extra, whole.v.slice(600 * 2));
      const a = (await attendPrepared(grown, queryOf(whole))).output;
      const b = (await runAttention('lsh', whole, given)).output;
      assert.deepEqual(a.selected, b.selected, `${name} ${mode}: same candidates`);
      assert.deepEqual(a.out, b.out, `${name} ${mode}: same output`);
    }
  }
});

test('simple-LSH with bits = 0 and k = n is exact attention', async () => {
  const input = pairedInput(200, 8, 4, 5);
  const out = (await runAttention('lsh', input, { transform: 'simple', bits: 0, k: 200 })).output;
  assert.ok(relL2(out.out, referenceAttention64(input)) < 1e-6);
});
