/**
 * The charts of a results file, in report order. Adding a chart is one spec builder file in this folder and
 * one entry here; render.ts, the report and the tests enumerate this list.
 */
import { accuracyVsNChart, budgetToTargetChart, fidelityVsBudgetChart } from './budget.ts';
import type { ChartDef } from './common.ts';
import { costVsNChart } from './cost-vs-n.ts';
import { crossoverChart } from './crossover.ts';
import { fidelityVsCostChart } from './fidelity-vs-cost.ts';
import { fidelityVsNChart } from './fidelity-vs-n.ts';
import { groverSuccessChart } from './grover-success.ts';
import { timeVsNChart } from './time-vs-n.ts';

export type { ChartDef, ChartSpec } from './common.ts';

export const CHARTS: readonly ChartDef[] = [
  timeVsNChart,
  costVsNChart,
  fidelityVsNChart,
  fidelityVsCostChart,
  fidelityVsBudgetChart,
  budgetToTargetChart,
  accuracyVsNChart,
  crossoverChart,
  groverSuccessChart,
];
