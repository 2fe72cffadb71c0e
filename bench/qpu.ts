/**
 * The one adapter between a quantum mechanism's cost record (AttentionOutput.quantum, opaque to attention/)
 * and the QPU cost model in oracles/: modeled QPU seconds per hardware profile for a results record.
 *
 * Accepted shape (what a quantum mechanism puts in `quantum`): one record, or an array of them (e.g. one per
 * query), each `{ cost: {oracleCalls, groverIterations, measurements}, model: OracleCostModel, selections? }`
 * — the search's SearchCost counts and the oracle cost model of the searched space (oracles/cost-model.ts).
 * Totals add up over the array. Anything else is a contract mismatch, reported as an error (not a silent
 * null), because a quantum row without QPU time would misread as "free".
 */
import { hardwareProfiles, modelQpuSeconds, type CostCounts, type OracleCostModel } from '../oracles/index.ts';

export interface QuantumCostRecord {
  readonly cost: CostCounts;
  readonly model: OracleCostModel;
  /** Items the search selects (k for top-k; default 1). */
  readonly selections?: number;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isCount = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;

export function isQuantumCostRecord(x: unknown): x is QuantumCostRecord {
  if (!isObject(x) || !isObject(x['cost']) || !isObject(x['model'])) return false;
  const c = x['cost'], mdl = x['model'];
  return isCount(c['oracleCalls']) && isCount(c['groverIterations']) && isCount(c['measurements'])
    && ['qram', 'arithmetic', 'comparator', 'diffusion'].every((g) => isObject(mdl[g]))
    && (x['selections'] === undefined || isCount(x['selections']));
}

/** Modeled seconds per profile name, or null when the mechanism reported no quantum record. */
export function modeledQpuSeconds(quantum: unknown): Record<string, number> | null {
  if (quantum === undefined || quantum === null) return null;
  const parts = Array.isArray(quantum) ? quantum : [quantum];
  const totals: Record<string, number> = {};
  for (const part of parts) {
    if (!isQuantumCostRecord(part)) {
      throw new Error('the quantum cost record is not in the shape bench/qpu.ts reads ({cost: {oracleCalls, groverIterations, measurements}, model: OracleCostModel})');
    }
    const opts = part.selections === undefined ? {} : { selections: part.selections };
    const byProfile = modelQpuSeconds(part.cost, part.model, Object.values(hardwareProfiles), opts);
    for (const [name, b] of Object.entries(byProfile)) totals[name] = (totals[name] ?? 0) + b.total;
  }
  return parts.length ? totals : null;
}
