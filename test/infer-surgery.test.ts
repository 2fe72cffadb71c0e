import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, type ModelProto } from '../onnx/index.ts';
import { infer } from '../infer/infer.ts';
import { loadInferModel } from '../infer/model.ts';
import { planStages } from '../infer/split.ts';
import { bertModel, gpt2Model, llamaModel } from '../infer/synthetic.ts';
import type { HostTensor } from '../infer/tensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-infer-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function save(name: string, m: ModelProto): string {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, encodeModel(m));
  return path;
}

const ids = (b: number, s: number, seed: number): HostTensor => ({
  type: 'int64', dims: [b, s], data: BigInt64Array.from({ length: b * s }, (_, i) => BigInt((i * 7 + seed * 13) % 50)),
});

const cases = [
  { name: 'gpt2', model: gpt2Model(), causal: true, feeds: () => new Map([['input_ids', ids(2, 9, 1)]]) },
  { name: 'llama', model: llamaModel(), causal: true, feeds: () => new Map([['input_ids', ids(2, 7, 2)]]) },
  {
    name: 'bert', model: bertModel(), causal: false,
    feeds: () => new Map([['input_ids', ids(2, 8, 3)], ['attention_mask', { type: 'int64', dims: [2, 8], data: BigInt64Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0].map(BigInt)) }]]),
  },
] as const;

for (const c of cases) {
  test(`${c.name}: finds every block and splits the graph once per block`, async () => {
    const im = await loadInferModel(save(c.name, c.model));
    assert.equal(im.blocks.length, 2);
    assert.ok(im.blocks.every((b) => b.pattern === 'decomposed'));
    const stages = planStages(im.index, im.blocks);
    assert.equal(stages.length, 3);
    assert.deepEqual(stages.map((s) => s.blocks.length), [1, 1, 0]);
  });

  test(`${c.name}: exact swapped in reproduces the model (≤ 1e-4) and a sparse mechanism does not`, async () => {
    const path = save(c.name, c.model);
    const exact = await infer({ model: path, feeds: c.feeds(), method: 'exact' });
    assert.ok(exact.report.fidelity.maxAbs <= 1e-4, `max abs ${exact.report.fidelity.maxAbs}`);
    for (const b of exact.report.blocks) {
      assert.equal(b.causal, c.causal);
      assert.equal(b.heads, 4);
      assert.equal(b.batch, 2);
      assert.equal(b.headDim, 4);
      assert.ok(b.fidelity.maxAbs <= 1e-4);
    }
    const sparse = await infer({ model: path, feeds: c.feeds(), method: 'topk-exact', options: { k: 1 } });
    assert.ok(sparse.report.fidelity.maxAbs > 1e-3, `top-1 attention should change the output (${sparse.report.fidelity.maxAbs})`);
    if (c.causal) {
      assert.ok(sparse.report.fidelity.kl !== undefined && sparse.report.fidelity.top1 !== undefined);
      assert.equal(exact.report.fidelity.top1, 1);
    }
  });
}
