/**
 * What swapping the attention did to a model: per-block and per-output fidelity against the unmodified model
 * run on the same inputs. Blocks are compared where they sit, so a block's error includes what earlier
 * swapped blocks passed on — the question is what the model computes, not one block in isolation.
 */
import { maxAbs, meanCosine, relL2 } from '../attention/fidelity.ts';
import type { Options } from '../attention/types.ts';
import type { BlockRun, TensorMap } from './execute.ts';
import { asFloat32, type HostTensor } from './tensors.ts';

export interface Fidelity {
  readonly maxAbs: number;
  readonly relL2: number;
  readonly cosine: number;
  /** Language-model logits only: mean over positions of KL(softmax(ref) ‖ softmax(swapped)), nats. */
  readonly kl?: number;
  /** Language-model logits only: fraction of positions whose arg-max token agrees. */
  readonly top1?: number;
}

export interface BlockReport {
  readonly name: string;
  readonly pattern: string;
  readonly heads: number;
  readonly batch: number;
  readonly headDim: number;
  readonly m: number;
  readonly n: number;
  readonly causal: boolean;
  readonly ms: number;
  readonly fidelity: Fidelity;
  /** Keys each query attended (the mechanism's selectedPerQuery, mean over heads), or null when it does not say. */
  readonly keysPerQuery: number | null;
  /** keysPerQuery ÷ the keys a query may see (mean): 1 means every visible key — the block computed exact attention. */
  readonly density: number | null;
  /** The block's counts, summed over heads (scoreEvaluations, oracleQueries, samples, …; null: not applicable). */
  readonly cost: Readonly<Record<string, number | null>>;
  /** The execution paths the heads took (e.g. all-visible when k ≥ n). */
  readonly paths: readonly string[];
}

export interface OutputReport extends Fidelity { readonly name: string; readonly shape: readonly number[] }

export interface InferReport {
  readonly model: string;
  readonly method: string;
  readonly options: Options;
  readonly blocks: readonly BlockReport[];
  /** Fidelity of the first model output (the one --out writes). */
  readonly fidelity: OutputReport;
  readonly outputs: readonly OutputReport[];
}

function softmaxRow(x: Float32Array, off: number, len: number): Float64Array {
  let mx = -Infinity;
  for (let j = 0; j < len; j++) mx = Math.max(mx, x[off + j]!);
  const p = new Float64Array(len);
  let z = 0;
  for (let j = 0; j < len; j++) z += p[j] = Math.exp(x[off + j]! - mx);
  for (let j = 0; j < len; j++) p[j]! /= z;
  return p;
}

/** KL and top-1 agreement over the rows (last axis = vocabulary) of logits. */
function logitScores(out: Float32Array, ref: Float32Array, vocab: number): { kl: number; top1: number } {
  const rows = ref.length / vocab;
  let kl = 0, agree = 0;
  for (let r = 0; r < rows; r++) {
    const p = softmaxRow(ref, r * vocab, vocab), q = softmaxRow(out, r * vocab, vocab);
    let rowKl = 0, ap = 0, aq = 0;
    for (let j = 0; j < vocab; j++) {
      if (p[j]! > 0) rowKl += p[j]! * Math.log(p[j]! / Math.max(q[j]!, 1e-300));
      if (p[j]! > p[ap]!) ap = j;
      if (q[j]! > q[aq]!) aq = j;
    }
    kl += rowKl;
    if (ap === aq) agree++;
  }
  return { kl: kl / rows, top1: agree / rows };
}

export function fidelity(out: HostTensor, ref: HostTensor, logits: boolean): Fidelity {
  const a = asFloat32(out, 'output'), b = asFloat32(ref, 'reference');
  const cols = ref.dims.at(-1) ?? 1;
  const base = { maxAbs: maxAbs(a, b), relL2: relL2(a, b), cosine: meanCosine(a, b, Math.max(1, cols)) };
  return logits && cols > 1 ? { ...base, ...logitScores(a, b, cols) } : base;
}

/** Outputs scored as logits: named so, or a float output of a model whose blocks are all causal (an LM). */
const isLogits = (name: string, runs: readonly BlockRun[]): boolean => /logit/i.test(name) || (runs.length > 0 && runs.every((r) => r.causal));

/** Mean keys a query may see: n, or under a bottom-right causal mask i + n − m + 1 averaged over i. */
function meanVisible(m: number, n: number, causal: boolean): number {
  return causal ? n - m + (m + 1) / 2 : n;
}

/** What the mechanism did in a block: keys per query, density, counts, paths. */
export function swapFacts(r: BlockRun): Pick<BlockReport, 'keysPerQuery' | 'density' | 'cost' | 'paths'> {
  const c = r.run.cost;
  const keysPerQuery = c.selectedPerQuery;
  const density = keysPerQuery === null ? null : Math.min(1, keysPerQuery / meanVisible(r.problem.m, r.problem.n, r.causal));
  const cost: Record<string, number | null> = {
    scoreEvaluations: c.scoreEvaluations, oracleQueries: c.oracleQueries, groverIterations: c.groverIterations, samples: c.samples, ...c.extra,
  };
  return { keysPerQuery, density, cost, paths: r.run.paths };
}

/** The human line of what a block's swap did (density, and that it equals exact when every visible key was kept). */
export function swapLine(b: BlockReport): string {
  const counts = Object.entries(b.cost).filter(([, v]) => v !== null && v > 0).map(([k, v]) => `${k} ${Math.round(v!).toLocaleString('en-US')}`);
  const density = b.density === null ? 'density n/a (the mechanism does not select keys)'
    : b.density >= 1 - 1e-9 ? `every visible key attended (${b.keysPerQuery!.toFixed(1)} per query): this block fell back to exact attention (k ≥ n)`
      : `${b.keysPerQuery!.toFixed(1)} keys per query, density ${b.density.toFixed(3)}`;
  return `${density}; ${counts.join(', ') || 'no counts'}${b.paths.length ? `; path ${b.paths.join(', ')}` : ''}`;
}

export function buildReport(
  model: string, method: string, options: Options, outputNames: readonly string[], runs: readonly BlockRun[], swapped: TensorMap, ref: TensorMap,
): InferReport {
  const blocks = runs.map((r): BlockReport => ({
    name: r.block.name, pattern: r.block.pattern, heads: r.problem.heads / r.problem.batch, batch: r.problem.batch,
    headDim: r.problem.d, m: r.problem.m, n: r.problem.n, causal: r.causal, ms: r.ms,
    fidelity: fidelity(swapped.get(r.block.output)!, ref.get(r.block.output)!, false),
    ...swapFacts(r),
  }));
  const outputs = outputNames.map((name): OutputReport => {
    const out = swapped.get(name)!, reference = ref.get(name)!;
    const numeric = out.type.startsWith('float') && reference.type.startsWith('float');
    const f = numeric ? fidelity(out, reference, isLogits(name, runs)) : fidelity(out, reference, false);
    return { name, shape: out.dims, ...f };
  });
  return { model, method, options, blocks, fidelity: outputs[0]!, outputs };
}
