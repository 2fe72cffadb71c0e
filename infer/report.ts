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

export function buildReport(
  model: string, method: string, options: Options, outputNames: readonly string[], runs: readonly BlockRun[], swapped: TensorMap, ref: TensorMap,
): InferReport {
  const blocks = runs.map((r): BlockReport => ({
    name: r.block.name, pattern: r.block.pattern, heads: r.problem.heads / r.problem.batch, batch: r.problem.batch,
    headDim: r.problem.d, m: r.problem.m, n: r.problem.n, causal: r.causal, ms: r.ms,
    fidelity: fidelity(swapped.get(r.block.output)!, ref.get(r.block.output)!, false),
  }));
  const outputs = outputNames.map((name): OutputReport => {
    const out = swapped.get(name)!, reference = ref.get(name)!;
    const numeric = out.type.startsWith('float') && reference.type.startsWith('float');
    const f = numeric ? fidelity(out, reference, isLogits(name, runs)) : fidelity(out, reference, false);
    return { name, shape: out.dims, ...f };
  });
  return { model, method, options, blocks, fidelity: outputs[0]!, outputs };
}
