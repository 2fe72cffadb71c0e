import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QattnError } from '../core/errors.ts';
import { attr, encodeModel, type ModelProto } from '../onnx/index.ts';
import { runSwapped } from '../infer/execute.ts';
import { infer } from '../infer/infer.ts';
import { loadInferModel } from '../infer/model.ts';
import { msAttentionModel, msGqaModel } from '../infer/synthetic-fused.ts';
import type { HostTensor } from '../infer/tensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-infer-fused-ms-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let saved = 0;
const save = (m: ModelProto): string => {
  const path = join(dir, `m${saved++}.onnx`);
  writeFileSync(path, encodeModel(m));
  return path;
};
const f32 = (dims: number[], phase = 0): HostTensor => ({
  type: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + phase)),
});
const i32 = (dims: number[], data: number[]): HostTensor => ({ type: 'int32', dims, data: Int32Array.from(data) });

/** Feeds of msGqaModel: S new tokens after a cache of P, sequence b holding seqlens[b] + 1 keys in all. */
const gqaFeeds = (b: number, s: number, p: number, seqlens: number[], total: number): Map<string, HostTensor> => new Map([
  ['x', f32([b, s, 64])], ['past_key', f32([b, 2, p, 16], 1)], ['past_value', f32([b, 2, p, 16], 2)],
  ['seqlens_k', i32([b], seqlens)], ['total_sequence_length', i32([], [total])],
]);

test('com.microsoft Attention (causal, raw 0/1 key padding): exact reproduces it, top-1 changes it', async () => {
  const path = save(msAttentionModel({ causal: true }));
  const feeds = new Map([['x', f32([2, 6, 16])], ['mask_index', i32([2, 6], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0])]]);
  const r = await infer({ model: path, feeds, method: 'exact' });
  assert.deepEqual(r.report.blocks.map((b) => b.pattern), ['ms-attention']);
  assert.ok(r.report.fidelity.maxAbs <= 1e-4, `max abs ${r.report.fidelity.maxAbs}`);
  assert.equal(r.report.blocks[0]!.causal, true);
  assert.equal(r.report.blocks[0]!.heads, 4);
  const sparse = await infer({ model: path, feeds, method: 'topk-exact', options: { k: 1 } });
  assert.ok(sparse.report.fidelity.maxAbs > 1e-3, `max abs ${sparse.report.fidelity.maxAbs}`);
});

test('com.microsoft Attention with qkv_hidden_sizes, 1-D mask_index and scale: exact reproduces it', async () => {
  const path = save(msAttentionModel({ qkvSizes: [16, 16, 8], maskRank: 1, scale: 0.4 }));
  const feeds = new Map([['x', f32([2, 6, 16])], ['mask_index', i32([2], [6, 3])]]);
  const r = await infer({ model: path, feeds, method: 'exact' });
  assert.ok(r.report.fidelity.maxAbs <= 1e-4, `max abs ${r.report.fidelity.maxAbs}`);
  assert.equal(r.report.blocks[0]!.headDim, 4);
  assert.equal(r.report.blocks[0]!.causal, false);
});

test('GroupQueryAttention first prompt (rotary, grouped heads, a shorter sequence): exact reproduces it, top-1 changes it', async () => {
  const path = save(msGqaModel({ rotary: 'halves' }));
  const feeds = gqaFeeds(2, 5, 0, [4, 2], 5);
  const r = await infer({ model: path, feeds, method: 'exact' });
  assert.deepEqual(r.report.blocks.map((b) => b.pattern), ['ms-group-query-attention']);
  assert.ok(r.report.fidelity.maxAbs <= 1e-4, `max abs ${r.report.fidelity.maxAbs}`);
  assert.equal(r.report.blocks[0]!.heads, 4);
  const sparse = await infer({ model: path, feeds, method: 'topk-exact', options: { k: 1 } });
  assert.ok(sparse.report.fidelity.maxAbs > 1e-3, `max abs ${sparse.report.fidelity.maxAbs}`);
});

test('GroupQueryAttention decoding from a KV cache (interleaved rotary, ragged lengths): exact reproduces it', async () => {
  const path = save(msGqaModel({ rotary: 'interleaved' }));
  const r = await infer({ model: path, feeds: gqaFeeds(2, 1, 6, [6, 3], 7), method: 'exact' });
  assert.ok(r.report.fidelity.maxAbs <= 1e-4, `max abs ${r.report.fidelity.maxAbs}`);
  assert.equal(r.report.blocks[0]!.n, 7);
  const sparse = await infer({ model: path, feeds: gqaFeeds(2, 1, 6, [6, 3], 7), method: 'topk-exact', options: { k: 1 } });
  assert.ok(sparse.report.fidelity.maxAbs > 1e-3, `max abs ${sparse.report.fidelity.maxAbs}`);
});

test('GroupQueryAttention continuing a prompt after a cache, with local_window_size and scale: exact reproduces it', async () => {
  const path = save(msGqaModel({ extraAttrs: [attr.int('local_window_size', 3), attr.float('scale', 0.3)] }));
  const r = await infer({ model: path, feeds: gqaFeeds(1, 3, 4, [6], 7), method: 'exact' });
  assert.ok(r.report.fidelity.maxAbs <= 1e-4, `max abs ${r.report.fidelity.maxAbs}`);
  assert.equal(r.report.blocks[0]!.causal, false); // the window hides early keys, so no plain causal mask
});

test('unsupported com.microsoft Attention / GroupQueryAttention variants are refused by name before onnxruntime runs', async () => {
  const cases: [ModelProto, RegExp][] = [
    [msAttentionModel({ bias: false }), /Attention node 'attn' has no bias input, which crashes onnxruntime/],
    [msAttentionModel({ extraAttrs: [attr.int('do_rotary', 1)] }), /do_rotary, which onnxruntime-node's CPU Attention kernel does not run/],
    [msAttentionModel({ qkvSizes: [16, 8, 16] }), /qkv_hidden_sizes \[16,8,16\]/],
    [msGqaModel({ presentOutputs: true }), /present_key\/present_value outputs are used downstream/],
    [msGqaModel({ packed: true }), /GroupQueryAttention node 'gqa' packs Q\/K\/V/],
    [msGqaModel({ extraAttrs: [attr.float('softcap', 30)] }), /softcap/],
    [msGqaModel({ extraAttrs: [attr.int('smooth_softmax', 1)] }), /smooth_softmax/],
  ];
  for (const [m, message] of cases) {
    await assert.rejects(loadInferModel(save(m)), (e: unknown) => e instanceof QattnError && message.test(e.message));
  }
});

test('GroupQueryAttention lengths that do not fit the inputs are a QattnError, not a read past the cache', async () => {
  const im = await loadInferModel(save(msGqaModel()));
  await assert.rejects(
    runSwapped(im, gqaFeeds(1, 2, 3, [9], 11), { method: 'exact', options: {}, seed: 0 }),
    (e: unknown) => e instanceof QattnError && /seqlens_k\[0\] = 9 does not fit 2 new tokens and a cache of 3/.test(e.message),
  );
});
