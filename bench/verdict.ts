/**
 * The verdict table (`qattn verdict`, and the short form closing `qattn bench`'s summary): for each hardware
 * profile × QRAM model × classical parallelism S, the context length at which grover-topk's modeled QPU time
 * per query would match the H200's scores + top-32 (bench/charts/crossover-analysis.ts, the same model the
 * crossover chart draws), the oracle-call time that would take at n = 2^20, and the modeled one.
 *
 * Noiseless and noisy side by side: the noiseless rows are the crossover's extrapolation; the noisy rows use
 * each profile's own error rates through the same cost model (oracles/qpu-time.ts noisePerOracleCall) and
 * give no break-even when a call fails with probability above ½ — the search then decays towards uniform
 * sampling, and no quadratic speedup is left to break even with. QRAM: each model of oracles/cost-model.ts
 * ('free' is the most favourable assumption), the run's counts re-costed under it (the results record each
 * profile's default only). S divides the classical time (S GPUs on one query).
 */
import {
  getProfile, isProfileName, noisePerOracleCall, qpuBreakdown, qramModels, withOverrides, type HardwareProfile, type QramModel,
} from '../oracles/index.ts';
import { findFit } from './charts/common.ts';
import {
  costModelPerCall, crossoverAnalysis, formatPow2, formatSeconds, groverOracleModel, NOISELESS_NOTE, oracleShape, quantumRecords, REFERENCE_N,
  type CrossoverAnalysis, type OracleShape,
} from './charts/crossover-analysis.ts';
import { breakEvenN, fitQpuModel, requiredPerCall, type QpuModel, type QpuPoint } from './charts/crossover-model.ts';
import { GPU_REFERENCE_SOURCE } from './charts/gpu-reference.ts';
import { formatN, table } from './format.ts';
import type { ResultsDoc } from './results.ts';

/** Classical parallelism S of the verdict's rows (Babbush et al. 2021, Table I, use the same three). */
export const VERDICT_PARALLELISM = [1, 1e3, 1e6] as const;

/** Per-call error probability above which a noisy row has no break-even. */
export const NOISY_MAX_ERROR = 0.5;

export interface VerdictLine {
  readonly profile: string;
  readonly qram: QramModel;
  readonly parallelism: number;
  readonly noiseless: boolean;
  /** Break-even context length, or null: never (not below 2^128, or lost to noise). */
  readonly breakEvenN: number | null;
  /** Oracle-call seconds that would match the classical side at n = 2^20. */
  readonly neededOracleCallSeconds: number | null;
  /** Modeled oracle-call seconds at n = 2^20. */
  readonly modeledOracleCallSeconds: number | null;
  /** Error probability of one oracle call at n = 2^20 on this profile (0 on noiseless rows). */
  readonly perCallError: number;
  readonly competitor: string;
  readonly note: string;
}

/** Seconds per query of the run's grover records re-costed on `profile`, fitted as the crossover chart does. */
function qpuModelFor(doc: ResultsDoc, profile: HardwareProfile, shape: OracleShape): { model: QpuModel | null; from: number } {
  const recs = quantumRecords(doc);
  const points: QpuPoint[] = recs.map((r) => {
    const counts = { oracleCalls: r.cost.oracleQueries ?? 0, groverIterations: r.cost.groverIterations ?? 0, measurements: r.cost.extra['measurements'] ?? 0 };
    const seconds = qpuBreakdown(counts, groverOracleModel(shape, r.n, profile.qram), profile, { selections: shape.k }).total;
    return { n: r.n, seconds: seconds / r.m, calls: counts.oracleCalls / r.m };
  });
  const fit = recs[0] ? findFit(doc.fits, recs[0].variant, recs[0].workload, 'oracleQueries') : undefined;
  return { model: fitQpuModel(points, fit ? [fit.nMin, fit.nMax] : undefined, costModelPerCall(recs, profile)), from: Math.min(...recs.map((r) => r.n)) };
}

export function verdictLines(doc: ResultsDoc, a: CrossoverAnalysis = crossoverAnalysis(doc)): VerdictLine[] {
  const gpu = a.competitors[0];
  if (!a.method || !gpu) return [];
  const shape = oracleShape(quantumRecords(doc));
  if (!shape) return [];
  return a.profiles.flatMap((p) => qramModels.flatMap((qram) => {
    if (!isProfileName(p.profile)) return [];
    const profile = withOverrides(getProfile(p.profile), { qram });
    const { model: qpu, from } = qpuModelFor(doc, profile, shape);
    // A surface code's distance is sized for the query at 2^20 (its modeled calls), as its time is.
    const calls = qpu ? qpu.callsAt(REFERENCE_N) : undefined;
    const counts = calls === undefined ? undefined : { oracleCalls: calls, groverIterations: calls, measurements: 0 };
    const error = noisePerOracleCall(profile, groverOracleModel(shape, REFERENCE_N, qram), counts);
    return VERDICT_PARALLELISM.flatMap((S): VerdictLine[] => {
      const classical = (n: number): number => gpu.time(n) / S;
      const base = {
        profile: p.profile, qram, parallelism: S, competitor: gpu.name,
        neededOracleCallSeconds: qpu ? requiredPerCall(qpu, classical, REFERENCE_N) : null,
        modeledOracleCallSeconds: qpu ? qpu.perCallAt(REFERENCE_N) : null,
      };
      const even = qpu ? breakEvenN(qpu.timeAt, classical, from) : null;
      const noisyLost = !(error <= NOISY_MAX_ERROR);
      const label = qram === 'free' ? 'noiseless hardware and a free QRAM assumed (the most favourable case)' : 'noiseless hardware assumed';
      return [
        { ...base, noiseless: true, breakEvenN: even, perCallError: 0, note: label },
        {
          ...base, noiseless: false, breakEvenN: noisyLost ? null : even, perCallError: error,
          note: noisyLost
            ? `one oracle call fails with probability ${error.toPrecision(3)}: the search decays to uniform sampling, no speedup`
            : `per-call error ${error.toPrecision(3)} ≤ ${NOISY_MAX_ERROR}: break-even as noiseless (the slowdown from noise is not modeled)`,
        },
      ];
    });
  }));
}

const evenText = (n: number | null): string => (n === null ? 'never' : formatPow2(n));

/** The terminal table. */
export function formatVerdict(doc: ResultsDoc): string {
  const a = crossoverAnalysis(doc);
  const lines = verdictLines(doc, a);
  if (!lines.length) return 'verdict: no grover-topk cells with modeled QPU time in this run (run qattn bench with grover-topk).';
  const rows: string[][] = [];
  for (const l of lines.filter((x) => x.noiseless)) {
    const noisy = lines.find((x) => !x.noiseless && x.profile === l.profile && x.qram === l.qram && x.parallelism === l.parallelism)!;
    rows.push([
      l.profile, l.qram, l.parallelism.toExponential(0).replace('e+0', '').replace('e+', 'e'), evenText(l.breakEvenN),
      l.neededOracleCallSeconds === null ? '–' : formatSeconds(l.neededOracleCallSeconds),
      l.modeledOracleCallSeconds === null ? '–' : formatSeconds(l.modeledOracleCallSeconds),
      `${evenText(noisy.breakEvenN)} (p/call ${noisy.perCallError.toPrecision(3)})`,
    ]);
  }
  return [
    `verdict: ${a.method} on ${a.workload} against ${lines[0]!.competitor}; break-even context length per profile × QRAM × classical parallelism S`,
    table(['profile', 'QRAM', 'S', 'break-even n (noiseless)', `needed call at ${formatN(REFERENCE_N)}`, `modeled call at ${formatN(REFERENCE_N)}`, 'noisy break-even'], rows, [0, 1, 6]),
    `noiseless rows: ${NOISELESS_NOTE}; noisy rows: each profile's own error rates (no break-even above ${NOISY_MAX_ERROR} per call).`,
    `GPU: ${GPU_REFERENCE_SOURCE}; extrapolated from the measured lengths as in the crossover chart.`,
  ].join('\n');
}

/** One line for the end of `qattn bench`'s summary: S = 1, noiseless and noisy. */
export function verdictShort(doc: ResultsDoc): string | null {
  const lines = verdictLines(doc).filter((l) => l.parallelism === 1 && isProfileName(l.profile) && l.qram === getProfile(l.profile).qram);
  if (!lines.length) return null;
  const per = lines.filter((l) => l.noiseless).map((l) => {
    const noisy = lines.find((x) => !x.noiseless && x.profile === l.profile)!;
    return `${l.profile} ${evenText(l.breakEvenN)} noiseless, ${evenText(noisy.breakEvenN)} with its noise`;
  });
  return `verdict (break-even n vs the H200 scores + top-32, S = 1, each profile's QRAM; qattn verdict --in RESULTS.json for the table): ${per.join('; ')}`;
}
