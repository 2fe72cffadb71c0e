/**
 * Small builders for hand-written ONNX graphs (the shapes of onnx.helper's make_node / make_tensor_value_info /
 * make_graph / make_model, in TypeScript). They return plain onnx/types.ts objects, so a built graph can be
 * inspected, edited and encoded like a decoded one.
 */
import type {
  AttributeProto, Int64, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeDimension, ValueInfoProto,
} from './types.ts';

/** AttributeProto.AttributeType codes (onnx.proto). */
export const AttrType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9,
  GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

/**
 * IR version of models built here. IR 8 (ONNX 1.10) is the oldest that carries opset 17's ops and is read by
 * every onnxruntime release we could meet; nothing here needs the newer IR features.
 */
export const DEFAULT_IR_VERSION = 8;

const utf8 = new TextEncoder();

/** Attribute constructors, one per attribute type (the type cannot be inferred: 1 could be INT or FLOAT). */
export const attr = {
  float: (name: string, f: number): AttributeProto => ({ name, type: AttrType.FLOAT, f }),
  int: (name: string, i: number | bigint): AttributeProto => ({ name, type: AttrType.INT, i }),
  string: (name: string, s: string): AttributeProto => ({ name, type: AttrType.STRING, s: utf8.encode(s) }),
  tensor: (name: string, t: TensorProto): AttributeProto => ({ name, type: AttrType.TENSOR, t }),
  graph: (name: string, g: GraphProto): AttributeProto => ({ name, type: AttrType.GRAPH, g }),
  floats: (name: string, floats: readonly number[]): AttributeProto => ({ name, type: AttrType.FLOATS, floats: [...floats] }),
  ints: (name: string, ints: readonly (number | bigint)[]): AttributeProto => ({ name, type: AttrType.INTS, ints: [...ints] }),
  strings: (name: string, s: readonly string[]): AttributeProto => ({ name, type: AttrType.STRINGS, strings: s.map((x) => utf8.encode(x)) }),
};

/** A node's attribute by name, or undefined if the node lacks it. */
export function getAttr(n: NodeProto, name: string): AttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}

/** The value an attribute carries, per its `type` (strings decoded as UTF-8). */
export type AttrValue = number | Int64 | string | TensorProto | GraphProto | number[] | Int64[] | string[] | TensorProto[] | GraphProto[];

/** The payload of an attribute as a JS value; undefined for types not listed in AttrValue (sparse, type protos). */
export function attrValue(a: AttributeProto): AttrValue | undefined {
  const dec = new TextDecoder();
  switch (a.type) {
    case AttrType.FLOAT: return a.f ?? 0;
    case AttrType.INT: return a.i ?? 0;
    case AttrType.STRING: return dec.decode(a.s ?? new Uint8Array());
    case AttrType.TENSOR: return a.t;
    case AttrType.GRAPH: return a.g;
    case AttrType.FLOATS: return a.floats ?? [];
    case AttrType.INTS: return a.ints ?? [];
    case AttrType.STRINGS: return (a.strings ?? []).map((x) => dec.decode(x));
    case AttrType.TENSORS: return a.tensors ?? [];
    case AttrType.GRAPHS: return a.graphs ?? [];
    default: return undefined;
  }
}

export interface NodeOptions {
  readonly name?: string;
  /** Operator-set domain: '' for standard ONNX ops, 'com.microsoft' for onnxruntime contrib ops. */
  readonly domain?: string;
  readonly attributes?: readonly AttributeProto[];
}

/** A NodeProto. Use '' as an input name to skip an optional input, as ONNX does. */
export function node(opType: string, inputs: readonly string[], outputs: readonly string[], opts: NodeOptions = {}): NodeProto {
  const n: NodeProto = { opType, input: [...inputs], output: [...outputs], attribute: [...(opts.attributes ?? [])] };
  if (opts.name !== undefined) n.name = opts.name;
  if (opts.domain) n.domain = opts.domain;
  return n;
}

/** One dimension: a number is fixed (dim_value), a string is symbolic (dim_param), null is unknown. */
export type Dim = number | string | null;

/** A tensor ValueInfoProto (graph input/output). `shape` null means unknown rank. */
export function tensorValueInfo(name: string, elemType: number, shape: readonly Dim[] | null): ValueInfoProto {
  const tensorType: NonNullable<NonNullable<ValueInfoProto['type']>['tensorType']> = { elemType };
  if (shape) {
    tensorType.shape = {
      dim: shape.map((d): TensorShapeDimension => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}

/** Declared shape of a value info as Dims (null when the rank is unknown or the value is not a tensor). */
export function valueInfoShape(v: ValueInfoProto): Dim[] | null {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => (d.dimValue !== undefined ? Number(d.dimValue) : d.dimParam ?? null));
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly NodeProto[];
  readonly inputs: readonly ValueInfoProto[];
  readonly outputs: readonly ValueInfoProto[];
  readonly initializers?: readonly TensorProto[];
}

export function graph(spec: GraphSpec): GraphProto {
  return {
    name: spec.name,
    node: [...spec.nodes],
    input: [...spec.inputs],
    output: [...spec.outputs],
    initializer: [...(spec.initializers ?? [])],
  };
}

export function opset(domain: string, version: number): OperatorSetIdProto {
  return { domain, version };
}

export interface ModelSpec {
  readonly graph: GraphProto;
  /** Operator sets, e.g. [opset('', 17), opset('com.microsoft', 1)]. */
  readonly opsets: readonly OperatorSetIdProto[];
  readonly irVersion?: number;
  readonly producerName?: string;
}

export function model(spec: ModelSpec): ModelProto {
  return {
    irVersion: spec.irVersion ?? DEFAULT_IR_VERSION,
    opsetImport: [...spec.opsets],
    producerName: spec.producerName ?? 'qattn',
    graph: spec.graph,
  };
}
