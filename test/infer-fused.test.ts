import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, type ModelProto } from '../onnx/index.ts';
import { infer } from '../infer/infer.ts';
import { loadInferModel } from '../infer/model.ts';
import { msMultiHeadModel, onnxAttentionModel } from '../infer/synthetic-fused.ts';
import type { HostTensor } from '../infer/tensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-infer-fused-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const save = (name: string, m: ModelProto): string => {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, encodeModel(m));
  return path;
};
const x = (b: number, s: number, h: number): HostTensor => ({ type: 'float32', dims: [b, s, h], data: Float32Array.from({ length: b * s * h }, (_, i) => Math.sin(i * 0.37)) });

test('ONNX Attention (opset 23, GQA, is_causal): found and reproduced by exact', async () => {
  const path = save('attn23', onnxAttentionModel());
  const im = await loadInferModel(path);
  assert.deepEqual(im.blocks.map((b) => b.pattern), ['onnx-attention']);
  const r = await infer({ model: path, feeds: new Map([['x', x(2, 6, 16)]]), method: 'exact' });
  assert.ok(r.report.fidelity.maxAbs <= 1e-4, `max abs ${r.report.fidelity.maxAbs}`);
  assert.equal(r.report.blocks[0]!.causal, true);
  assert.equal(r.report.blocks[0]!.heads, 4);
  const sparse = await infer({ model: path, feeds: new Map([['x', x(2, 6, 16)]]), method: 'topk-exact', options: { k: 1 } });
  assert.ok(sparse.report.fidelity.maxAbs > 1e-3);
});

test('com.microsoft MultiHeadAttention with bias and key padding: reproduced by exact', async () => {
  const path = save('mha', msMultiHeadModel());
  const pad: HostTensor = { type: 'int32', dims: [2, 5], data: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]) };
  const r = await infer({ model: path, feeds: new Map([['x', x(2, 5, 16)], ['key_padding_mask', pad]]), method: 'exact' });
  assert.deepEqual(r.report.blocks.map((b) => b.pattern), ['ms-multihead-attention']);
  assert.ok(r.report.fidelity.maxAbs <= 1e-4, `max abs ${r.report.fidelity.maxAbs}`);
});
