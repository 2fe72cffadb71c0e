/**
 * A tiny graph-writing helper for the synthetic models of synthetic.ts: names values, adds seeded weights and
 * constants, and keeps node order topological, so a model reads like the exporter code it imitates.
 */
import { createRng, normalArray, type Rng } from '../core/rng.ts';
import {
  DataType, attr, graph, model, node, opset, tensor, tensorValueInfo,
  type AttributeProto, type Dim, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from '../onnx/index.ts';

export class GraphWriter {
  readonly nodes: NodeProto[] = [];
  readonly inits: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private count = 0;
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = createRng(seed);
  }

  private fresh(hint: string): string {
    return `${hint}_${this.count++}`;
  }

  input(name: string, elemType: number, shape: readonly Dim[]): string {
    this.inputs.push(tensorValueInfo(name, elemType, shape));
    return name;
  }

  output(name: string, elemType = DataType.FLOAT): void {
    this.outputs.push(tensorValueInfo(name, elemType, null));
  }

  /** A seeded N(0, sd²) float32 weight. */
  weight(hint: string, dims: readonly number[], sd = 0.2): string {
    const name = this.fresh(hint);
    this.inits.push(tensor(name, dims, normalArray(this.rng, dims.reduce((a, b) => a * b, 1), sd)));
    return name;
  }

  f32(hint: string, dims: readonly number[], data: readonly number[]): string {
    const name = this.fresh(hint);
    this.inits.push(tensor(name, dims, Float32Array.from(data)));
    return name;
  }

  /** A float32 initializer holding `data` (converted weights). */
  init(hint: string, dims: readonly number[], data: Float32Array): string {
    const name = this.fresh(hint);
    this.inits.push(tensor(name, dims, data));
    return name;
  }

  i64(hint: string, data: readonly number[], dims: readonly number[] = [data.length]): string {
    const name = this.fresh(hint);
    this.inits.push(tensor(name, dims, BigInt64Array.from(data.map(BigInt))));
    return name;
  }

  bool(hint: string, dims: readonly number[], data: readonly boolean[]): string {
    const name = this.fresh(hint);
    this.inits.push(tensor(name, dims, Uint8Array.from(data.map(Number)), DataType.BOOL));
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: readonly string[], attributes: readonly AttributeProto[] = [], domain = '', name?: string): string {
    const out = this.fresh(opType.toLowerCase());
    this.nodes.push(node(opType, inputs, [out], { attributes, domain, name: name ?? out }));
    return out;
  }

  /** Adds a node with several outputs. */
  multi(opType: string, inputs: readonly string[], outputs: number, attributes: readonly AttributeProto[] = []): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push(node(opType, inputs, outs, { attributes, name: outs[0]! }));
    return outs;
  }

  /** Renames the last node's output (so a model output keeps a readable name). */
  rename(from: string, to: string): string {
    for (const n of this.nodes) {
      n.output = (n.output ?? []).map((x) => (x === from ? to : x));
      n.input = (n.input ?? []).map((x) => (x === from ? to : x));
    }
    return to;
  }

  linear(x: string, din: number, dout: number, hint: string): string {
    return this.op('Add', [this.op('MatMul', [x, this.weight(`${hint}_w`, [din, dout])]), this.weight(`${hint}_b`, [dout], 0.05)]);
  }

  build(name: string, opsetVersion = 17, extraOpsets: readonly [string, number][] = [], irVersion?: number): ModelProto {
    return model({
      graph: graph({ name, nodes: this.nodes, inputs: this.inputs, outputs: this.outputs, initializers: this.inits }),
      opsets: [opset('', opsetVersion), ...extraOpsets.map(([d, v]) => opset(d, v))],
      ...(irVersion !== undefined ? { irVersion } : {}),
    });
  }
}

export { attr, DataType };
