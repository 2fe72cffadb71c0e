/**
 * Splits a graph at its attention blocks. With the blocks' nodes removed, each remaining node gets a stage:
 * the latest stage of what it reads, where a block's output lives one stage after the latest of the tensors
 * the block reads. Stage j runs in onnxruntime, then the blocks whose inputs are ready after stage j run in JS,
 * then stage j+1 — so every node runs once, and a stage receives exactly the tensors it reads from earlier
 * stages, blocks or the feeds (nothing earlier is recomputed).
 */
import { QattnError } from '../core/errors.ts';
import type { NodeProto } from '../onnx/index.ts';
import { blockReads, type AttentionBlock } from './block.ts';
import { nodeReads, type GraphIndex } from './graph.ts';

export interface Stage {
  /** Node indices, in graph (topological) order. */
  readonly nodes: readonly number[];
  /** Names the stage reads from feeds, earlier stages or blocks. */
  readonly inputs: readonly string[];
  /** Names it must return: read later, by a block, or a graph output. */
  readonly outputs: readonly string[];
  /** Initializers its nodes read. */
  readonly initializers: readonly string[];
  /** Blocks that run right after this stage. */
  readonly blocks: readonly AttentionBlock[];
}

export function planStages(g: GraphIndex, blocks: readonly AttentionBlock[]): Stage[] {
  const removed = new Map<number, AttentionBlock>();
  for (const b of blocks) for (const i of b.nodes) removed.set(i, b);
  const tensorStage = new Map<string, number>();
  const stageOf = (x: string): number => tensorStage.get(x) ?? 0;
  const nodeStage = new Array<number>(g.nodes.length).fill(-1);
  const blockStage = new Map<AttentionBlock, number>();
  g.nodes.forEach((n, i) => {
    const b = removed.get(i);
    if (b) {
      if ((n.output ?? []).includes(b.output)) {
        const s = Math.max(0, ...blockReads(b).map(stageOf));
        blockStage.set(b, s);
        tensorStage.set(b.output, s + 1);
      }
      return;
    }
    const s = Math.max(0, ...nodeReads(n).map(stageOf));
    nodeStage[i] = s;
    for (const o of n.output ?? []) if (o !== '') tensorStage.set(o, s);
  });
  for (const b of blocks) if (!blockStage.has(b)) throw new QattnError(`block ${b.name}: its output ${b.output} is not written by its nodes`);
  const last = Math.max(0, ...[...g.graphOutputs].map(stageOf), ...[...blockStage.values()]);
  return Array.from({ length: last + 1 }, (_, j) => buildStage(g, j, nodeStage, tensorStage, blocks.filter((b) => blockStage.get(b) === j), later(g, j, nodeStage, blocks, blockStage)));
}

/** Names read after stage j ran: by later stages' nodes, by blocks running at j or later. */
function later(g: GraphIndex, j: number, nodeStage: readonly number[], blocks: readonly AttentionBlock[], blockStage: ReadonlyMap<AttentionBlock, number>): Set<string> {
  const names = new Set<string>(g.graphOutputs);
  g.nodes.forEach((n, i) => { if (nodeStage[i]! > j) for (const x of nodeReads(n)) names.add(x); });
  for (const b of blocks) if (blockStage.get(b)! >= j) for (const x of blockReads(b)) names.add(x);
  return names;
}

function buildStage(
  g: GraphIndex, j: number, nodeStage: readonly number[], tensorStage: ReadonlyMap<string, number>,
  blocks: AttentionBlock[], readLater: ReadonlySet<string>,
): Stage {
  const nodes: number[] = [];
  const produced = new Set<string>();
  const inputs = new Set<string>(), inits = new Set<string>();
  nodeStage.forEach((s, i) => {
    if (s !== j) return;
    const n: NodeProto = g.nodes[i]!;
    nodes.push(i);
    for (const x of nodeReads(n)) {
      if (produced.has(x)) continue;
      if (g.initializers.has(x) && !g.graphInputs.has(x)) inits.add(x);
      else inputs.add(x);
    }
    for (const o of n.output ?? []) if (o !== '') produced.add(o);
  });
  const outputs = [...produced].filter((x) => readLater.has(x) && tensorStage.get(x) === j);
  return { nodes, inputs: [...inputs], outputs, initializers: [...inits], blocks };
}
