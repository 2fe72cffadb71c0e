/**
 * The one adapter between a quantum mechanism's resource record (AttentionOutput.quantum, typed as plain data in
 * attention/quantum.ts so attention/ need not import oracles/) and the QPU cost model in oracles/: modeled QPU
 * seconds per hardware profile for a results record. Totals add up over the records (e.g. one per query).
 */
import type { QuantumResourceRecord } from '../attention/quantum.ts';
import { hardwareProfiles, modelQpuSeconds } from '../oracles/index.ts';

/** Modeled seconds per profile name, or null when the mechanism reported no quantum record. */
export function modeledQpuSeconds(quantum: readonly QuantumResourceRecord[] | undefined): Record<string, number> | null {
  if (quantum === undefined) return null;
  const totals: Record<string, number> = Object.fromEntries(Object.keys(hardwareProfiles).map((name) => [name, 0]));
  for (const part of quantum) {
    const byProfile = modelQpuSeconds(part.cost, part.model, Object.values(hardwareProfiles), { selections: part.selections });
    for (const [name, b] of Object.entries(byProfile)) totals[name] = (totals[name] ?? 0) + b.total;
  }
  return totals;
}
