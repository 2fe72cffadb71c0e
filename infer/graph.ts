/**
 * A read-only index over an ONNX graph: who produces and who consumes each tensor, which names are
 * initializers or Constant outputs, and small constant values. The pattern matchers and the graph splitter
 * both walk the graph through it, so neither re-scans the node list.
 */
import { attrValue, getAttr, readTensorData, tensorSize, type GraphProto, type NodeProto, type TensorProto } from '../onnx/index.ts';

export interface GraphIndex {
  readonly graph: GraphProto;
  readonly nodes: readonly NodeProto[];
  /** Tensor name → index of the node producing it. */
  readonly producer: ReadonlyMap<string, number>;
  /** Tensor name → indices of the nodes reading it (subgraph reads count for the node holding the subgraph). */
  readonly consumers: ReadonlyMap<string, readonly number[]>;
  readonly initializers: ReadonlyMap<string, TensorProto>;
  readonly graphInputs: ReadonlySet<string>;
  readonly graphOutputs: ReadonlySet<string>;
}

/** Names a node reads, including outer-scope names read by its subgraphs (If/Loop/Scan bodies). */
export function nodeReads(n: NodeProto): string[] {
  const reads = (n.input ?? []).filter((x) => x !== '');
  for (const a of n.attribute ?? []) {
    for (const g of [a.g, ...(a.graphs ?? [])]) if (g) reads.push(...outerReads(g));
  }
  return reads;
}

/** Names a subgraph reads that it does not define itself. */
function outerReads(g: GraphProto): string[] {
  const defined = new Set<string>([...(g.input ?? []).map((v) => v.name ?? ''), ...(g.initializer ?? []).map((t) => t.name ?? '')]);
  const out: string[] = [];
  for (const n of g.node ?? []) {
    for (const x of nodeReads(n)) if (!defined.has(x)) out.push(x);
    for (const o of n.output ?? []) defined.add(o);
  }
  return out;
}

export function indexGraph(graph: GraphProto): GraphIndex {
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o !== '') producer.set(o, i);
    for (const x of new Set(nodeReads(n))) {
      const list = consumers.get(x) ?? [];
      list.push(i);
      consumers.set(x, list);
    }
  });
  return {
    graph, nodes, producer, consumers,
    initializers: new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t])),
    graphInputs: new Set((graph.input ?? []).map((v) => v.name ?? '')),
    graphOutputs: new Set((graph.output ?? []).map((v) => v.name ?? '')),
  };
}

/** The node producing `name`, or undefined for graph inputs and initializers. */
export function producerOf(g: GraphIndex, name: string): NodeProto | undefined {
  const i = g.producer.get(name);
  return i === undefined ? undefined : g.nodes[i];
}

/** The nodes reading `name`. */
export function consumersOf(g: GraphIndex, name: string): NodeProto[] {
  return (g.consumers.get(name) ?? []).map((i) => g.nodes[i]!);
}

/** The constant tensor behind `name` (an initializer that is not also a graph input, or a Constant node). */
export function constTensor(g: GraphIndex, name: string): TensorProto | undefined {
  const init = g.initializers.get(name);
  if (init) return g.graphInputs.has(name) ? undefined : init;
  const p = producerOf(g, name);
  if (p?.opType !== 'Constant' || (p.domain ?? '') !== '') return undefined;
  const v = getAttr(p, 'value');
  if (v?.t) return v.t;
  const f = getAttr(p, 'value_float');
  if (f) return { dims: [], dataType: 1, floatData: [Number(attrValue(f))] };
  return undefined;
}

/**
 * The value of a constant with exactly one element (a scalar or a [1] tensor), or undefined if `name` is not
 * such a constant. Used for attention scales, which exporters write as 0-d initializers or Constants.
 */
export async function constScalar(g: GraphIndex, name: string, baseDir?: string): Promise<number | undefined> {
  const t = constTensor(g, name);
  if (!t || tensorSize(t) !== 1) return undefined;
  try {
    const data = await readTensorData(t, baseDir);
    const x = data[0]!;
    return typeof x === 'bigint' ? Number(x) : x;
  } catch {
    return undefined; // e.g. float16 constants: not a scale we can fold exactly
  }
}
