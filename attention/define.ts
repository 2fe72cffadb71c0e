/**
 * Building a Mechanism from its two phases (build once, query many — faiss add/search, a KV cache in decode):
 * a mechanism file declares `prepare` (the once-per-cache work and what it cost) and `attend` on the prepared
 * state; `defineMechanism` derives the rest of the interface — the single-call `attend`, and `append` from the
 * declared one (or from re-preparing, for mechanisms whose state is cheap to rebuild) — so every caller reaches
 * every mechanism the same way (attention/run.ts).
 */
import type {
  BudgetSpec, CostReport, Tolerance,
  AttentionInput, AttentionOutput, KvInput, Mechanism, OptionDecls, Options, OptionValues, Prepared, PrepareCost, QueryInput,
} from './types.ts';
import { emptyPrepareCost } from './types.ts';

/** What a mechanism's prepare returns: its private state and what building it cost. */
export interface PreparedState<S> {
  readonly state: S;
  readonly cost?: PrepareCost;
}

type Shared = Omit<Mechanism, 'prepare' | 'attendPrepared' | 'append' | 'appendUnsupported' | 'attend' | 'options' | 'exhaustiveOptions' | 'notSupportedReasons' | 'tolerance' | 'budget'>;

/**
 * The tolerance as a definition declares it: the exhaustive setting's options sit inside the 'exhaustive'
 * case, so a bound always comes with the setting it holds in (and 'none' has neither).
 */
export type DefTolerance<O extends OptionDecls> =
  | (Extract<Tolerance, { kind: 'exhaustive' }> & { options(n: number): Partial<OptionValues<O>> })
  | Extract<Tolerance, { kind: 'none' }>;

/** A budget mapping as a definition declares it: the options it sets are typed from the declaration. */
export interface DefBudget<O extends OptionDecls> extends Omit<BudgetSpec, 'options'> {
  options(budget: number, n: number, base: OptionValues<O>): Partial<OptionValues<O>>;
}

/** Budget spent = the mean number of keys selected per query (topk-style mechanisms). */
export const selectedPerQuery = (cost: CostReport): number => cost.selectedPerQuery ?? 0;

/** A prepared cache whose options are typed from the mechanism's declaration. */
export type TypedPrepared<S, O extends OptionDecls> = Omit<Prepared<S>, 'options'> & { readonly options: OptionValues<O> };

/**
 * A mechanism's definition: options declared once (`O`), from which the types of every options argument are
 * derived, so a misspelt or mistyped option is a compile error.
 */
export interface TwoPhaseDef<S, O extends OptionDecls> extends Shared {
  readonly options: O;
  readonly tolerance: DefTolerance<O>;
  readonly budget: DefBudget<O> | null;
  notSupportedReasons(input: AttentionInput, options: OptionValues<O>): string[];
  prepare(kv: KvInput, options: OptionValues<O>): Promise<PreparedState<S>> | PreparedState<S>;
  attend(prepared: TypedPrepared<S, O>, query: QueryInput): Promise<AttentionOutput>;
  /**
   * Grows the state by kNew/vNew; `grown` is the concatenated cache. Omit it and give `appendUnsupported`
   * when the state cannot grow in place; give neither to append by preparing the concatenation again.
   */
  append?(prepared: TypedPrepared<S, O>, grown: KvInput, kNew: Float32Array, vNew: Float32Array): Promise<PreparedState<S>> | PreparedState<S>;
  readonly appendUnsupported?: string;
}

/** The one-call form `{...kv, ...query}` that kernels written for a whole AttentionInput take. */
export function fullInput(kv: KvInput, query: QueryInput): AttentionInput {
  return {
    q: query.q, k: kv.k, v: kv.v, m: query.m, n: kv.n, d: kv.d, dv: kv.dv,
    ...(query.causal !== undefined ? { causal: query.causal } : {}),
    ...(query.mask !== undefined ? { mask: query.mask } : {}),
    ...(kv.scale !== undefined ? { scale: kv.scale } : {}),
    ...(kv.seed !== undefined ? { seed: kv.seed } : {}),
  };
}

/** The KV part of a one-call input. */
export function kvOf(input: AttentionInput): KvInput {
  return {
    k: input.k, v: input.v, n: input.n, d: input.d, dv: input.dv,
    ...(input.scale !== undefined ? { scale: input.scale } : {}),
    ...(input.seed !== undefined ? { seed: input.seed } : {}),
  };
}

/** The query part of a one-call input. */
export function queryOf(input: AttentionInput): QueryInput {
  return {
    q: input.q, m: input.m,
    ...(input.causal !== undefined ? { causal: input.causal } : {}),
    ...(input.mask !== undefined ? { mask: input.mask } : {}),
  };
}

/**
 * Backing buffers of grown caches: a grown K or V is a view of a larger buffer with room to grow, so a run of
 * t single-token appends copies O(n) values in total (capacity doubling), not O(n) per token. `used` is how
 * much of a buffer some view already claims: only the view that ends there may grow in place — a second append
 * from an older prepared state copies, so it never overwrites keys another branch appended.
 */
const backing = new WeakMap<Float32Array, Float32Array>();
const used = new WeakMap<Float32Array, number>();

function grow(a: Float32Array, add: Float32Array): Float32Array {
  const len = a.length + add.length;
  const buf = backing.get(a);
  if (buf && buf.length >= len && used.get(buf) === a.length) {
    buf.set(add, a.length);
    used.set(buf, len);
    const view = buf.subarray(0, len);
    backing.set(view, buf);
    return view;
  }
  const next = new Float32Array(Math.max(len, 2 * a.length, 16));
  next.set(a);
  next.set(add, a.length);
  used.set(next, len);
  const view = next.subarray(0, len);
  backing.set(view, next);
  return view;
}

/** The cache with kNew [t×d], vNew [t×dv] appended. */
export function grownKv(kv: KvInput, kNew: Float32Array, vNew: Float32Array): KvInput {
  const t = kNew.length / kv.d;
  return { ...kv, k: grow(kv.k, kNew), v: grow(kv.v, vNew), n: kv.n + t };
}

const addCost = (a: PrepareCost, b: PrepareCost | undefined): PrepareCost => {
  if (!b) return a;
  const extra = { ...a.extra };
  for (const [k, x] of Object.entries(b.extra)) extra[k] = (extra[k] ?? 0) + x;
  return { scoreEvaluations: a.scoreEvaluations + b.scoreEvaluations, extra };
};

/** A Mechanism from its two phases (see the module comment). Getters of `def` (e.g. a live summary) stay getters. */
export function defineMechanism<S, const O extends OptionDecls>(def: TwoPhaseDef<S, O>): Mechanism {
  const { prepare: _p, attend: _a, append: _x, tolerance: _t, notSupportedReasons: _n, budget: _b, ...shared } = Object.getOwnPropertyDescriptors(def);
  const mech = Object.defineProperties({}, shared) as Mechanism;
  // The one cast between the typed definition and the erased registry interface: resolveOptions has filled in
  // and checked every declared option, so Options are OptionValues<O> here.
  const typed = (o: Options): OptionValues<O> => o as OptionValues<O>;
  const prepare = async (kv: KvInput, options: Options): Promise<Prepared<S>> => {
    const r = await def.prepare(kv, typed(options));
    return { mechanism: def.name, kv, options, state: r.state, cost: r.cost ?? emptyPrepareCost() };
  };
  const asTyped = (p: Prepared): TypedPrepared<S, O> => p as TypedPrepared<S, O>;
  const attendPrepared = (p: Prepared, query: QueryInput): Promise<AttentionOutput> => def.attend(asTyped(p), query);
  const appendUnsupported = def.appendUnsupported;
  const append = appendUnsupported !== undefined ? undefined : async (p: Prepared, kNew: Float32Array, vNew: Float32Array): Promise<Prepared> => {
    const prev = asTyped(p);
    const kv = grownKv(prev.kv, kNew, vNew);
    const r = def.append ? await def.append(prev, kv, kNew, vNew) : await def.prepare(kv, prev.options);
    return { ...p, kv, state: r.state, cost: def.append ? addCost(p.cost, r.cost) : r.cost ?? emptyPrepareCost() };
  };
  const tol = def.tolerance;
  const props: Partial<Mechanism> = {
    tolerance: tol.kind === 'exhaustive' ? { kind: tol.kind, relL2: tol.relL2, note: tol.note } : { kind: tol.kind, note: tol.note },
    budget: def.budget ? { ...def.budget, options: (b: number, n: number, base: Options) => def.budget!.options(b, n, typed(base)) as Options } : null,
    exhaustiveOptions: (n: number) => (tol.kind === 'exhaustive' ? (tol.options(n) as Options) : null),
    notSupportedReasons: (input: AttentionInput, options: Options) => def.notSupportedReasons(input, typed(options)),
    prepare,
    attendPrepared,
    attend: async (input: AttentionInput, options: Options) => attendPrepared(await prepare(kvOf(input), options), queryOf(input)),
    ...(append ? { append } : {}),
    ...(appendUnsupported !== undefined ? { appendUnsupported } : {}),
  };
  for (const [key, value] of Object.entries(props)) Object.defineProperty(mech, key, { value, enumerable: true, configurable: true, writable: false });
  return mech;
}

/**
 * A mechanism written as one call (its whole work is per query): prepare only keeps the cache, so a prepared
 * attend costs what the single call costs. For mechanisms with nothing worth building once (exact attention's
 * work is all per query), and as the starting point of a two-phase port.
 */
export function singlePhase(def: Omit<Mechanism, 'prepare' | 'attendPrepared' | 'append' | 'appendUnsupported' | 'budget'> & { readonly budget: DefBudget<OptionDecls> | null }): Mechanism {
  const two = Object.defineProperties({}, Object.getOwnPropertyDescriptors(def)) as TwoPhaseDef<null, OptionDecls>;
  const own = { configurable: true, enumerable: true, writable: true };
  Object.defineProperty(two, 'prepare', { ...own, value: (): PreparedState<null> => ({ state: null }) });
  Object.defineProperty(two, 'attend', { ...own, value: (p: Prepared<null>, query: QueryInput) => def.attend(fullInput(p.kv, query), p.options) });
  return defineMechanism(two);
}
