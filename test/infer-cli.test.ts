import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../io/npy.ts';
import { encodeModel, graph, model, node, opset, tensorValueInfo, DataType, type ModelProto } from '../onnx/index.ts';
import { bertModel, gpt2Model } from '../infer/synthetic.ts';
import { infer } from '../infer/infer.ts';
import { npyWorkload } from '../bench/workloads/npy.ts';
import type { HostTensor } from '../infer/tensors.ts';
import { runCli, type CliRun } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-infer-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[]): Promise<CliRun> => runCli(...argv);

/** Moves every initializer of more than 16 values into one external file next to the model. */
function withExternalData(m: ModelProto, path: string): void {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of m.graph?.initializer ?? []) {
    if (!t.rawData || t.rawData.byteLength <= 64) continue;
    chunks.push(t.rawData);
    t.externalData = [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(t.rawData.byteLength) }];
    t.dataLocation = 1;
    offset += t.rawData.byteLength;
    delete t.rawData;
  }
  writeFileSync(join(path, '..', 'weights.bin'), Buffer.concat(chunks));
  writeFileSync(path, encodeModel(m));
}

const ids = join(dir, 'ids.npy');
writeNpy(ids, { dtype: 'int64', shape: [1, 6], data: BigInt64Array.from([3n, 9n, 14n, 2n, 7n, 1n]) });

test('qattn infer --model --feed --out --capture --json on a GPT-2-style model', async () => {
  const path = join(dir, 'gpt2.onnx');
  writeFileSync(path, encodeModel(gpt2Model()));
  const out = join(dir, 'logits.npy'), cap = join(dir, 'cap');
  const r = await run(['infer', '--model', path, '--feed', `input_ids=${ids}`, '--attention', 'topk-exact', '--opt', 'k=2', '--out', out, '--capture', cap, '--json']);
  assert.equal(r.code, 0, r.err.join('\n'));
  const j = JSON.parse(r.out[0]!) as { blocks: { name: string; pattern: string; heads: number; headDim: number; causal: boolean }[]; fidelity: { maxAbs: number; kl: number; top1: number } };
  assert.equal(j.blocks.length, 2);
  assert.ok(j.blocks.every((b) => b.causal && b.heads === 4 && b.headDim === 4 && b.pattern === 'decomposed'));
  assert.ok(j.fidelity.kl >= 0 && j.fidelity.top1 >= 0 && j.fidelity.top1 <= 1);
  assert.deepEqual(readNpy(out).shape, [1, 6, 50]);
  const w = npyWorkload({ q: join(cap, 'block00_h.0.attn.matmul_1', 'q.npy'), k: join(cap, 'block00_h.0.attn.matmul_1', 'k.npy'), v: join(cap, 'block00_h.0.attn.matmul_1', 'v.npy') });
  assert.equal(w.maxN, 6);
  assert.equal(w.fixedD, 4);
});

test('a model with external data loads, and exact reproduces it', async () => {
  const sub = join(dir, 'ext');
  mkdirSync(sub);
  const path = join(sub, 'bert.onnx');
  withExternalData(bertModel(), path);
  const am: HostTensor = { type: 'int64', dims: [1, 6], data: BigInt64Array.from([1n, 1n, 1n, 1n, 0n, 0n]) };
  const r = await infer({ model: path, feeds: new Map([['input_ids', { type: 'int64', dims: [1, 6], data: readNpy(ids).data as BigInt64Array }], ['attention_mask', am]]), method: 'exact' });
  assert.ok(r.report.fidelity.maxAbs <= 1e-4);
  assert.equal(r.report.blocks.length, 2);
});

test('bad models: not ONNX, no attention block, missing feed — one line, exit 2', async () => {
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'this is not a protobuf model');
  let r = await run(['infer', '--model', junk, '--feed', `input_ids=${ids}`]);
  assert.equal(r.code, 2);
  assert.match(r.err[0]!, /^qattn: .*junk\.onnx/);
  const plain = join(dir, 'relu.onnx');
  writeFileSync(plain, encodeModel(model({ graph: graph({ name: 'g', nodes: [node('Relu', ['x'], ['y'])], inputs: [tensorValueInfo('x', DataType.FLOAT, [2])], outputs: [tensorValueInfo('y', DataType.FLOAT, [2])] }), opsets: [opset('', 17)] })));
  r = await run(['infer', '--model', plain, '--feed', `x=${ids}`]);
  assert.equal(r.code, 2);
  assert.match(r.err[0]!, /no attention block found .*decomposed.*onnx-attention.*ms-multihead-attention/);
  r = await run(['infer', '--model', join(dir, 'gpt2.onnx'), '--feed', `wrong=${ids}`]);
  assert.equal(r.code, 2);
  assert.match(r.err[0]!, /input_ids/);
  assert.equal(existsSync(join(dir, 'nothing.npy')), false);
});
