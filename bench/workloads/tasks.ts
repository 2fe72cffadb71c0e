/**
 * Task workloads: attention-level counterparts of RULER's categories (Hsieh et al., arXiv 2404.06654) — each
 * query has an answer its attention output must recover, scored as task accuracy beside the operator error.
 * They are the needle family (needle.ts: orthonormal pool directions u_t, queries √d·u_t, background keys
 * N(0, I) whose logits are exactly N(0, 1), the planted logit set for a target mass by `needleLogit`), grown
 * by what each task needs:
 *  - `single-key`: one needle per query; correct when the output is nearer its needle's value than any other
 *    pool key's value;
 *  - `multi-key`: the same with `distractors` hard distractors per needle — keys (L − gap)·u_t + ρ·w, w ⟂ u_t,
 *    at a small angle to the needle (ρ = half their length) and `gap` below its logit; correct when nearest the
 *    needle's value among its distractors' and the other pool keys' values;
 *  - `multi-value`: `needles` needles per query of equal logit; the answer is the mean of their values (the
 *    sum, over g: what softmax attention can return); correct when nearer it than any answer missing one
 *    needle (the mean of the other g − 1);
 *  - `aggregation`: each query matches a group of `matches` keys (hundreds to thousands) of equal logit whose
 *    values share a mean μ_t plus N(0, I) noise; the answer is the mean of those values; correct when the
 *    output is within `tolerance` relative error of it. Top-k methods are known to fail here (the answer is
 *    spread over more keys than they keep); sampling estimates a mean.
 * Tasks are non-causal (a causal query may not see its needles, and then has no answer).
 */
import { QattnError } from '../../core/errors.ts';
import type { Rng } from '../../core/rng.ts';
import { needleLogit, orthonormal } from './needle.ts';
import { normalFloat32 } from './normal.ts';
import { sampleDistinct, STREAM, workloadRng } from './shared.ts';
import { queryCount, syntheticShape, type TaskAnswers, type Workload, type WorkloadInput, type WorkloadRequest } from './types.ts';

/** The shared start: background K and V, the pool directions and positions of `special` planted keys. */
interface Base {
  readonly rng: Rng;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly dirs: Float64Array[];
  /** Positions of the planted keys: pool keys first (P of them), then any the task adds. */
  readonly pos: number[];
  readonly P: number;
}

function base(name: string, req: WorkloadRequest, special: (P: number) => number): Base {
  if (req.causal) throw new QattnError(`the ${name} task is non-causal (a causal query may not see its needles, and then has no answer): drop --causal`);
  const { n, d } = req;
  const P = Math.min(d, n);
  const count = special(P);
  if (count > n / 2) throw new QattnError(`the ${name} task plants ${count} keys, more than half of n=${n}: raise n or lower its parameters`);
  const rng = workloadRng(name, req);
  const s = rng.fork(STREAM.structure);
  const dirs = orthonormal(s, P, d);
  const pos = sampleDistinct(s, n, count);
  return { rng, k: normalFloat32(rng.fork(STREAM.k), n * d), v: normalFloat32(rng.fork(STREAM.v), n * d), dirs, pos, P };
}

function setKey(k: Float32Array, d: number, at: number, dir: Float64Array, length: number, side?: Float64Array, sideLength = 0): void {
  for (let x = 0; x < d; x++) k[at * d + x] = length * dir[x]! + (side ? sideLength * side[x]! : 0);
}

/** A unit vector orthogonal to `u` (a Gaussian draw with its u component removed). */
function orthogonalTo(rng: Rng, u: Float64Array): Float64Array {
  for (;;) {
    const w = Float64Array.from(u, () => rng.normal());
    let p = 0;
    for (let x = 0; x < u.length; x++) p += w[x]! * u[x]!;
    for (let x = 0; x < u.length; x++) w[x]! -= p * u[x]!;
    const norm = Math.hypot(...w);
    if (norm > 1e-6) return w.map((y) => y / norm);
  }
}

/** Queries q_i = √(d/g)·Σ_{t ∈ picks_i} u_t (logit c/√g against pool key c·u_t, 0 against the other pool keys). */
function queries(req: WorkloadRequest, dirs: readonly Float64Array[], picks: readonly number[][]): Float32Array {
  const d = req.d;
  const q = new Float32Array(picks.length * d);
  picks.forEach((mine, i) => {
    const amp = Math.sqrt(d / mine.length);
    for (const t of mine) for (let x = 0; x < d; x++) q[i * d + x]! += amp * dirs[t]![x]!;
  });
  return q;
}

const row = (v: Float32Array, j: number, dv: number): Float32Array => v.subarray(j * dv, (j + 1) * dv);

/** Mean of the value rows `js`. */
function meanRow(v: Float32Array, js: readonly number[], dv: number): Float32Array {
  const out = new Float32Array(dv);
  for (const j of js) for (let c = 0; c < dv; c++) out[c]! += v[j * dv + c]! / js.length;
  return out;
}

function nearestTask(answers: readonly Float32Array[], rivals: readonly Float32Array[][]): TaskAnswers {
  return { kind: 'nearest', answers, rivals, tolerance: null };
}

function finish(req: WorkloadRequest, b: Base, picks: number[][], task: TaskAnswers): WorkloadInput {
  const { n, d } = req;
  return { q: queries(req, b.dirs, picks), k: b.k, v: b.v, m: picks.length, n, d, dv: d, causal: false, task };
}

/** Each query's g distinct pool indices. */
function pick(rng: Rng, m: number, P: number, g: number): number[][] {
  return Array.from({ length: m }, () => sampleDistinct(rng, P, g));
}

const param = (p: Readonly<Record<string, number>>, name: string, fallback: number): number => p[name] ?? fallback;

const massParam = (def: number) => ({ name: 'mass', integer: false, default: def, min: 0.5, max: 0.999999, description: 'expected softmax mass on the planted keys' });

export const singleKey: Workload = {
  name: 'single-key',
  summary: 'task: each query must retrieve its one needle\'s value (accuracy: output nearest that value among the pool\'s)',
  params: [massParam(0.9)],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req, params) {
    const b = base('single-key', req, (P) => P);
    const L = needleLogit(req.n, b.P, 1, param(params, 'mass', 0.9));
    b.pos.forEach((at, t) => setKey(b.k, req.d, at, b.dirs[t]!, L));
    const picks = pick(b.rng.fork(STREAM.q), queryCount(req), b.P, 1);
    const values = b.pos.map((at) => row(b.v, at, req.d));
    return finish(req, b, picks, nearestTask(picks.map(([t]) => values[t!]!), picks.map(([t]) => values.filter((_, s) => s !== t))));
  },
};

export const multiKey: Workload = {
  name: 'multi-key',
  summary: 'task: single-key with hard distractors (keys at a small angle to the needle, a little below its logit)',
  params: [
    massParam(0.9),
    { name: 'distractors', integer: true, default: 8, min: 1, max: 64, description: 'distractor keys per needle' },
    { name: 'gap', integer: false, default: 2, min: 0.05, max: 10, description: 'how far below the needle\'s logit the distractors are' },
  ],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req, params) {
    const h = param(params, 'distractors', 8), gap = param(params, 'gap', 2);
    const b = base('multi-key', req, (P) => P * (1 + h));
    const { d, n } = req;
    // The needle's logit L for the mass on the needle and its distractors together (each distractor e^−gap of it).
    const effective = 1 + h * Math.exp(-gap);
    const L = needleLogit(n, b.P * (1 + h), 1, param(params, 'mass', 0.9)) - Math.log(effective);
    const s = b.rng.fork(STREAM.rotation);
    const groups: number[][] = [];
    for (let t = 0; t < b.P; t++) {
      setKey(b.k, d, b.pos[t]!, b.dirs[t]!, L);
      const mine = [b.pos[t]!];
      for (let r = 0; r < h; r++) {
        const at = b.pos[b.P + t * h + r]!;
        setKey(b.k, d, at, b.dirs[t]!, L - gap, orthogonalTo(s, b.dirs[t]!), 0.5 * (L - gap));
        mine.push(at);
      }
      groups.push(mine);
    }
    const picks = pick(b.rng.fork(STREAM.q), queryCount(req), b.P, 1);
    const answers = picks.map(([t]) => row(b.v, b.pos[t!]!, d));
    const rivals = picks.map(([t]) => groups.flatMap((g, u) => (u === t ? g.slice(1) : [g[0]!])).map((j) => row(b.v, j, d)));
    return finish(req, b, picks, nearestTask(answers, rivals));
  },
};

export const multiValue: Workload = {
  name: 'multi-value',
  summary: 'task: each query\'s answer is the mean of several needles\' values (accuracy: nearer it than any answer missing one needle)',
  params: [massParam(0.9), { name: 'needles', integer: true, default: 4, min: 2, max: 32, description: 'needles per query (g)' }],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req, params) {
    const g = param(params, 'needles', 4);
    const b = base('multi-value', req, (P) => P);
    if (b.P < g) throw new QattnError(`the multi-value task with ${g} needles needs d ≥ ${g} and n ≥ ${g}`);
    const c = needleLogit(req.n, b.P, g, param(params, 'mass', 0.9)) * Math.sqrt(g);
    b.pos.forEach((at, t) => setKey(b.k, req.d, at, b.dirs[t]!, c));
    const picks = pick(b.rng.fork(STREAM.q), queryCount(req), b.P, g);
    const keysOf = (mine: readonly number[]): number[] => mine.map((t) => b.pos[t]!);
    const answers = picks.map((mine) => meanRow(b.v, keysOf(mine), req.d));
    const rivals = picks.map((mine) => keysOf(mine).map((_, drop, all) => meanRow(b.v, all.filter((__, x) => x !== drop), req.d)));
    return finish(req, b, picks, nearestTask(answers, rivals));
  },
};

/** Matching groups of the aggregation task (each query matches one). */
const AGG_GROUPS = 8;

export const aggregation: Workload = {
  name: 'aggregation',
  summary: 'task: each query\'s answer is the mean of the values of hundreds to thousands of matching keys (accuracy: within a relative error)',
  params: [
    massParam(0.99),
    { name: 'matches', integer: true, default: 1024, min: 16, max: 2 ** 20, description: 'matching keys per group (capped at n/32)' },
    { name: 'tolerance', integer: false, default: 0.1, min: 0.001, max: 1, description: 'relative error ‖out − answer‖/‖answer‖ counted as correct' },
  ],
  maxN: null,
  fixedD: null,
  shape: syntheticShape,
  generate(req, params) {
    const { n, d } = req;
    const A = Math.min(param(params, 'matches', 1024), Math.floor(n / 32));
    if (A < 4) throw new QattnError(`the aggregation task needs n ≥ 128 (at least 4 matching keys per group), got n=${n}`);
    const T = Math.min(AGG_GROUPS, d);
    const b = base('aggregation', req, () => T * A);
    // Group keys have logit L against their own queries (q = √d·u_t) and, through their side step, N(0, 1)
    // against the others — like background keys.
    const background = (n - A) * Math.exp(0.5);
    const mass = param(params, 'mass', 0.99);
    const L = Math.log((mass / (1 - mass)) * (background / A));
    const s = b.rng.fork(STREAM.rotation);
    const members: number[][] = [];
    for (let t = 0; t < T; t++) {
      const mu = Float64Array.from({ length: d }, () => s.normal());
      const mine = b.pos.slice(t * A, (t + 1) * A);
      for (const at of mine) {
        // Distinct keys of equal logit: the shared direction plus a side step orthogonal to it, of the background's
        // norm √d, so other groups' queries see these keys with N(0, 1) logits, like background keys.
        setKey(b.k, d, at, b.dirs[t]!, L, orthogonalTo(s, b.dirs[t]!), Math.sqrt(d));
        for (let c = 0; c < d; c++) b.v[at * d + c] = mu[c]! + b.v[at * d + c]!;
      }
      members.push(mine);
    }
    const picks = pick(b.rng.fork(STREAM.q), queryCount(req), T, 1);
    const answers = picks.map(([t]) => meanRow(b.v, members[t!]!, d));
    return finish(req, b, picks, { kind: 'relative', answers, rivals: null, tolerance: param(params, 'tolerance', 0.1) });
  },
};

/** Whether query i's output `out` (dv values) answers its task correctly. */
export function correct(task: TaskAnswers, i: number, out: ArrayLike<number>): boolean {
  const answer = task.answers[i]!;
  const dist = (a: ArrayLike<number>): number => {
    let s = 0;
    for (let c = 0; c < answer.length; c++) s += (out[c]! - a[c]!) ** 2;
    return Math.sqrt(s);
  };
  const miss = dist(answer);
  if (task.kind === 'relative') return miss <= task.tolerance! * Math.hypot(...answer);
  return task.rivals![i]!.every((r) => miss < dist(r));
}

/** The fraction of queries answered correctly by the output rows `out` [m × dv]. */
export function taskAccuracy(task: TaskAnswers, out: Float32Array, dv: number): number {
  let ok = 0;
  for (let i = 0; i < task.answers.length; i++) if (correct(task, i, out.subarray(i * dv, (i + 1) * dv))) ok++;
  return ok / task.answers.length;
}
