import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  AttrType, DataType, attr, attrValue, decodeMessage, decodeModel, encodeMessage, encodeModel, getAttr, graph, model,
  node, opset, readTensorData, tensor, tensorValueInfo, valueInfoShape,
} from '../onnx/index.ts';
import type { ModelProto, TensorProto } from '../onnx/index.ts';

// A hand-written protobuf writer, independent of protobufjs, so the golden bytes below check the schema's
// field numbers and wire types against onnx.proto rather than against itself.
function varint(x: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(x));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}
const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
const vint = (field: number, x: number | bigint): number[] => [...tag(field, 0), ...varint(x)];
const bytes = (field: number, b: readonly number[]): number[] => [...tag(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string): number[] => bytes(field, [...new TextEncoder().encode(s)]);
const f32 = (field: number, x: number): number[] => [...tag(field, 5), ...new Uint8Array(new Float32Array([x]).buffer)];

test('encoding matches hand-written onnx.proto bytes (field numbers, wire types, field order)', () => {
  const w = new Float32Array([1, -2, 0.5, 3]);
  const raw = [...new Uint8Array(w.buffer)];
  const built = model({
    graph: graph({
      name: 'g',
      nodes: [node('Softmax', ['x'], ['y'], { attributes: [attr.int('axis', -1), attr.float('eps', 0.25)], domain: 'ai.test', name: 'sm' })],
      inputs: [tensorValueInfo('x', DataType.FLOAT, ['batch', 4])],
      outputs: [tensorValueInfo('y', DataType.FLOAT, null)],
      initializers: [tensor('w', [2, 2], w)],
    }),
    opsets: [opset('', 17)],
    irVersion: 8,
    producerName: 'p',
  });
  const attrAxis = [...str(1, 'axis'), ...vint(3, -1), ...vint(20, AttrType.INT)];
  const attrEps = [...str(1, 'eps'), ...f32(2, 0.25), ...vint(20, AttrType.FLOAT)];
  const nodeBytes = [...str(1, 'x'), ...str(2, 'y'), ...str(3, 'sm'), ...str(4, 'Softmax'), ...bytes(5, attrAxis), ...bytes(5, attrEps), ...str(7, 'ai.test')];
  const init = [...vint(1, 2), ...vint(1, 2), ...vint(2, DataType.FLOAT), ...str(8, 'w'), ...bytes(9, raw)];
  const shape = [...bytes(1, str(2, 'batch')), ...bytes(1, vint(1, 4))];
  const xType = bytes(1, [...vint(1, DataType.FLOAT), ...bytes(2, shape)]);
  const yType = bytes(1, vint(1, DataType.FLOAT));
  const graphBytes = [
    ...bytes(1, nodeBytes), ...str(2, 'g'), ...bytes(5, init),
    ...bytes(11, [...str(1, 'x'), ...bytes(2, xType)]), ...bytes(12, [...str(1, 'y'), ...bytes(2, yType)]),
  ];
  const expected = [...vint(1, 8), ...str(2, 'p'), ...bytes(7, graphBytes), ...bytes(8, [...str(1, ''), ...vint(2, 17)])];
  assert.deepEqual([...encodeModel(built)], expected);
});

test('decode → encode round trip is lossless: int64 extremes, oneofs, subgraphs, functions, external data', () => {
  const int64Max = 9223372036854775807n;
  const sub = graph({ name: 'then', nodes: [node('Identity', ['a'], ['b'])], inputs: [], outputs: [tensorValueInfo('b', DataType.INT64, [])] });
  const m: ModelProto = {
    irVersion: 10,
    opsetImport: [{ domain: '', version: 21 }, { domain: 'com.microsoft', version: 1 }],
    producerName: 'pytorch', producerVersion: '2.5', modelVersion: -3, docString: 'doc',
    metadataProps: [{ key: 'k', value: 'v' }],
    graph: {
      name: 'main',
      node: [
        { opType: 'Slice', input: ['x', 's', 'e'], output: ['y'], attribute: [attr.ints('ends', [int64Max, -(2n ** 63n), 5])] },
        { opType: 'If', input: ['c'], output: ['z'], attribute: [attr.graph('then_branch', sub), attr.strings('tags', ['α', 'b'])], overload: 'o1' },
      ],
      initializer: [
        { name: 'e', dims: [3], dataType: DataType.INT64, int64Data: [int64Max, -1, 2 ** 40] },
        { name: 'u', dims: [1], dataType: DataType.UINT64, uint64Data: [18446744073709551615n] },
        { name: 'big', dims: [1024, 1024], dataType: DataType.FLOAT, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '4096' }] },
      ],
      input: [tensorValueInfo('x', DataType.FLOAT16, ['batch', null, 8])],
      output: [tensorValueInfo('y', DataType.FLOAT16, [1, 'n'])],
      valueInfo: [{ name: 'q', type: { sequenceType: { elemType: { tensorType: { elemType: DataType.INT32 } } } } }],
    },
    functions: [{ name: 'f', domain: 'custom', input: ['a'], output: ['b'], node: [node('Relu', ['a'], ['b'])], opsetImport: [{ domain: '', version: 21 }] }],
  };
  const back = decodeModel(encodeModel(m));
  assert.deepEqual(encodeModel(back), encodeModel(m));
  const nodes = back.graph?.node ?? [];
  assert.deepEqual(getAttr(nodes[0]!, 'ends')?.ints, [int64Max, -(2n ** 63n), 5]);
  assert.deepEqual(back.graph?.initializer?.[0]?.int64Data, [int64Max, -1, 2 ** 40]);
  assert.deepEqual(back.graph?.initializer?.[1]?.uint64Data, [18446744073709551615n]);
  assert.equal(back.modelVersion, -3);
  assert.deepEqual(attrValue(getAttr(nodes[1]!, 'tags')!), ['α', 'b']);
  const thenBranch = attrValue(getAttr(nodes[1]!, 'then_branch')!) as ReturnType<typeof graph>;
  assert.equal(thenBranch.node?.[0]?.opType, 'Identity');
  assert.deepEqual(valueInfoShape(back.graph!.input![0]!), ['batch', null, 8]);
  assert.equal(back.functions?.[0]?.node?.[0]?.opType, 'Relu');
  // Repeated fields are always arrays after decode; unset singular fields are absent.
  assert.deepEqual(back.graph?.sparseInitializer, []);
  assert.equal('docString' in (back.graph ?? {}), false);
});

test('decoder accepts packed and unpacked repeated int64 (writers differ)', () => {
  const unpacked = [...vint(1, 2), ...vint(1, 3), ...vint(2, DataType.FLOAT)];
  const packed = [...bytes(1, [...varint(2), ...varint(3)]), ...vint(2, DataType.FLOAT)];
  for (const b of [unpacked, packed]) {
    const t = decodeMessage<TensorProto>('TensorProto', Uint8Array.from(b));
    assert.deepEqual(t.dims, [2, 3]);
    assert.equal(t.dataType, DataType.FLOAT);
  }
});

test('encode rejects unknown fields and non-integer int64 values with a clear message', () => {
  assert.throws(() => encodeMessage('NodeProto', { opType: 'Relu', inputs: ['x'] }), /NodeProto.*no field 'inputs'/);
  assert.throws(() => encodeMessage('TensorProto', { dims: [1.5] }), /dims\[0\] must be an integer/);
});

test('tensor data: raw_data, typed fields and external files read back as typed arrays', async () => {
  const raw = tensor('a', [2, 3], Int32Array.from([1, -2, 3, -4, 5, 6]));
  assert.deepEqual([...(await readTensorData(decodeMessage<TensorProto>('TensorProto', encodeMessage('TensorProto', raw))))], [1, -2, 3, -4, 5, 6]);
  const inline: TensorProto = { dims: [2], dataType: DataType.FLOAT, floatData: [0.5, -1] };
  assert.deepEqual([...(await readTensorData(inline))], [0.5, -1]);
  const i64 = await readTensorData({ dims: [2], dataType: DataType.INT64, int64Data: [-(2n ** 62n), 7] });
  assert.deepEqual([...i64], [-(2n ** 62n), 7n]);
  const dir = await mkdtemp(join(tmpdir(), 'qattn-onnx-'));
  try {
    const payload = new Float32Array([9, 8, 7]);
    await writeFile(join(dir, 'w.bin'), Buffer.concat([Buffer.alloc(16), Buffer.from(payload.buffer)]));
    const ext: TensorProto = { dims: [3], dataType: DataType.FLOAT, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '16' }, { key: 'length', value: '12' }] };
    assert.deepEqual([...(await readTensorData(ext, dir))], [9, 8, 7]);
    await assert.rejects(readTensorData(ext), /needs the model's directory/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a built graph with an initializer and symbolic dims runs in onnxruntime', async () => {
  const g = graph({
    name: 'affine',
    nodes: [node('Mul', ['x', 'w'], ['xw']), node('Add', ['xw', 'one'], ['y'])],
    inputs: [tensorValueInfo('x', DataType.FLOAT, ['rows', 2])],
    outputs: [tensorValueInfo('y', DataType.FLOAT, ['rows', 2])],
    initializers: [tensor('w', [2], new Float32Array([2, -3])), tensor('one', [], new Float32Array([1]))],
  });
  const session = await ort.InferenceSession.create(encodeModel(model({ graph: g, opsets: [opset('', 17)] })));
  try {
    const r = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 0.5, 2]), [2, 2]) });
    assert.deepEqual([...(r.y!.data as Float32Array)], [3, -2, 2, -5]);
  } finally {
    await session.release();
  }
});
