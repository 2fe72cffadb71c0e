/**
 * Running a model two ways with onnxruntime-node: unmodified (one session, with each block's output added as
 * an extra graph output so per-block fidelity needs no second pass), and swapped (one session per stage of
 * split.ts, with the blocks computed in JS by a registered mechanism between stages).
 */
import type * as Ort from 'onnxruntime-node';
import { QattnError } from '../core/errors.ts';
import { defaultOrtThreads, loadOrt } from '../attention/kernels/ort/sessions.ts';
import { encodeModel, readTensorData, tensorValueInfo, type GraphProto, type ModelProto, type ValueInfoProto } from '../onnx/index.ts';
import type { AttentionInput, AttentionOutput, OptionValue } from '../attention/types.ts';
import { blockReads, type AttentionBlock } from './block.ts';
import { decomposedHeads } from './decomposed-heads.ts';
import { fusedHeads } from './fused-heads.ts';
import { attendHeads, type HeadHook, type HeadsProblem } from './heads.ts';
import type { HeadsRun } from '../attention/heads.ts';
import type { InferModel } from './model.ts';
import { planStages, type Stage } from './split.ts';
import type { HostData, HostTensor } from './tensors.ts';

export type TensorMap = Map<string, HostTensor>;

const ORT_TO_ONNX: Readonly<Record<string, number>> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13,
};
const ONNX_TO_ORT: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(ORT_TO_ONNX).map(([k, v]) => [v, k]));

function ort(): typeof Ort {
  const m = loadOrt();
  if (m instanceof Error) throw new QattnError(`onnxruntime-node is not available: ${m.message}`);
  return m;
}

const toOrt = (t: HostTensor): Ort.Tensor => new (ort().Tensor)(t.type as 'float32', t.data as Float32Array, [...t.dims]);
const fromOrt = (t: Ort.Tensor): HostTensor => ({ type: t.type, dims: [...t.dims], data: t.data as HostData });

/** onnxruntime's message on one line, whole (some span several lines; cutting at the first cut sentences). */
const ortMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();

/**
 * logSeverityLevel 4 (fatal only): onnxruntime would otherwise print its own coloured `[E:onnxruntime…]` line
 * for a failing kernel before qattn's one `qattn:` line; its message reaches the user through the error anyway.
 */
async function session(m: ModelProto, what: string): Promise<Ort.InferenceSession> {
  try {
    const threads = defaultOrtThreads();
    const opts: Ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'basic', logSeverityLevel: 4, ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}) };
    return await ort().InferenceSession.create(encodeModel(m), opts);
  } catch (e) {
    throw new QattnError(`onnxruntime cannot load ${what}: ${ortMessage(e)}`);
  }
}

async function runSession(s: Ort.InferenceSession, feeds: TensorMap, names: readonly string[], what: string): Promise<TensorMap> {
  const input: Record<string, Ort.Tensor> = {};
  for (const x of s.inputNames) {
    const t = feeds.get(x);
    if (!t) throw new QattnError(`model input '${x}' needs a value (give --feed ${x}=FILE.npy)`);
    input[x] = toOrt(t);
  }
  let r: Ort.InferenceSession.OnnxValueMapType;
  try {
    r = await s.run(input, [...names]);
  } catch (e) {
    throw new QattnError(`onnxruntime failed running ${what}: ${ortMessage(e)}`);
  }
  return new Map(names.map((x) => [x, fromOrt(r[x] as Ort.Tensor)]));
}

/**
 * Sessions kept across runs of one model (`qattn eval` runs the same stages for every window and mechanism:
 * building a session from a 14 MB model each time took about as long as the swapped attention itself). Opt-in:
 * `SessionCache`, released by its owner; without one every session is released after its run.
 */
export class SessionCache {
  readonly #sessions = new Map<string, Promise<Ort.InferenceSession>>();
  get(key: string, make: () => Promise<Ort.InferenceSession>): Promise<Ort.InferenceSession> {
    let s = this.#sessions.get(key);
    if (!s) this.#sessions.set(key, (s = make()));
    return s;
  }
  async release(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    // Every session is released even if one fails (the first failure is rethrown after).
    const results = await Promise.allSettled(all.map(async (s) => (await s).release()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** Runs `run` on a session from `cache` (kept) or a fresh one (released after). */
async function withSession<T>(cache: SessionCache | undefined, key: string, make: () => Promise<Ort.InferenceSession>, run: (s: Ort.InferenceSession) => Promise<T>): Promise<T> {
  if (cache) return run(await cache.get(key, make));
  const s = await make();
  try {
    return await run(s);
  } finally {
    await s.release();
  }
}

/** Runs the unmodified model; returns its outputs and each block's output. */
export async function runReference(im: InferModel, feeds: TensorMap, cache?: SessionCache): Promise<TensorMap> {
  const g = im.model.graph!;
  const outs = (g.output ?? []).map((o) => o.name ?? '');
  const extra = im.blocks.map((b) => b.output).filter((x) => !outs.includes(x));
  const m: ModelProto = { ...im.model, graph: { ...g, output: [...(g.output ?? []), ...extra.map((name): ValueInfoProto => ({ name }))] } };
  return withSession(cache, 'reference', () => session(m, im.path), (s) => runSession(s, feeds, [...outs, ...extra], im.path));
}

/** The ONNX model of one stage, typed from the tensors that will feed it. */
function stageModel(im: InferModel, st: Stage, store: TensorMap, j: number): ModelProto {
  const g = im.model.graph!;
  const declared = new Map((g.input ?? []).map((v) => [v.name ?? '', v]));
  const inputs = st.inputs.map((x) => declared.get(x) ?? tensorValueInfo(x, ORT_TO_ONNX[store.get(x)?.type ?? ''] ?? 0, null));
  const inits = new Set(st.initializers);
  const produced = new Set(st.nodes.flatMap((i) => im.index.nodes[i]!.output ?? []));
  const graph: GraphProto = {
    name: `${g.name ?? 'graph'}_stage${j}`,
    node: st.nodes.map((i) => im.index.nodes[i]!),
    input: inputs, output: st.outputs.map((name) => ({ name })),
    initializer: (g.initializer ?? []).filter((t) => inits.has(t.name ?? '')),
    valueInfo: (g.valueInfo ?? []).filter((v) => produced.has(v.name ?? '')),
  };
  return { ...im.model, graph };
}

/** A block's input tensor: from the store, else a constant of the model. */
async function fetcher(im: InferModel, store: TensorMap, b: AttentionBlock): Promise<(name: string) => HostTensor> {
  const consts = new Map<string, HostTensor>();
  for (const x of blockReads(b)) {
    const init = im.index.initializers.get(x);
    if (!store.has(x) && init) consts.set(x, { type: ONNX_TO_ORT[init.dataType ?? 0] ?? 'float32', dims: (init.dims ?? []).map(Number), data: await readTensorData(init) as HostData });
  }
  return (name) => {
    const t = store.get(name) ?? consts.get(name);
    if (!t) throw new QattnError(`block ${b.name}: tensor ${name} was not computed`);
    return t;
  };
}

export interface SwapOptions {
  readonly method: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly seed: number;
  /** Called for each block with its problem, before its heads run (capture). */
  readonly onBlock?: (b: AttentionBlock, p: HeadsProblem) => HeadHook | undefined;
  /** Indices (graph order) of the blocks to swap; the others run unmodified inside onnxruntime. Default: all. */
  readonly layers?: readonly number[];
  /** Keep the stage sessions here for the next run (its owner releases them); default: release after the run. */
  readonly sessions?: SessionCache;
  /** Called with each head's input and the mechanism's output (eval's attention-row metrics). */
  readonly onHeadOutput?: (b: AttentionBlock, h: number, input: AttentionInput, output: AttentionOutput) => void;
}

export interface BlockRun {
  readonly block: AttentionBlock;
  readonly problem: HeadsProblem;
  readonly causal: boolean;
  readonly ms: number;
  /** The head loop's counts and paths (attention/heads.ts). */
  readonly run: HeadsRun;
}

/** Runs the model with every block computed by `opts.method`; returns all tensors and per-block facts. */
export async function runSwapped(im: InferModel, feeds: TensorMap, opts: SwapOptions): Promise<{ tensors: TensorMap; blocks: BlockRun[] }> {
  const store: TensorMap = new Map(feeds);
  const runs: BlockRun[] = [];
  const chosen = opts.layers ? im.blocks.filter((_, i) => opts.layers!.includes(i)) : im.blocks;
  const stages = planStages(im.index, chosen);
  for (let j = 0; j < stages.length; j++) {
    const st = stages[j]!;
    if (st.nodes.length && st.outputs.length) {
      const what = `stage ${j} of ${im.path}`;
      const key = `stages ${opts.layers ? opts.layers.join(',') : 'all'}|${j}`;
      const out = await withSession(opts.sessions, key, () => session(stageModel(im, st, store, j), what), (s) => runSession(s, store, st.outputs, what));
      for (const [k, v] of out) store.set(k, v);
    }
    for (const b of st.blocks) {
      const fetch = await fetcher(im, store, b);
      const p = b.core.kind === 'decomposed' ? decomposedHeads(b.name, b.core, fetch) : fusedHeads(b.name, b.core, fetch);
      const onOutput = opts.onHeadOutput;
      const r = await attendHeads(p, opts.method, opts.options, opts.seed, opts.onBlock?.(b, p), onOutput ? (h, input, o) => onOutput(b, h, input, o) : undefined);
      store.set(b.output, { type: 'float32', dims: p.outShape, data: r.out });
      runs.push({ block: b, problem: p, causal: r.causal, ms: r.ms, run: r.run });
    }
  }
  return { tensors: store, blocks: runs };
}
