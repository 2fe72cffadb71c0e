/**
 * Combining the cost reports of the heads of one multi-head call, by each field's declared `HeadCombine`
 * (types.ts). The one place this happens, for `qattn attend` and every other multi-head caller.
 */
import type { CostFieldName, CostFields, CostReport, HeadCombine } from './types.ts';

const CORE = ['scoreEvaluations', 'oracleQueries', 'groverIterations', 'samples', 'selectedPerQuery'] as const;

function combine(how: HeadCombine, xs: readonly number[]): number {
  if (how === 'sum') return xs.reduce((a, b) => a + b, 0);
  if (how === 'max') return xs.reduce((a, b) => Math.max(a, b), -Infinity);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function how(fields: CostFields, name: CostFieldName, mechanism: string): HeadCombine {
  const h = fields[name];
  if (h === undefined) throw new Error(`internal: ${mechanism} reports cost field ${name} but does not declare it in costFields`);
  return h;
}

/**
 * The cost of all heads together. A core field stays null when no head filled it; a field only some heads
 * filled combines over those heads. An undeclared field is a bug in the mechanism (an internal error), so a
 * new counter cannot be summed by accident.
 */
export function combineHeadCosts(costs: readonly CostReport[], fields: CostFields, mechanism: string): CostReport {
  const core = {} as Record<(typeof CORE)[number], number | null>;
  for (const name of CORE) {
    const xs = costs.map((c) => c[name]).filter((x): x is number => x !== null);
    core[name] = xs.length ? combine(how(fields, name, mechanism), xs) : null;
  }
  const extra: Record<string, number> = {};
  const keys = new Set(costs.flatMap((c) => Object.keys(c.extra)));
  for (const key of keys) {
    const xs = costs.map((c) => c.extra[key]).filter((x): x is number => x !== undefined);
    extra[key] = combine(how(fields, `extra.${key}`, mechanism), xs);
  }
  return { ...core, scoreEvaluations: core.scoreEvaluations ?? 0, extra };
}
