/**
 * The verdict table (`qattn verdict`, and the short form closing `qattn bench`'s summary): for each hardware
 * profile × QRAM model × classical parallelism S, the context length at which grover-topk's modeled QPU time
 * per query would match the H200's scores + top-32 (bench/charts/crossover-analysis.ts, the same model the
 * crossover chart draws), the oracle-call time that would take at n = 2^20, and the modeled one.
 *
 * Noiseless and noisy side by side: the noiseless rows are the crossover's extrapolation; the noisy rows use
 * each profile's own error rates through the same cost model (oracles/qpu-time.ts noisePerOracleCall) and
 * give no break-even when a call fails with probability above ½ — the search then decays towards uniform
 * sampling, and no quadratic speedup is left to break even with. QRAM: the bucket-brigade model of
 * oracles/cost-model.ts (the one this version models). S divides the classical time (S GPUs on one query).
 */
import { DEFAULT_BITS, getProfile, isProfileName, noisePerOracleCall, oracleCostModel, searchSpace } from '../oracles/index.ts';
import { crossoverAnalysis, formatPow2, formatSeconds, NOISELESS_NOTE, REFERENCE_N } from './charts/crossover-analysis.ts';
import { breakEvenN, requiredPerCall } from './charts/crossover-model.ts';
import { GPU_REFERENCE_SOURCE } from './charts/gpu-reference.ts';
import { formatN, table } from './format.ts';
import type { ResultsDoc } from './results.ts';

/** Classical parallelism S of the verdict's rows (Babbush et al. 2021, Table I, use the same three). */
export const VERDICT_PARALLELISM = [1, 1e3, 1e6] as const;

/** Per-call error probability above which a noisy row has no break-even. */
export const NOISY_MAX_ERROR = 0.5;

export interface VerdictLine {
  readonly profile: string;
  readonly qram: 'bucket-brigade';
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

/** The k and d of the quantum records (for the per-call error), from the first grover record. */
function shapeOf(doc: ResultsDoc): { k: number; d: number } {
  const r = doc.records.find((x) => x.method === 'grover-topk');
  const k = typeof r?.options['k'] === 'number' ? r.options['k'] : 32;
  return { k, d: r?.d ?? doc.meta.config.dim };
}

export function verdictLines(doc: ResultsDoc): VerdictLine[] {
  const a = crossoverAnalysis(doc);
  const gpu = a.competitors[0];
  if (!a.method || !gpu) return [];
  const { k, d } = shapeOf(doc);
  const bitsOpt = doc.records.find((x) => x.method === a.method)?.options['oracleBits'];
  const bits = typeof bitsOpt === 'number' && bitsOpt > 0 ? bitsOpt : DEFAULT_BITS;
  const model = oracleCostModel({ indexQubits: searchSpace(REFERENCE_N).qubits, payload: { kind: 'key', dim: d, bits }, excludeCount: k });
  const from = Math.min(...a.profiles.flatMap((p) => p.points.map((x) => x.n)));
  return a.profiles.flatMap((p) => VERDICT_PARALLELISM.flatMap((S): VerdictLine[] => {
    const classical = (n: number): number => gpu.time(n) / S;
    const modeled = p.model ? p.model.perCallAt(REFERENCE_N) : null;
    const needed = p.model ? requiredPerCall(p.model, classical, REFERENCE_N) : null;
    const even = p.model ? breakEvenN(p.model.timeAt, classical, from) : null;
    const error = isProfileName(p.profile) ? noisePerOracleCall(getProfile(p.profile), model) : NaN;
    const base = { profile: p.profile, qram: 'bucket-brigade' as const, parallelism: S, neededOracleCallSeconds: needed, modeledOracleCallSeconds: modeled, competitor: gpu.name };
    const noisyLost = !(error <= NOISY_MAX_ERROR);
    return [
      { ...base, noiseless: true, breakEvenN: even, perCallError: 0, note: 'noiseless hardware assumed' },
      {
        ...base, noiseless: false, breakEvenN: noisyLost ? null : even, perCallError: error,
        note: noisyLost
          ? `one oracle call fails with probability ${error.toPrecision(3)}: the search decays to uniform sampling, no speedup`
          : `per-call error ${error.toPrecision(3)} ≤ ${NOISY_MAX_ERROR}: break-even as noiseless (the slowdown from noise is not modeled)`,
      },
    ];
  }));
}

const evenText = (n: number | null): string => (n === null ? 'never' : formatPow2(n));

/** The terminal table. */
export function formatVerdict(doc: ResultsDoc): string {
  const lines = verdictLines(doc);
  if (!lines.length) return 'verdict: no grover-topk cells with modeled QPU time in this run (run qattn bench with grover-topk).';
  const rows: string[][] = [];
  for (const l of lines.filter((x) => x.noiseless)) {
    const noisy = lines.find((x) => !x.noiseless && x.profile === l.profile && x.parallelism === l.parallelism)!;
    rows.push([
      l.profile, l.qram, l.parallelism.toExponential(0).replace('e+0', '').replace('e+', 'e'), evenText(l.breakEvenN),
      l.neededOracleCallSeconds === null ? '–' : formatSeconds(l.neededOracleCallSeconds),
      l.modeledOracleCallSeconds === null ? '–' : formatSeconds(l.modeledOracleCallSeconds),
      `${evenText(noisy.breakEvenN)} (p/call ${noisy.perCallError.toPrecision(3)})`,
    ]);
  }
  const a = crossoverAnalysis(doc);
  return [
    `verdict: ${a.method} on ${a.workload} against ${lines[0]!.competitor}; break-even context length per profile × QRAM × classical parallelism S`,
    table(['profile', 'QRAM', 'S', 'break-even n (noiseless)', `needed call at ${formatN(REFERENCE_N)}`, `modeled call at ${formatN(REFERENCE_N)}`, 'noisy break-even'], rows, [0, 1, 6]),
    `noiseless rows: ${NOISELESS_NOTE}; noisy rows: each profile's own error rates (no break-even above ${NOISY_MAX_ERROR} per call).`,
    `GPU: ${GPU_REFERENCE_SOURCE}; extrapolated from the measured lengths as in the crossover chart.`,
  ].join('\n');
}

/** One line for the end of `qattn bench`'s summary: S = 1, noiseless and noisy. */
export function verdictShort(doc: ResultsDoc): string | null {
  const lines = verdictLines(doc).filter((l) => l.parallelism === 1);
  if (!lines.length) return null;
  const per = lines.filter((l) => l.noiseless).map((l) => {
    const noisy = lines.find((x) => !x.noiseless && x.profile === l.profile)!;
    return `${l.profile} ${evenText(l.breakEvenN)} noiseless, ${evenText(noisy.breakEvenN)} with its noise`;
  });
  return `verdict (break-even n vs the H200 scores + top-32, S = 1; qattn verdict --in RESULTS.json for the table): ${per.join('; ')}`;
}
