/**
 * The shipped byte-level GPT-2 (models/gpt2-bytes) and `qattn eval` (infer/eval.ts): exact attention swapped in
 * reproduces the unmodified model's logits; bits/byte equals a direct computation from the logits; --layers swaps
 * only the blocks named; the copy task's window and scoring on known cases; the CLI's errors are one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runReference, runSwapped, type TensorMap } from '../infer/execute.ts';
import { bitsPerByte, copyWindow, corpusWindows, type EvalVariant, type EvalWindow } from '../infer/eval.ts';
import { evaluateSets } from '../infer/eval-pool.ts';
import type { InferModel } from '../infer/model.ts';

/** One set of windows evaluated in this thread. */
const evaluate = async (im: InferModel, windows: EvalWindow[], variants: EvalVariant[], layers: number[] | null, seed: number) =>
  (await evaluateSets(im, [{ name: 'set', windows }], variants, layers, seed, 1))[0]!.result;
import { loadInferModel } from '../infer/model.ts';
import { gpt2BytesDir, resolveModel } from '../infer/models.ts';
import { asFloat32 } from '../infer/tensors.ts';
import { runCli } from './helpers/cli.ts';

const model = loadInferModel(resolveModel('gpt2-bytes').path);

function feeds(bytes: Uint8Array): TensorMap {
  return new Map([
    ['input_ids', { type: 'int64', dims: [1, bytes.length], data: BigInt64Array.from(bytes, (b) => BigInt(b)) }],
    ['attention_mask', { type: 'int64', dims: [1, bytes.length], data: new BigInt64Array(bytes.length).fill(1n) }],
  ]);
}

test('the shipped model is the one its README names, with 4 causal attention blocks of 4 heads × 64', async () => {
  const bytes = readFileSync(`${gpt2BytesDir()}/model.onnx`);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), '8da3c9826abdcb37474c6b6bd5e1e788338b96669930104ab931a58e220fabf6');
  assert.equal((await model).blocks.length, 4);
});

test('exact attention swapped into every block reproduces the unmodified logits (max abs ≤ 1e-4)', async () => {
  const im = await model;
  const [w] = corpusWindows('typescript', 1, 256);
  const ref = asFloat32((await runReference(im, feeds(w!.bytes))).get('logits')!, 'logits');
  const { tensors, blocks } = await runSwapped(im, feeds(w!.bytes), { method: 'exact', options: {}, seed: 0 });
  assert.equal(blocks.length, 4);
  const out = asFloat32(tensors.get('logits')!, 'logits');
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out[i]! - ref[i]!));
  assert.ok(worst <= 1e-4, `max abs ${worst}`);
});

test('bits/byte of the unmodified model equals a direct float64 computation from its logits', async () => {
  const im = await model;
  const [w] = corpusWindows('fortunes', 1, 128);
  const logits = asFloat32((await runReference(im, feeds(w!.bytes))).get('logits')!, 'logits');
  let direct = 0;
  for (let t = 1; t < 128; t++) {
    const row = Array.from(logits.subarray((t - 1) * 256, t * 256));
    const z = row.reduce((s, x) => s + Math.exp(x), 0);
    direct += -Math.log2(Math.exp(row[w!.bytes[t]!]!) / z);
  }
  direct /= 127;
  assert.ok(Math.abs(bitsPerByte(logits, w!.bytes, 1) - direct) < 1e-9, `${bitsPerByte(logits, w!.bytes, 1)} vs ${direct}`);
  assert.ok(direct > 0.3 && direct < 4, `a trained model on English: ${direct} bits/byte`);
});

test('--layers swaps only the named blocks; the others stay unmodified inside onnxruntime', async () => {
  const im = await model;
  const [w] = corpusWindows('typescript', 1, 64);
  const { blocks } = await runSwapped(im, feeds(w!.bytes), { method: 'topk-exact', options: { k: 4 }, seed: 0, layers: [0, 2] });
  assert.deepEqual(blocks.map((b) => im.blocks.indexOf(b.block)), [0, 2]);
  const r = await evaluate(im, [w!], [{ label: 'topk-exact[k=4]', method: 'topk-exact', options: { k: 4 }, budget: null }], [1], 0);
  assert.deepEqual(r.variants[0]!.blocks.map((b) => b.block), [1]);
  assert.ok(r.variants[0]!.blocks[0]!.density! < 1, 'k = 4 of up to 64 keys');
});

test('the copy task: L bytes of validation text twice, scored on the second copy from position L + 1', async () => {
  const w = copyWindow('fortunes', 8, 100);
  assert.equal(w.bytes.length, 16);
  assert.deepEqual([...w.bytes.subarray(0, 8)], [...w.bytes.subarray(8)]);
  assert.deepEqual([...w.bytes.subarray(0, 8)], [...readFileSync(`${gpt2BytesDir()}/fortunes.validation.txt`).subarray(100, 108)]);
  assert.equal(w.scoreFrom, 9);
  // Known case: logits that put probability 1/2 on the right byte at every scored position give 1 bit/byte.
  const logits = new Float32Array(16 * 256).fill(-1e9);
  for (let t = 1; t < 16; t++) {
    logits[(t - 1) * 256 + w.bytes[t]!] = 0;
    logits[(t - 1) * 256 + ((w.bytes[t]! + 1) % 256)] = 0;
  }
  assert.ok(Math.abs(bitsPerByte(logits, w.bytes, w.scoreFrom) - 1) < 1e-9);
  // The unmodified model copies: its second copy costs far fewer bits than its first.
  const r = await evaluate(await model, [copyWindow('fortunes', 128, 1000)], [], null, 0);
  assert.ok(r.exactFirstCopyBitsPerByte! - r.exactBitsPerByte > 0.5, `first ${r.exactFirstCopyBitsPerByte}, second ${r.exactBitsPerByte}`);
});

test('qattn eval: bad flags are one clear line and exit 2', async () => {
  for (const [args, re] of [
    [['--corpus', '/nonexistent/file.txt'], /--corpus \/nonexistent\/file.txt: not fortunes or typescript/],
    [['--attention', 'nope'], /unknown/],
    [['--layers', '7', '--attention', 'exact', '--windows', '1', '--window-bytes', '16', '--copy', '0'], /--layers must list block indices in \[0, 3\]/],
    [['--window-bytes', '2048'], /--window-bytes must be in \[2, 1024\]/],
    [['--windows', '200', '--corpus', 'fortunes'], /fewer than --windows 200/],
    [['--windows', '0', '--copy', '0'], /leaves nothing to evaluate/],
  ] as const) {
    const r = await runCli('eval', ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err.length, 1, r.err.join('\n'));
    assert.match(r.err[0]!, re);
  }
});

test('qattn infer --model gpt2-bytes --text: UTF-8 bytes in, and every block says what the swap did', async () => {
  const all = await runCli('infer', '--model', 'gpt2-bytes', '--attention', 'topk-exact', '--opt', 'k=64', '--text', 'const x = 1;');
  assert.equal(all.code, 0, all.err.join('\n'));
  const fell = all.out.filter((l) => /fell back to exact attention \(k ≥ n\)/.test(l));
  assert.equal(fell.length, 4, 'k = 64 ≥ the 12 bytes: every block is exact, and says so');
  const sparse = await runCli('infer', '--model', 'gpt2-bytes', '--attention', 'topk-exact', '--opt', 'k=2', '--text', 'const x = 1;', '--json');
  const report = JSON.parse(sparse.out[0]!) as { blocks: Array<{ density: number; keysPerQuery: number; cost: Record<string, number | null> }> };
  assert.equal(report.blocks.length, 4);
  for (const b of report.blocks) {
    // Causal over 12 positions: query i sees i + 1 keys and keeps min(2, i + 1): (1 + 11·2)/12 per query.
    assert.ok(Math.abs(b.keysPerQuery - 23 / 12) < 1e-9, String(b.keysPerQuery));
    assert.ok(Math.abs(b.density - (23 / 12) / 6.5) < 1e-9, String(b.density));
    assert.ok((b.cost['scoreEvaluations'] ?? 0) > 0);
  }
});

test('attention-row metrics: TV = 1 − mass kept and KL(q‖p) = −ln(mass kept) for a restricted softmax; KL(p‖q) finite only when nothing is dropped', async () => {
  const { runAttention } = await import('../attention/run.ts');
  const { referenceWeights } = await import('../attention/kernels/reference.ts');
  const { massOnSelected } = await import('../attention/fidelity.ts');
  const { gaussianInput } = await import('./helpers/workloads.ts');
  const { headRows } = await import('../infer/eval.ts');
  const input = gaussianInput({ m: 4, n: 64, d: 8, dv: 8, seed: 3 });
  const sparse = (await runAttention('topk-exact', input, { k: 8 })).output;
  const rows = headRows(input, sparse, 1)!;
  let tv = 0, kl = 0;
  for (let i = 0; i < 4; i++) {
    const mass = massOnSelected(referenceWeights(input, i), sparse.selected![i]!);
    tv += (1 - mass) / 4;
    kl += -Math.log(mass) / 4;
  }
  assert.ok(Math.abs(rows.tv - tv) < 1e-9 && Math.abs(rows.klApproxExact! - kl) < 1e-9, JSON.stringify(rows));
  assert.equal(rows.klExactApproxFinite, 0, 'a dropped key makes KL(exact ‖ approx) infinite');
  const full = headRows(input, (await runAttention('topk-exact', input, { k: 64 })).output, 1)!;
  assert.ok(full.tv < 1e-12 && full.klExactApproxFinite === 1);
  assert.equal(headRows(input, (await runAttention('l2-sampling', { ...input, seed: 1 })).output), null, 'sampled rows are not a restricted softmax');
  const im = await model;
  const [w] = corpusWindows('typescript', 1, 64);
  const r = await evaluate(im, [w!], [{ label: 'topk-exact[k=4]', method: 'topk-exact', options: { k: 4 }, budget: null }], null, 0);
  const heads = r.variants[0]!.blocks.flatMap((b) => b.heads);
  assert.equal(heads.length, 16, 'every head of every block');
  assert.ok(heads.every((h) => h !== null && h.tv > 0 && h.tv < 1));
  assert.ok(r.variants[0]!.attentionTv! > 0);
});

test('qattn eval --out writes eval.json, its charts and its downstream report; qattn report --in eval.json writes them again', async () => {
  const { mkdtempSync, rmSync, existsSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'qattn-eval-'));
  try {
    const r = await runCli('eval', '--attention', 'exact,topk-exact', '--budget', '2,4', '--corpus', 'typescript', '--windows', '1', '--window-bytes', '32',
      '--copy', '8', '--copy-windows', '1', '--out', join(dir, 'run'));
    assert.equal(r.code, 0, r.err.join('\n'));
    const doc = JSON.parse(readFileSync(join(dir, 'run', 'eval.json'), 'utf8')) as { kind: string; sets: Array<{ name: string; result: { variants: Array<{ label: string; budget: number | null; options: { k?: number } }> } }> };
    assert.equal(doc.kind, 'qattn-eval');
    assert.deepEqual(doc.sets.map((s) => s.name), ['typescript', 'copy']);
    const vs = doc.sets[0]!.result.variants;
    assert.deepEqual(vs.map((v) => v.label), ['exact', 'topk-exact[budget=2]', 'topk-exact[budget=4]'], 'exact once, as the baseline; topk-exact at each budget');
    assert.deepEqual(vs.map((v) => [v.budget, v.options.k ?? null]), [[null, null], [2, 2], [4, 4]], 'the budget is topk-exact\'s k');
    const html = readFileSync(join(dir, 'run', 'index.html'), 'utf8');
    assert.match(html, /content="default-src 'none'; style-src 'unsafe-inline'; img-src data:;"/);
    assert.ok(html.includes('topk-exact[budget=4]') && html.includes('Copy task (second copy scored)') && !/<script/i.test(html));
    for (const id of ['eval-budget', 'eval-layers', 'eval-copy']) {
      assert.ok(html.includes(`id="chart-${id}"`), `${id} in the report`);
      for (const ext of ['vl.json', 'svg', 'png']) assert.ok(existsSync(join(dir, 'run', `${id}.${ext}`)), `${id}.${ext}`);
    }
    const again = await runCli('report', '--in', join(dir, 'run', 'eval.json'), '--out', join(dir, 'again'));
    assert.equal(again.code, 0, again.err.join('\n'));
    assert.equal(readFileSync(join(dir, 'again', 'index.html'), 'utf8').replace(/— [^<]*<\/title>/, ''), html.replace(/— [^<]*<\/title>/, ''));
    assert.ok(!existsSync(join(dir, 'again', 'results.csv')), 'no bench outputs for an eval document');
    // A document that breaks the schema (generated from EvalDoc) is one line, and nothing is written.
    const bad = JSON.parse(readFileSync(join(dir, 'run', 'eval.json'), 'utf8')) as { sets: Array<{ result: { exactBitsPerByte: unknown } }> };
    bad.sets[0]!.result.exactBitsPerByte = 'low';
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    const refused = await runCli('report', '--in', join(dir, 'bad.json'), '--out', join(dir, 'bad'));
    assert.equal(refused.code, 2);
    assert.match(refused.err.join('\n'), /^qattn: .*bad\.json does not match the eval\.json schema .*exactBitsPerByte must be number/);
    assert.ok(!existsSync(join(dir, 'bad')), 'nothing written for a document that breaks the schema');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qattn eval --jobs 2 gives the numbers --jobs 1 gives (windows on worker threads; only the times differ)', async () => {
  const args = ['eval', '--attention', 'topk-exact,grover-topk,dequantized-topk', '--opt', 'topk-exact.k=4', '--opt', 'grover-topk.k=4', '--opt', 'dequantized-topk.k=4',
    '--corpus', 'typescript,fortunes', '--windows', '2', '--window-bytes', '48', '--copy', '0', '--json'];
  const one = await runCli(...args, '--jobs', '1');
  const two = await runCli(...args, '--jobs', '2');
  assert.equal(one.code, 0, one.err.join('\n'));
  assert.equal(two.code, 0, two.err.join('\n'));
  const numbers = (out: string[]): unknown => JSON.parse(JSON.stringify(JSON.parse(out.join('')).sets, (k, v: unknown) => (k === 'ms' ? undefined : v)));
  const a = numbers(one.out), b = numbers(two.out);
  assert.deepEqual(b, a);
  assert.equal((JSON.parse(two.out.join('')) as { jobs: number }).jobs, 2);
});
