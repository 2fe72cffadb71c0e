/**
 * The decomposed attention pattern, as torch.onnx (TorchScript and dynamo exporters) and TF converters write
 * it: MatMul(Q, Kᵀ) → (Mul|Div by a constant)* → (Add mask | Where(cond, ·, fill))* → Softmax →
 * [Cast | Dropout | Identity | IsNaN→Where guard]* → MatMul(·, V).
 *
 * Scales on Q or K (Mul/Div by a scalar constant, e.g. √scale on both as the dynamo exporter writes SDPA) are
 * peeled off and folded into the score scale, so Q and K are the real projections (what --capture writes).
 * A Transpose that swaps the last two axes of K is peeled too; any other layout of Kᵀ is fetched as is.
 */
import { getAttr, type NodeProto } from '../onnx/index.ts';
import type { AttentionBlock, DecomposedCore, ScoreOp } from './block.ts';
import { constScalar, consumersOf, producerOf, type GraphIndex } from './graph.ts';

const isStd = (n: NodeProto | undefined, op: string): boolean => n?.opType === op && (n.domain ?? '') === '';

/** If `n` is Mul/Div of `x` by a scalar constant, the factor it applies and `x`; else undefined. */
async function scaleStep(g: GraphIndex, n: NodeProto | undefined, baseDir?: string): Promise<{ factor: number; x: string } | undefined> {
  if (!n || (!isStd(n, 'Mul') && !isStd(n, 'Div'))) return undefined;
  const [a = '', b = ''] = n.input ?? [];
  const cb = await constScalar(g, b, baseDir);
  if (cb !== undefined) return { factor: n.opType === 'Mul' ? cb : 1 / cb, x: a };
  const ca = n.opType === 'Mul' ? await constScalar(g, a, baseDir) : undefined;
  return ca !== undefined ? { factor: ca, x: b } : undefined;
}

/** Whether `name` is computed from a MatMul through score ops only (decides which Add/Where input is the scores). */
function reachesMatMul(g: GraphIndex, name: string, depth = 0): boolean {
  const p = producerOf(g, name);
  if (!p || depth > 12) return false;
  if (isStd(p, 'MatMul')) return true;
  if (isStd(p, 'Mul') || isStd(p, 'Div') || isStd(p, 'Add')) return (p.input ?? []).some((x) => reachesMatMul(g, x, depth + 1));
  if (isStd(p, 'Where')) return (p.input ?? []).slice(1).some((x) => reachesMatMul(g, x, depth + 1));
  return false;
}

interface Backward { readonly matmul: NodeProto; readonly ops: ScoreOp[]; readonly nodes: NodeProto[] }

/** Walks from the softmax input back to the scores MatMul, collecting the score ops (in graph order). */
async function walkBack(g: GraphIndex, from: string, baseDir?: string): Promise<Backward | undefined> {
  const ops: ScoreOp[] = [];
  const nodes: NodeProto[] = [];
  let cur = from;
  for (let guard = 0; guard < 16; guard++) {
    const p = producerOf(g, cur);
    if (!p) return undefined;
    nodes.push(p);
    if (isStd(p, 'MatMul')) return { matmul: p, ops: ops.reverse(), nodes };
    const s = await scaleStep(g, p, baseDir);
    const [a = '', b = '', c = ''] = p.input ?? [];
    if (s) {
      ops.push({ kind: 'scale', factor: s.factor });
      cur = s.x;
    } else if (isStd(p, 'Add')) {
      const scoresFirst = reachesMatMul(g, a);
      ops.push({ kind: 'add', tensor: scoresFirst ? b : a });
      cur = scoresFirst ? a : b;
    } else if (isStd(p, 'Where')) {
      const keepWhen = reachesMatMul(g, b);
      ops.push({ kind: 'where', cond: a, fill: keepWhen ? c : b, keepWhen });
      cur = keepWhen ? b : c;
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** Walks from the softmax output to the MatMul with V, through casts, dropouts and the dynamo NaN guard. */
function walkForward(g: GraphIndex, from: string): { matmul: NodeProto; nodes: NodeProto[] } | undefined {
  const nodes: NodeProto[] = [];
  let cur = from;
  for (let guard = 0; guard < 8; guard++) {
    const cs = consumersOf(g, cur);
    const only = cs.length === 1 ? cs[0] : undefined;
    if (only && isStd(only, 'MatMul') && only.input?.[0] === cur) return { matmul: only, nodes };
    if (only && ['Cast', 'Identity', 'Dropout'].some((op) => isStd(only, op)) && consumersOf(g, only.output?.[1] ?? '\0').length === 0) {
      nodes.push(only);
      cur = only.output?.[0] ?? '';
      continue;
    }
    // NaN guard: Where(IsNaN(p), 0, p) — the dynamo exporter's zeroing of fully masked rows.
    const isnan = cs.find((n) => isStd(n, 'IsNaN'));
    const where = cs.find((n) => isStd(n, 'Where') && n.input?.[0] === isnan?.output?.[0] && n.input?.[2] === cur);
    if (cs.length === 2 && isnan && where && consumersOf(g, isnan.output?.[0] ?? '').length === 1) {
      nodes.push(isnan, where);
      cur = where.output?.[0] ?? '';
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** Peels scale Mul/Divs (and, for K, one last-two-axes Transpose) off a MatMul operand. */
async function peel(g: GraphIndex, name: string, allowTranspose: boolean, baseDir?: string) {
  let cur = name, factor = 1, transposed = false;
  const nodes: NodeProto[] = [];
  for (let guard = 0; guard < 8; guard++) {
    const p = producerOf(g, cur);
    const s = await scaleStep(g, p, baseDir);
    if (s) {
      factor *= s.factor;
      cur = s.x;
      nodes.push(p!);
      continue;
    }
    const perm = p && isStd(p, 'Transpose') ? (getAttr(p, 'perm')?.ints ?? []).map(Number) : [];
    const r = perm.length;
    const swapsLastTwo = r >= 2 && perm.every((x, i) => x === (i < r - 2 ? i : i === r - 2 ? r - 1 : r - 2));
    if (allowTranspose && !transposed && p && swapsLastTwo) {
      transposed = true;
      cur = p.input?.[0] ?? '';
      nodes.push(p);
      continue;
    }
    break;
  }
  return { name: cur, factor, transposed, nodes };
}

/** Every decomposed attention block of the graph, in graph order. */
export async function matchDecomposed(g: GraphIndex, baseDir?: string): Promise<AttentionBlock[]> {
  const blocks: AttentionBlock[] = [];
  for (const sm of g.nodes) {
    if (!isStd(sm, 'Softmax')) continue;
    const back = await walkBack(g, sm.input?.[0] ?? '', baseDir);
    const fwd = back && walkForward(g, sm.output?.[0] ?? '');
    if (!back || !fwd) continue;
    const [a = '', b = ''] = back.matmul.input ?? [];
    const q = await peel(g, a, false, baseDir);
    const k = await peel(g, b, true, baseDir);
    const factor = q.factor * k.factor;
    const core: DecomposedCore = {
      kind: 'decomposed', q: q.name, k: k.name, kIsTransposed: !k.transposed, v: fwd.matmul.input?.[1] ?? '',
      ops: factor === 1 ? back.ops : [{ kind: 'scale', factor }, ...back.ops],
      softmaxAxis: Number(getAttr(sm, 'axis')?.i ?? -1),
    };
    const inner = [...back.nodes, sm, ...fwd.nodes, fwd.matmul];
    const output = fwd.matmul.output?.[0] ?? '';
    const nodes = removable(g, inner, [...q.nodes, ...k.nodes]);
    if (nodes) blocks.push({ name: fwd.matmul.name || `block${blocks.length}`, pattern: 'decomposed', nodes, output, core });
  }
  return blocks;
}

/**
 * The node indices the block replaces: its core, plus the peeled scale/transpose nodes (nearest first) whose
 * outputs nothing outside the block reads. Undefined when an inner core tensor is read outside the block
 * (e.g. attention probabilities exported as an output): the core cannot then be replaced.
 */
function removable(g: GraphIndex, core: readonly NodeProto[], peeled: readonly NodeProto[]): number[] | undefined {
  const set = new Set(core.map((n) => g.nodes.indexOf(n)));
  const escapes = (n: NodeProto): boolean => (n.output ?? []).filter((o) => o !== '')
    .some((o) => g.graphOutputs.has(o) || (g.consumers.get(o) ?? []).some((c) => !set.has(c)));
  if (core.slice(0, -1).some(escapes)) return undefined;
  for (const n of peeled) if (!escapes(n)) set.add(g.nodes.indexOf(n));
  return [...set].sort((x, y) => x - y);
}
