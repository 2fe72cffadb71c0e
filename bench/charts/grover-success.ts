/**
 * Grover success probability against the iteration count r: the theory curve sin²((2r+1)θ), θ = arcsin √(M/N)
 * (Grover quant-ph/9605043; Boyer, Brassard, Høyer, Tapp quant-ph/9605034 §3), and simulated points from both
 * backends of oracles/ — the probability mass on marked states of each backend's state after r iterations,
 * and the observed frequency of a marked outcome over seeded measurements. The curve's periodicity is why r
 * must follow M: iterating past ⌊π/(4θ)⌋ rotates the state away from the answer again.
 */
import { createRng } from '../../core/rng.ts';
import { createBackend, groverAngle, groverSuccessProbability, markedOracle, optimalIterations, randomSubset, type BackendName } from '../../oracles/index.ts';
import type { ResultsDoc } from '../results.ts';
import { asSpec, bottomLegend, type ChartDef, type ChartSpec } from './common.ts';

/** N = 2^10 keys with M = 4 marked: θ ≈ 0.0625, r* = 12, one period ≈ 25 iterations — small enough to simulate. */
export const GROVER_N = 1024;
export const GROVER_M = 4;
export const GROVER_MAX_R = 40;
export const GROVER_SHOTS = 200;

export interface GroverRow {
  /** 'theory' or the backend name. */
  readonly source: string;
  readonly kind: 'theory' | 'state' | 'shots';
  readonly series: string;
  readonly r: number;
  readonly p: number;
}

function simulated(backend: BackendName, seed: number): GroverRow[] {
  const rng = createRng(seed);
  const oracle = markedOracle(GROVER_N, randomSubset(GROVER_N, GROVER_M, rng));
  const search = createBackend(backend).prepare(oracle);
  const rows: GroverRow[] = [];
  for (let r = 0; r <= GROVER_MAX_R; r++) {
    rows.push({ source: backend, kind: 'state', series: `${backend}: P(marked) of the state`, r, p: search.markedProbability(r) });
    let hits = 0;
    for (let s = 0; s < GROVER_SHOTS; s++) if (search.isMarked(search.measure(r, rng))) hits++;
    rows.push({ source: backend, kind: 'shots', series: `${backend}: marked in ${GROVER_SHOTS} shots`, r, p: hits / GROVER_SHOTS });
  }
  return rows;
}

/** Theory every 0.1 iterations (a smooth curve), then both backends at every integer r, seeded by the run. */
export function groverRows(seed: number): GroverRow[] {
  const rows: GroverRow[] = [];
  for (let i = 0; i <= GROVER_MAX_R * 10; i++) {
    const r = i / 10;
    rows.push({ source: 'theory', kind: 'theory', series: 'theory sin²((2r+1)θ)', r, p: groverSuccessProbability(r, GROVER_M, GROVER_N) });
  }
  return [...rows, ...simulated('statevector', seed), ...simulated('analytic', seed)];
}

export function groverSuccessSpec(doc: ResultsDoc): ChartSpec {
  const rows = groverRows(doc.meta.seed);
  const rStar = optimalIterations(GROVER_M, GROVER_N);
  const theta = groverAngle(GROVER_M, GROVER_N);
  const series = [...new Set(rows.map((r) => r.series))];
  // One legend for colour and shape: the theory line, then state-mass points (circle, cross) and shot frequencies.
  const shapes = series.map((name) => (name.startsWith('theory') ? 'stroke' : name.includes('P(marked)') ? (name.startsWith('state') ? 'circle' : 'cross') : (name.startsWith('state') ? 'triangle-up' : 'triangle-down')));
  const legend = { field: 'series', type: 'nominal', title: null, scale: { domain: series }, legend: bottomLegend(series) };
  const legendShape = { field: 'series', type: 'nominal', scale: { domain: series, range: shapes } };
  return asSpec({
    title: {
      text: 'Grover success probability vs iterations',
      subtitle: [`N = ${GROVER_N}, M = ${GROVER_M} marked, θ = arcsin √(M/N) = ${theta.toFixed(4)}; optimal r* = ⌊π/(4θ)⌋ = ${rStar}`,
        `oracles/ statevector and analytic backends; ${GROVER_SHOTS} seeded shots per r (seed ${doc.meta.seed})`],
    },
    data: { values: rows },
    width: 640, height: 300,
    encoding: {
      x: { field: 'r', type: 'quantitative', title: 'Grover iterations r', scale: { domain: [0, GROVER_MAX_R] } },
      y: { field: 'p', type: 'quantitative', title: 'probability of a marked outcome', scale: { domain: [0, 1] } },
    },
    layer: [
      { transform: [{ filter: "datum.kind === 'theory'" }], mark: { type: 'line', strokeWidth: 2 }, encoding: { color: legend } },
      {
        transform: [{ filter: "datum.kind !== 'theory'" }],
        mark: { type: 'point', strokeWidth: 1.6 },
        encoding: { color: legend, shape: legendShape, size: { condition: { test: "datum.kind === 'state'", value: 90 }, value: 40 } },
      },
      { data: { values: [{ r: rStar }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#555' }, encoding: { x: { field: 'r', type: 'quantitative' }, y: null } },
      {
        data: { values: [{ r: rStar, p: 0.04, label: `r* = ${rStar}` }] },
        mark: { type: 'text', align: 'left', dx: 6, fontSize: 12, color: '#333' },
        encoding: { x: { field: 'r', type: 'quantitative' }, y: { field: 'p', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  });
}

export const groverSuccessChart: ChartDef = {
  id: 'grover-success',
  title: 'Grover success probability vs iterations',
  caption: 'The probability that measuring after r Grover iterations yields a marked index: theory sin²((2r+1)θ) with ' +
    'θ = arcsin √(M/N), the marked-state mass of the statevector and analytic backends (oracles/), and the frequency ' +
    'of marked outcomes in seeded measurements. Success peaks at r* = ⌊π/(4θ)⌋ and falls again after it.',
  build: groverSuccessSpec,
};
