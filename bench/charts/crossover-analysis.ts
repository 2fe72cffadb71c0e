/**
 * The crossover question on one run: from the quantum top-k records (modeled QPU seconds per hardware profile
 * and oracle calls) and the classical competitors — measured here on the CPU, and the cited H200 reference
 * (gpu-reference.ts) — the break-even n per profile and the oracle-call latency a QPU would need. Used by the
 * crossover chart and the report's crossover table; the model and its caveats are in crossover-model.ts.
 */
import { DEFAULT_BITS, getProfile, isProfileName, oracleCostModel, qpuBreakdown, type HardwareProfile, type OracleCostModel, type QramModel } from '../../oracles/index.ts';
import type { OkRecord, ResultsDoc } from '../results.ts';
import { findFit, okRecords, workloadsOf } from './common.ts';
import { breakEvenN, fitQpuModel, requiredPerCall, scanTime, type QpuModel, type QpuPoint, type XY } from './crossover-model.ts';
import { gpuCompetitors } from './gpu-reference.ts';

/** The mechanism whose QPU time the chart models (any quantum mechanism with modeled time if it is absent). */
export const QUANTUM_METHOD = 'grover-topk';
/** Classical mechanisms measured here that do the same job on a CPU: a top-k scan, and exact attention. */
export const CPU_COMPETITORS = ['topk-exact', 'exact'] as const;
/** The n of the GPU headline figures (2^20 keys): where the needed oracle-call latency is quoted. */
export const REFERENCE_N = 2 ** 20;

export interface Competitor {
  readonly name: string;
  readonly source: 'gpu-reference' | 'measured';
  /** The same job as a Grover top-k (a scored top-k selection), or full exact attention. */
  readonly task: 'topk' | 'exact';
  /** Seconds per query at the measured / reference lengths. */
  readonly points: readonly XY[];
  /** Seconds per query at any n (scanTime). */
  readonly time: (n: number) => number;
}

export interface ProfileCrossover {
  readonly profile: string;
  /** Per query, at the measured lengths. */
  readonly points: readonly QpuPoint[];
  readonly model: QpuModel | null;
  /** Break-even n against each competitor (same order as `competitors`); null = not below 2^128. */
  readonly breakEven: ReadonlyArray<number | null>;
}

export interface CrossoverAnalysis {
  readonly method: string | null;
  readonly workload: string | null;
  readonly competitors: readonly Competitor[];
  readonly profiles: readonly ProfileCrossover[];
  /** Oracle-call seconds needed to match competitors[0] (H200 scores + top-32) at REFERENCE_N. */
  readonly requiredPerCallAtReference: number | null;
}

export function quantumRecords(doc: ResultsDoc): OkRecord[] {
  const withQpu = okRecords(doc).filter((r) => r.modeledQpuSeconds !== null && (r.cost.oracleQueries ?? 0) > 0);
  // One variant: grover-topk at its run's only setting if there is one, else its first variant, else the first quantum one.
  const variant = withQpu.find((r) => r.variant === QUANTUM_METHOD)?.variant ?? withQpu.find((r) => r.method === QUANTUM_METHOD)?.variant ?? withQpu[0]?.variant;
  const workload = workloadsOf(doc).find((w) => withQpu.some((r) => r.variant === variant && r.workload === w));
  return withQpu.filter((r) => r.variant === variant && r.workload === workload).sort((a, b) => a.n - b.n);
}

function gpuCompetitorList(): Competitor[] {
  const { topk, exact } = gpuCompetitors();
  return ([['topk', topk], ['exact', exact]] as const).map(([task, s]) => {
    const points = s.points.map((p) => ({ n: p.n, y: p.ms / 1e3 }));
    return { name: s.name, source: 'gpu-reference' as const, task, points, time: scanTime(points) };
  });
}

function cpuCompetitors(doc: ResultsDoc, workload: string | null): Competitor[] {
  const ok = okRecords(doc);
  const wl = workload ?? workloadsOf(doc)[0];
  return CPU_COMPETITORS.flatMap((method) => {
    const points = ok.filter((r) => r.variant === method && r.workload === wl)
      .map((r) => ({ n: r.n, y: r.timing.medianMs / 1e3 / r.m }))
      .sort((a, b) => a.n - b.n);
    const task = method === 'exact' ? 'exact' as const : 'topk' as const;
    return points.length ? [{ name: `CPU ${method} (measured)`, source: 'measured' as const, task, points, time: scanTime(points) }] : [];
  });
}

/** What the cost model needs of a run's grover records: k, the key dimension, oracleBits, measurements per call. */
export interface OracleShape {
  readonly k: number;
  readonly d: number;
  readonly bits: number;
  readonly measurementsPerCall: number;
}

/** The oracle shape of the largest quantum record (grover-topk's options; k = 32 and 16 bits by default), or null. */
export function oracleShape(recs: readonly OkRecord[]): OracleShape | null {
  const last = recs[recs.length - 1];
  if (!last) return null;
  const k = typeof last.options['k'] === 'number' ? last.options['k'] : 32;
  const bitsOpt = last.options['oracleBits'];
  return {
    k, d: last.d, bits: typeof bitsOpt === 'number' && bitsOpt > 0 ? bitsOpt : DEFAULT_BITS,
    measurementsPerCall: (last.cost.extra['measurements'] ?? 0) / Math.max(1, last.cost.oracleQueries ?? 1),
  };
}

/** grover-topk's oracle over ⌈log₂ n⌉ index qubits (key payload, k excluded, ties broken by index) under a QRAM model. */
export function groverOracleModel(shape: OracleShape, n: number, qram: QramModel): OracleCostModel {
  return oracleCostModel({ indexQubits: Math.ceil(Math.log2(n) - 1e-9), payload: { kind: 'key', dim: shape.d, bits: shape.bits }, excludeCount: shape.k, indexTieBreak: true, qram });
}

/**
 * Seconds per oracle call at any n on `profile`, from the cost model rather than a fit (crossover-model.ts): the
 * oracle of the run's largest record at ⌈log₂ n⌉ index qubits, costed by qpuBreakdown for `calls` calls (a
 * surface-code distance is sized for the whole query) with the record's measurements per call.
 */
export function costModelPerCall(recs: readonly OkRecord[], profile: HardwareProfile): ((n: number, calls: number) => number) | undefined {
  const shape = oracleShape(recs);
  if (!shape) return undefined;
  return (n, calls) => {
    const c = Math.max(calls, 1e-300);
    const counts = { oracleCalls: c, groverIterations: c, measurements: c * shape.measurementsPerCall };
    return qpuBreakdown(counts, groverOracleModel(shape, n, profile.qram), profile, { selections: shape.k }).total / c;
  };
}

function profilePoints(recs: readonly OkRecord[], profile: string): QpuPoint[] {
  return recs.flatMap((r) => {
    const s = r.modeledQpuSeconds?.[profile];
    return s === undefined ? [] : [{ n: r.n, seconds: s / r.m, calls: (r.cost.oracleQueries ?? 0) / r.m }];
  });
}

export function crossoverAnalysis(doc: ResultsDoc): CrossoverAnalysis {
  const recs = quantumRecords(doc);
  const workload = recs[0]?.workload ?? null;
  const competitors = [...gpuCompetitorList(), ...cpuCompetitors(doc, workload)];
  const names = [...new Set(recs.flatMap((r) => Object.keys(r.modeledQpuSeconds ?? {})))];
  const from = recs[0]?.n ?? 1;
  // The n range of the fits table's oracle-call exponent, so the chart's fitted α is that same number.
  const fit = recs[0] ? findFit(doc.fits, recs[0].variant, recs[0].workload, 'oracleQueries') : undefined;
  const range = fit ? [fit.nMin, fit.nMax] as const : undefined;
  const profiles = names.map((profile): ProfileCrossover => {
    const points = profilePoints(recs, profile);
    const model = fitQpuModel(points, range, isProfileName(profile) ? costModelPerCall(recs, getProfile(profile)) : undefined);
    const breakEven = competitors.map((c) => (model ? breakEvenN(model.timeAt, c.time, from) : null));
    return { profile, points, model, breakEven };
  });
  const model = profiles.find((p) => p.model)?.model ?? null;
  const gpu = competitors[0];
  return {
    method: recs[0]?.variant ?? null, workload, competitors, profiles,
    requiredPerCallAtReference: model && gpu ? requiredPerCall(model, gpu.time, REFERENCE_N) : null,
  };
}

/** "2^52.3" for a break-even n (integer powers print as 2^20). */
export function formatPow2(n: number): string {
  const l = Math.log2(n);
  return Math.abs(l - Math.round(l)) < 0.05 ? `2^${Math.round(l)}` : `2^${l.toFixed(1)}`;
}

/** Seconds with an SI prefix and 2–3 significant digits: 21 ns, 3.4 µs, 1.2 ms, 5.6 s, 3.1e+05 s. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return String(s);
  const units: Array<[number, string]> = [[1, 's'], [1e-3, 'ms'], [1e-6, 'µs'], [1e-9, 'ns'], [1e-12, 'ps']];
  if (s >= 1e3) return `${s.toExponential(1)} s`;
  for (const [u, name] of units) if (s >= u) return `${Number((s / u).toPrecision(2))} ${name}`;
  return `${s.toExponential(1)} s`;
}

/**
 * The modeled QPU times of the physical profiles are for noiseless hardware (issue 13, finding 4): with their own
 * gate error rates the same cost model puts the error probability of one oracle call at ≈ 1 at these sizes
 * (`qattn grover --hardware P --json`, noisePerOracleCall). The fault-tolerant profile is error-corrected: its
 * surface-code distance is sized for the run, and its slower logical cycle is what that costs.
 */
export const NOISELESS_LINES = [
  'physical profiles assume noiseless hardware: with their error rates one oracle call',
  'fails with probability ≈ 1 (qattn grover --hardware P); fault-tolerant: error-corrected',
] as const;
export const NOISELESS_NOTE = NOISELESS_LINES.join(' ');
