/**
 * Public API of the simulated quantum search layer (see oracles/README.md): oracles as data, backends that
 * execute them, search algorithms with cost records, noise, and the QPU cost model.
 */
export type { Payload, GateCount, OracleCostModel, CostModelSpec, QramModel } from './cost-model.ts';
export { oracleCostModel, iterationCost, DEFAULT_BITS, ONE_QUBIT_LAYERS_PER_LAYER, qramModels, qroamK, T_LAYERS_PER_LAYER, withQram } from './cost-model.ts';

export type { Oracle, ThresholdOracle, MarkedOracle, Scores, SearchSpace, ThresholdOracleOptions } from './oracle.ts';
export { thresholdOracle, markedOracle, randomSubset, searchSpace, oracleSize, checkScores, isRankScores, rankFinite, rankScores, MAX_SEARCH_QUBITS } from './oracle.ts';

export type { Noise, DepolarizingNoise } from './noise.ts';
export { depolarizing, survivalProbability, noisyMarkedProbability } from './noise.ts';

export type { Backend, BackendName, PreparedSearch } from './backends/backend.ts';
export type { BackendOptions } from './backends/registry.ts';
export { createBackend, backendNames, isBackendName } from './backends/registry.ts';
export { DEFAULT_MAX_QUBITS } from './backends/statevector.ts';

export type { SearchCost } from './algorithms/cost.ts';
export type { GroverOptions, GroverResult } from './algorithms/grover.ts';
export { groverSearch, groverAngle, optimalIterations, groverSuccessProbability } from './algorithms/grover.ts';
export type { BbhtOptions, BbhtResult } from './algorithms/bbht.ts';
export { bbhtSearch, bbhtExpectedCallsBound, defaultBbhtBudget, noisyBbhtExpectedCallsBound, BBHT_LAMBDA } from './algorithms/bbht.ts';
export type { MaxOptions, MaxResult } from './algorithms/durr-hoyer.ts';
export { durrHoyerMax, durrHoyerBound } from './algorithms/durr-hoyer.ts';
export type { TopKOptions, TopKResult } from './algorithms/topk.ts';
export { quantumTopK, isTrueTopK, certificationRounds, topKStageBound } from './algorithms/topk.ts';

export type { HardwareProfile, ProfileName, ProfileOverrides } from './hardware-profiles.ts';
export { hardwareProfiles, profileNames, getProfile, isProfileName, withOverrides } from './hardware-profiles.ts';
export type { QpuBreakdown, QpuTimeOptions, CostCounts } from './qpu-time.ts';
export { QRAM_WRITE_BITS_PER_SECOND, modelQpuSeconds, qpuBreakdown, noisePerOracleCall, noiseForProfile, parallelClassicalSeconds, qramFaultLocations, quadraticBreakEven, surfaceCodePlan } from './qpu-time.ts';

export type { Algorithm, ExperimentReport, ExperimentSpec, Problem } from './experiment.ts';
export { runExperiment, ALGORITHMS, isAlgorithm } from './experiment.ts';
