/**
 * `qattn grover`: run a simulated Grover-family search many times and report oracle calls, success and the
 * modeled QPU seconds per hardware profile. Flags are parsed here; the runs happen in oracles/experiment.ts.
 */
import { QattnError, listChoices } from '../core/errors.ts';
import { createRng } from '../core/rng.ts';
import { readNpy } from '../io/npy.ts';
import { backendNames, createBackend, isBackendName } from '../oracles/backends/registry.ts';
import { getProfile, profileNames } from '../oracles/hardware-profiles.ts';
import {
  ALGORITHMS, isAlgorithm, runExperiment, type Algorithm, type ExperimentReport, type ExperimentSpec, type Problem,
} from '../oracles/experiment.ts';
import { depolarizing } from '../oracles/noise.ts';
import { searchSpace } from '../oracles/oracle.ts';
import { HELP_FLAG, intFlag, numberFlag, parseFlags, processIo, type CliIo } from './args.ts';

export const GROVER_USAGE = `usage: qattn grover --n N (--marked M | --scores S.npy --threshold T) [--algorithm known|bbht|max|topk]
                    [--k K] [--backend statevector|analytic|gpujs] [--noise P | --hardware PROFILE]
                    [--runs R] [--seed S] [--json]

Simulates quantum search over N items (padded to N' = 2^⌈log₂N⌉ states) and reports oracle calls, success and
modeled QPU seconds per hardware profile (${profileNames.join(', ')}).

  --n N            number of items (implied by --scores)
  --marked M       mark M random items (seeded); for known and bbht
  --scores S.npy   scores (any shape, flattened; every score finite)
  --threshold T    with --scores, for known and bbht: the marked items are those with score > T
  --algorithm A    known (Grover, M known; default), bbht (M unknown), max (Dürr–Høyer: the largest score),
                   topk (the --k largest scores); max and topk need --scores and take no --threshold
  --k K            how many of the largest scores topk finds (required by topk, refused otherwise)
  --backend B      analytic (default; exact closed form), statevector or gpujs (explicit 2^n amplitudes:
                   float64 on the CPU, or float32 in gpu.js kernels); both simulators stop at 26 qubits
  --noise P        depolarizing probability per oracle call
  --hardware H     derive P from a hardware profile's error rate and the oracle's gate count
  --runs R         independent seeded runs (default 100)
  --seed S         seed (default 0)
  --json           one JSON line instead of a table

The table (one row per hardware profile; modeled from gate depths, not measured):
  QPU s            total: QRAM s + arith s + diffuse s + measure s
  QRAM s           loading the data through bucket-brigade QRAM, over all oracle calls
  arith s          the oracle's arithmetic and comparator, over all oracle calls
  diffuse s        the diffusion steps;  measure s  the readouts
  qubits, fits     circuit plus QRAM router qubits, and whether the profile has that many
  p/call           depolarizing probability per oracle call on that hardware (what --hardware applies);
                   1.000 means fully depolarized: the search does no better than a random guess
  classical∥ s     the same task on N' simple classical processors, one per QRAM leaf: what the QRAM's
                   active hardware could do classically instead (Jaques & Rattew, arXiv 2305.10310)

A search that runs over a second (statevector or gpujs from about 2^20 states) prints progress on stderr only.`;

const FLAGS = {
  n: { type: 'string' },
  marked: { type: 'string' },
  scores: { type: 'string' },
  threshold: { type: 'string' },
  algorithm: { type: 'string' },
  k: { type: 'string' },
  backend: { type: 'string' },
  noise: { type: 'string' },
  hardware: { type: 'string' },
  runs: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  ...HELP_FLAG,
} as const;

type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>;

/**
 * Scores from a .npy file as float64 (int64 via Number: exact up to 2^53). Every score must be finite, as
 * `qattn attend` requires of Q, K and V: NaN has no rank, and ±Inf would make a threshold or maximum meaningless.
 */
function loadScores(path: string): Float64Array {
  const arr = readNpy(path);
  const scores = arr.dtype === 'int64' ? Float64Array.from(arr.data, (x) => Number(x)) : Float64Array.from(arr.data);
  for (let i = 0; i < scores.length; i++) {
    const x = scores[i]!;
    if (!Number.isFinite(x)) {
      const what = Number.isNaN(x) ? 'NaN' : x > 0 ? 'Inf' : '-Inf';
      throw new QattnError(`--scores ${path} contains ${what} at flat index ${i} (scores must be finite)`);
    }
  }
  return scores;
}

function forbid(f: Flags, names: ReadonlyArray<keyof Flags>, why: string): void {
  for (const name of names) if (f[name] !== undefined) throw new QattnError(`--${String(name)} ${why}`);
}

/** What is searched: an explicit marked set of M random items, or scores (with a threshold for known/bbht). */
function problem(f: Flags, algorithm: Algorithm): Problem {
  const n = intFlag('n', f.n, 1, 2 ** 30);
  if (f.scores === undefined) {
    if (algorithm === 'max' || algorithm === 'topk') throw new QattnError(`--algorithm ${algorithm} needs --scores`);
    forbid(f, ['threshold'], 'needs --scores');
    if (n === undefined) throw new QattnError('qattn grover: give --n N with --marked M, or --scores');
    const m = intFlag('marked', f.marked, 0, Number.MAX_SAFE_INTEGER);
    if (m === undefined) throw new QattnError('qattn grover: give --marked M (or --scores S.npy --threshold T)');
    if (m > n) throw new QattnError(`--marked M = ${m} exceeds --n N = ${n}`);
    return { kind: 'marked', n, marked: m };
  }
  forbid(f, ['marked'], 'cannot be combined with --scores');
  const scores = loadScores(f.scores);
  if (n !== undefined && n !== scores.length) throw new QattnError(`--n ${n} disagrees with ${f.scores}, which holds ${scores.length} scores`);
  if (algorithm === 'max' || algorithm === 'topk') {
    forbid(f, ['threshold'], `is not used by --algorithm ${algorithm}`);
    return { kind: 'scores', scores, threshold: null };
  }
  const threshold = numberFlag('threshold', f.threshold);
  if (threshold === undefined) throw new QattnError(`--algorithm ${algorithm} with --scores needs --threshold T`);
  return { kind: 'scores', scores, threshold };
}

function parseSpec(f: Flags): ExperimentSpec {
  const algorithm = f.algorithm ?? 'known';
  if (!isAlgorithm(algorithm)) throw new QattnError(`unknown --algorithm '${algorithm}' (valid: ${listChoices(ALGORITHMS)})`);
  const backendName = f.backend ?? 'analytic';
  if (!isBackendName(backendName)) {
    throw new QattnError(`unknown --backend '${backendName}' (valid: ${listChoices(backendNames)})`);
  }
  if (f.noise !== undefined && f.hardware !== undefined) throw new QattnError('give --noise or --hardware, not both');
  const p = numberFlag('noise', f.noise, 0, 1);
  const k = intFlag('k', f.k, 1, 2 ** 30);
  if (algorithm === 'topk' && k === undefined) throw new QattnError('--algorithm topk needs --k K');
  if (algorithm !== 'topk') forbid(f, ['k'], 'is only used by --algorithm topk');
  const prob = problem(f, algorithm);
  return {
    algorithm,
    backend: createBackend(backendName),
    problem: prob,
    k: k ?? 0,
    noise: p === undefined ? null : depolarizing(p),
    hardware: f.hardware === undefined ? null : getProfile(f.hardware),
    runs: intFlag('runs', f.runs, 1, 1e7) ?? 100,
    rng: createRng(intFlag('seed', f.seed, 0, 2 ** 32 - 1) ?? 0),
  };
}

const fmt = (x: number): string => (x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-2 ? x.toExponential(2) : x.toPrecision(4));

/** The human-readable report: a summary block and one row per hardware profile. */
export function formatReport(r: ExperimentReport): string {
  const lines = [
    `grover ${r.algorithm} on ${r.backend}: N = ${r.n} (${r.indexQubits} index qubits, ${r.searchSize} states), marked ${r.marked}, ${r.qubits} circuit qubits`,
    `  runs ${r.runs} (seed ${r.seed})${r.noise ? `, depolarizing p = ${fmt(r.noise.p)} per oracle call (${r.noise.source})` : ', noiseless'}`,
    `  iterations ${fmt(r.iterations)}, oracle calls mean ${fmt(r.oracleCalls.mean)} max ${r.oracleCalls.max}, measurements mean ${fmt(r.measurements.mean)}`,
    `  success rate ${fmt(r.successRate)}` +
      (r.successProbability !== null ? `, success probability ${r.successProbability.toFixed(6)}` : '') +
      (r.successLowerBound !== null ? `, a-priori bound ≥ ${fmt(r.successLowerBound)}` : ''),
    `  simulator score reads mean ${fmt(r.simulatorScoreReads.mean)} (classical simulation work, not quantum), wall ${fmt(r.wallSeconds)} s`,
    '',
    `  ${'profile'.padEnd(16)}${'QPU s'.padStart(11)}${'QRAM s'.padStart(11)}${'arith s'.padStart(11)}${'diffuse s'.padStart(11)}${'measure s'.padStart(11)}${'qubits'.padStart(10)}  fits${'p/call'.padStart(10)}${'classical∥ s'.padStart(14)}${'QRAM write s'.padStart(14)}`,
  ];
  for (const b of Object.values(r.qpuSeconds)) {
    lines.push(`  ${b.profile.padEnd(16)}${[b.total, b.qramLoading, b.oracleArithmetic, b.diffusion, b.measurement].map((x) => fmt(x).padStart(11)).join('')}` +
      `${String(b.qubitsNeeded).padStart(10)}  ${(b.fitsOnDevice ? 'yes' : 'no').padEnd(4)}${fmt(b.noisePerOracleCall).padStart(10)}${fmt(b.parallelClassicalSeconds).padStart(14)}${fmt(b.qramWriteSeconds).padStart(14)}`);
  }
  lines.push(
    '',
    "  p/call: depolarizing probability per oracle call on that profile (1.000 = fully depolarized: a random guess);",
    "  fits: the profile has the qubits; classical∥ s: the same task on N' classical processors (see qattn grover --help);",
    '  QRAM write s: once per cache, not in QPU s: the bucket brigade\'s N·b leaf bits at 10 GB/s (classical cells, an assumption)',
  );
  return lines.join('\n');
}

/** Progress lines start once a search has run this long, and come at most this often. */
const PROGRESS_EVERY_S = 1;
/** From this many states on, a statevector/gpujs run can take minutes, so say so before the first one. */
const SLOW_STATES = 2 ** 22;

/**
 * Progress on stderr for long searches: "run r/R done" with elapsed and estimated remaining seconds, at most
 * once per PROGRESS_EVERY_S and only after that long; nothing for a quick search. One clock read per run.
 */
export function groverProgress(io: CliIo, backend: string, n: number, runs: number, clock = () => performance.now()): (done: number, runs: number) => void {
  const { qubits, searchSize } = searchSpace(n);
  if (backend !== 'analytic' && searchSize >= SLOW_STATES) {
    io.err(`qattn grover: ${runs} run${runs === 1 ? '' : 's'} on the ${backend} backend over 2^${qubits} amplitudes; ` +
      'a run may take minutes (progress follows on stderr)');
  }
  const started = clock();
  let last = { at: started, done: 0 };
  return (done, runs) => {
    const now = clock();
    if (now - last.at < PROGRESS_EVERY_S * 1000 && !(last.done > 0 && done === runs)) return;
    // Remaining time at the pace since the previous line. None after run 1: it alone evaluates the oracle,
    // and a noiseless known search caches its state there, so later runs can be much faster.
    const perRun = (now - last.at) / 1000 / (done - last.done);
    const left = done < runs && done > 1 ? `, ~${Math.ceil(perRun * (runs - done))} s left` : '';
    last = { at: now, done };
    io.err(`qattn grover: run ${done}/${runs} done, ${((now - started) / 1000).toFixed(1)} s elapsed${left}`);
  };
}

export async function groverCommand(argv: string[], io: CliIo = processIo): Promise<number> {
  const f = parseFlags('grover', argv, FLAGS);
  if (f.help) {
    io.out(GROVER_USAGE);
    return 0;
  }
  const spec = parseSpec(f);
  const n = spec.problem.kind === 'marked' ? spec.problem.n : spec.problem.scores.length;
  const report = runExperiment(spec, { onRun: groverProgress(io, spec.backend.name, n, spec.runs) });
  io.out(f.json ? JSON.stringify(report) : formatReport(report));
  return 0;
}
