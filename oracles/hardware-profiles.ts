/**
 * Named QPU hardware profiles for the cost model (qpu-time.ts). Figures are copied from these sources:
 * - Superconducting: Google Quantum AI, "Quantum error correction below the surface code threshold",
 *   Nature 638, 920 (2025), arXiv 2408.13687 (Willow, 105 qubits; distance-7 surface code with logical
 *   error 0.143 % per cycle, error suppression Λ = 2.14; two-qubit gates ~20–400 ns, typically tens of ns,
 *   ~0.3 % error).
 * - Trapped ion: Quantinuum H2 (56 qubits), IonQ Forte (#AQ 35–36); two-qubit gates ~50–200 µs, ~0.1 %
 *   error (Quantinuum H1-1: 99.914 % fidelity); all-to-all connectivity.
 * - Neutral atom: Caltech 6,100-atom tweezer array, arXiv 2403.12021 (coherence 12.6 s; that work
 *   has no two-qubit gates); gate figures from Evered et al., Nature 622, 268 (2023): 99.5 % CZ fidelity,
 *   ~0.2–1 µs class gates.
 * - Fault-tolerant (planning): IBM Starling (2029, 200 logical qubits), Quantinuum Apollo (2030, 100+
 *   logical qubits); a ~1 µs logical cycle is an assumption and the ~1e-3 logical error per cycle is today's
 *   Willow figure. User-overridable (`withOverrides`).
 * Measurement times are not in those sources: they are order-of-magnitude assumptions (marked below).
 */
import { QattnError, check, listChoices } from '../core/errors.ts';
import { qramModels, type QramModel } from './cost-model.ts';

export type ProfileName = 'superconducting' | 'trapped-ion' | 'neutral-atom' | 'fault-tolerant';

/**
 * A fault-tolerant profile derived from the surface code (issue 13, item 3) instead of constants: the model of
 * the Azure Quantum Resource Estimator (Beverland et al., "Assessing requirements to scale to practical quantum
 * advantage", arXiv 2211.07629): a logical cycle of d syndrome rounds, (4·t₂q + 2·t_meas)·d, a logical error
 * per logical qubit per cycle of 0.03·(p/0.01)^((d+1)/2), 2d² physical qubits per logical qubit, and d the
 * smallest odd distance that keeps the whole computation's expected logical failures within targetFailure.
 */
export interface SurfaceCodeSpec {
  readonly physicalTwoQubitSeconds: number;
  readonly physicalMeasurementSeconds: number;
  readonly physicalError: number;
  /** Expected logical failures allowed over the whole computation. */
  readonly targetFailure: number;
}

export interface HardwareProfile {
  readonly name: string;
  /** The machine class the numbers describe. */
  readonly example: string;
  /** Physical qubits, or logical qubits for a fault-tolerant profile. */
  readonly qubits: number;
  /** Seconds per two-qubit gate layer (per logical cycle when fault-tolerant). */
  readonly twoQubitGateSeconds: number;
  readonly twoQubitGateSecondsRange: readonly [number, number];
  /** Error per two-qubit gate, or per logical qubit per cycle (see errorModel). */
  readonly twoQubitError: number;
  readonly errorModel: 'per-two-qubit-gate' | 'per-logical-qubit-cycle';
  /** Seconds per measurement of the index register (assumption, see header). */
  readonly measurementSeconds: number;
  /** Seconds per one-qubit gate layer (see each profile; on the surface-code profile T layers, see qpu-time.ts). */
  readonly oneQubitGateSeconds: number;
  /**
   * How its oracle reads the keys (cost-model.ts QramModel): the bucket brigade on physical devices (the
   * architecture proposed for them), QROAM on the fault-tolerant one (what error-corrected algorithms compile
   * data lookups to, Berry et al. 2019). Overridable.
   */
  readonly qram: QramModel;
  /** When set, the logical cycle and error come from the surface code at a distance chosen per computation. */
  readonly surfaceCode?: SurfaceCodeSpec;
  readonly notes: string;
}

export const hardwareProfiles: Readonly<Record<ProfileName, HardwareProfile>> = {
  superconducting: {
    name: 'superconducting',
    example: 'Google Willow (Nature 638, 920, 2025; arXiv 2408.13687)',
    qubits: 105,
    twoQubitGateSeconds: 40e-9,
    twoQubitGateSecondsRange: [20e-9, 400e-9],
    twoQubitError: 3e-3,
    errorModel: 'per-two-qubit-gate',
    measurementSeconds: 1e-6, // assumption: dispersive readout, ~0.5–1 µs
    oneQubitGateSeconds: 25e-9, // Sycamore: 25 ns one-qubit against 12 ns two-qubit (Arute et al., Nature 574, 505, 2019)
    qram: 'bucket-brigade',
    notes: 'distance-7 surface code: logical error 0.143 %/cycle, Λ = 2.14',
  },
  'trapped-ion': {
    name: 'trapped-ion',
    example: 'Quantinuum H2 (56 qubits); IonQ Forte (#AQ 35–36)',
    qubits: 56,
    twoQubitGateSeconds: 100e-6,
    twoQubitGateSecondsRange: [50e-6, 200e-6],
    twoQubitError: 1e-3,
    errorModel: 'per-two-qubit-gate',
    measurementSeconds: 100e-6, // assumption: fluorescence detection, ~100 µs
    oneQubitGateSeconds: 10e-6, // assumption: ~10 µs class single-qubit gates (order of magnitude)
    qram: 'bucket-brigade',
    notes: 'all-to-all connectivity; H1-1 two-qubit fidelity 99.914 %',
  },
  'neutral-atom': {
    name: 'neutral-atom',
    example: 'Caltech 6,100-atom array (arXiv 2403.12021); Evered et al., Nature 622, 268 (2023)',
    qubits: 6100,
    twoQubitGateSeconds: 0.5e-6,
    twoQubitGateSecondsRange: [0.2e-6, 1e-6],
    twoQubitError: 5e-3,
    errorModel: 'per-two-qubit-gate',
    measurementSeconds: 1e-3, // assumption: fluorescence imaging, ms class
    oneQubitGateSeconds: 1e-6, // assumption: ~1 µs Raman single-qubit gates (order of magnitude)
    qram: 'bucket-brigade',
    notes: 'coherence 12.6 s; the 6,100-atom work has no two-qubit gates (gate figures: Evered et al. 99.5 % CZ)',
  },
  'fault-tolerant': {
    name: 'fault-tolerant',
    example: 'IBM Starling 2029 (200 logical), Quantinuum Apollo 2030 (100+ logical)',
    qubits: 200,
    twoQubitGateSeconds: 1e-6,
    twoQubitGateSecondsRange: [1e-6, 1e-6],
    twoQubitError: 1e-3,
    errorModel: 'per-logical-qubit-cycle',
    measurementSeconds: 1e-6, // assumption: one logical cycle
    oneQubitGateSeconds: 1e-6, // unused with surfaceCode: T layers cost a logical cycle each (qpu-time.ts)
    qram: 'qroam',
    // Willow-class physical figures (superconducting profile above); 1 % total logical failure budget.
    surfaceCode: { physicalTwoQubitSeconds: 40e-9, physicalMeasurementSeconds: 1e-6, physicalError: 3e-3, targetFailure: 0.01 },
    notes: 'surface code on Willow-class qubits: cycle (4·t2q + 2·t_meas)·d, logical error 0.03·(p/0.01)^((d+1)/2) (Azure QRE, arXiv 2211.07629), d chosen per computation; Toffolis counted as their Clifford+T two-qubit layers, magic-state factories not modelled; twoQubitGateSeconds/twoQubitError apply only without surfaceCode',
  },
};

export const profileNames = Object.keys(hardwareProfiles) as ProfileName[];

export function isProfileName(name: string): name is ProfileName {
  return Object.prototype.hasOwnProperty.call(hardwareProfiles, name);
}

export function getProfile(name: string): HardwareProfile {
  if (!isProfileName(name)) throw new QattnError(`unknown hardware profile '${name}' (valid: ${listChoices(profileNames)})`);
  return hardwareProfiles[name];
}

export type ProfileOverrides = Partial<Pick<HardwareProfile, 'qubits' | 'twoQubitGateSeconds' | 'oneQubitGateSeconds' | 'twoQubitError' | 'measurementSeconds' | 'qram'>>;

/** A copy of `profile` with some figures replaced (e.g. a fault-tolerant machine with 1000 logical qubits). */
export function withOverrides(profile: HardwareProfile, overrides: ProfileOverrides): HardwareProfile {
  const out = { ...profile, ...overrides };
  check(Number.isInteger(out.qubits) && out.qubits >= 1, `profile qubits must be an integer ≥ 1, got ${out.qubits}`);
  check(out.twoQubitGateSeconds > 0 && out.measurementSeconds >= 0 && out.oneQubitGateSeconds >= 0, 'profile times must be positive');
  check(out.twoQubitError >= 0 && out.twoQubitError <= 1, `profile error must be in [0, 1], got ${out.twoQubitError}`);
  check(qramModels.includes(out.qram), `profile qram must be one of ${listChoices(qramModels)}, got ${String(out.qram)}`);
  return out;
}
