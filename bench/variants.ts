/**
 * Configured variants of mechanisms — one run compares several settings of one method (kvpress's registry of
 * configured presses; Sparse Frontier's equal-budget sweeps, arXiv 2504.17768), so a reader can tell a bad
 * method from a badly configured one. Three ways in, each giving labelled MethodPlans:
 *  - `--opt grover-topk.k=8,32,128`: a comma list is one variant per value (several lists: their product),
 *    labelled `grover-topk[k=8]`, …; single values apply to every variant of that method;
 *  - `--variants FILE.json`: `[{"label"?, "method", "options"?}]`, any settings under any names;
 *  - `--budget 64,256,…`: each variant's knob set from each budget through its mechanism's BudgetSpec
 *    (`lsh[budget=256]`), which may depend on n; mechanisms without a budget knob (exact) run once, as the
 *    baseline.
 * A label is the method's name when a run holds one setting of it, so runs without variants read as before.
 */
import { readFileSync } from 'node:fs';
import { QattnError, listChoices } from '../core/errors.ts';
import { resolveOptions } from '../attention/options.ts';
import { getMechanism, isMechanismName, mechanismNames } from '../attention/registry.ts';
import type { Mechanism, OptionValue, Options } from '../attention/types.ts';
import type { MethodPlan } from './runner.ts';

/** A variant before budgets: a mechanism, the options the user gave (text or values), and its label. */
export interface VariantSpec {
  readonly label: string;
  readonly mech: Mechanism;
  readonly given: Readonly<Record<string, OptionValue>>;
  /** Whether `--budget` sweeps it (a variants-file entry with `"budget": null` runs at its own settings beside the sweep). */
  readonly sweep: boolean;
}

/** `--opt target.key=value` pairs grouped by target (a method or a workload); values stay text. */
export function groupOpts(raw: readonly string[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const p of raw) {
    const m = /^([^.=]+)\.([^=]+)=(.*)$/.exec(p);
    if (!m) throw new QattnError(`--opt expects method.key=value (or workload.key=value), got '${p}'`);
    const [, target, key, value] = m as unknown as [string, string, string, string];
    out.set(target, { ...(out.get(target) ?? {}), [key]: value });
  }
  return out;
}

/** `k=8` pairs as a label suffix: `name[k=8,bits=4]`. */
export function variantLabel(name: string, pairs: ReadonlyArray<readonly [string, OptionValue]>): string {
  return pairs.length ? `${name}[${pairs.map(([k, v]) => `${k}=${String(v)}`).join(',')}]` : name;
}

/** Every combination of the listed values (first key varies slowest), each as [key, value] pairs. */
function product(lists: ReadonlyArray<readonly [string, readonly string[]]>): Array<Array<[string, string]>> {
  let out: Array<Array<[string, string]>> = [[]];
  for (const [key, values] of lists) out = out.flatMap((pre) => values.map((v) => [...pre, [key, v] as [string, string]]));
  return out;
}

/**
 * The variants of one method from its `--opt` values: a value with commas is a list. Values are checked here
 * (resolveOptions), so a wrong one fails before anything runs.
 */
export function optVariants(mech: Mechanism, given: Readonly<Record<string, string>> = {}): VariantSpec[] {
  const fixed: Record<string, string> = {};
  const lists: Array<[string, string[]]> = [];
  for (const [key, raw] of Object.entries(given)) {
    const values = raw.split(',').map((v) => v.trim());
    if (values.some((v) => v === '')) throw new QattnError(`--opt ${mech.name}.${key}=${raw}: an empty value in the list`);
    if (new Set(values).size !== values.length) throw new QattnError(`--opt ${mech.name}.${key}=${raw}: a value is listed twice`);
    if (values.length > 1) lists.push([key, values]);
    else fixed[key] = values[0]!;
  }
  return product(lists).map((pairs) => {
    const opts = { ...fixed, ...Object.fromEntries(pairs) };
    resolveOptions(mech, opts);
    return { label: variantLabel(mech.name, pairs), mech, given: opts, sweep: true };
  });
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * `--variants FILE.json`: an array of `{"label"?: string, "method": string, "options"?: {name: value},
 * "budget"?: null}`. A missing label is `method[key=value,…]` over the options given; `"budget": null` keeps the
 * variant at its own settings in a `--budget` run (a published configuration, such as MagicPIG's, beside the sweep).
 */
export function readVariantsFile(path: string): VariantSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new QattnError(`--variants ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new QattnError(`--variants ${path}: not JSON (${(err as Error).message})`);
  }
  const shape = 'expected an array of {"label"?: string, "method": string, "options"?: {name: value}, "budget"?: null}';
  if (!Array.isArray(doc) || doc.length === 0) throw new QattnError(`--variants ${path}: ${shape}`);
  return doc.map((entry: unknown, i) => {
    const where = `--variants ${path}, entry ${i}`;
    if (!isObject(entry)) throw new QattnError(`${where}: ${shape}`);
    const extra = Object.keys(entry).filter((k) => !['label', 'method', 'options', 'budget'].includes(k));
    if (extra.length) throw new QattnError(`${where}: unknown field ${extra.join(', ')} (${shape})`);
    const method = entry['method'];
    if (typeof method !== 'string' || !isMechanismName(method)) {
      throw new QattnError(`${where}: "method" must be one of ${listChoices(mechanismNames)}, got ${JSON.stringify(method)}`);
    }
    const options = entry['options'] ?? {};
    if (!isObject(options) || Object.values(options).some((v) => !['number', 'string', 'boolean'].includes(typeof v))) {
      throw new QattnError(`${where}: "options" must map option names to numbers, strings or booleans`);
    }
    if ('budget' in entry && entry['budget'] !== null) throw new QattnError(`${where}: "budget" may only be null (run at its own settings, not swept by --budget)`);
    const label = entry['label'];
    if (label !== undefined && (typeof label !== 'string' || label.trim() === '' || /[\n\r]/.test(label))) {
      throw new QattnError(`${where}: "label" must be a non-empty one-line string`);
    }
    const mech = getMechanism(method);
    const given = options as Record<string, OptionValue>;
    try {
      resolveOptions(mech, given);
    } catch (err) {
      throw new QattnError(`${where}: ${(err as Error).message}`);
    }
    return { label: label ?? variantLabel(method, Object.entries(given)), mech, given, sweep: !('budget' in entry) };
  });
}

/** `--budget 64,256,…`: positive integers, each once. */
export function parseBudgets(raw: readonly string[]): number[] {
  const parts = raw.flatMap((r) => r.split(/[\s,]+/)).filter((x) => x !== '');
  if (!parts.length) throw new QattnError('--budget needs at least one budget (e.g. --budget 64,256,1024)');
  const out = parts.map((p) => {
    const b = Number(p);
    if (!Number.isInteger(b) || b < 1 || b > 2 ** 24) throw new QattnError(`--budget values must be integers in [1, 2^24], got '${p}'`);
    return b;
  });
  if (new Set(out).size !== out.length) throw new QattnError(`--budget lists a budget twice: ${parts.join(',')}`);
  return out;
}

/** A variant at fixed options (no budget): the same resolved options at every n. */
function fixedPlan(v: VariantSpec): MethodPlan {
  const options = resolveOptions(v.mech, v.given);
  return { mech: v.mech, variant: v.label, budget: null, optionsAt: () => options };
}

/**
 * A variant at budget b: the options the mechanism's BudgetSpec sets at each n, over the variant's own. Checked
 * at every planned length here, so a budget a mechanism cannot take fails before the run.
 */
function budgetPlan(v: VariantSpec, b: number, lengths: readonly number[]): MethodPlan {
  const spec = v.mech.budget!;
  const base = resolveOptions(v.mech, v.given);
  const at = (n: number): Options => {
    const set = spec.options(b, n, base);
    const both = Object.keys(set).filter((k) => k in v.given);
    if (both.length) throw new QattnError(`--budget sets ${v.label}'s ${both.join(', ')} (${v.mech.budget!.counts}): do not also give ${both.length > 1 ? 'them' : 'it'}`);
    try {
      return resolveOptions(v.mech, { ...v.given, ...set });
    } catch (err) {
      throw new QattnError(`--budget ${b} for ${v.label} at n=${n}: ${(err as Error).message}`);
    }
  };
  const cache = new Map(lengths.map((n) => [n, at(n)] as const));
  return { mech: v.mech, variant: variantLabel(v.label, [['budget', b]]), budget: b, optionsAt: (n) => cache.get(n) ?? at(n) };
}

/**
 * The run's MethodPlans: each variant as it is, or — with budgets — at each budget (mechanisms without a budget
 * knob once, as the baseline). Labels must be unique.
 */
export function methodPlans(variants: readonly VariantSpec[], budgets: readonly number[] | null, lengths: readonly number[]): MethodPlan[] {
  const plans = variants.flatMap((v) => (budgets && v.mech.budget && v.sweep ? budgets.map((b) => budgetPlan(v, b, lengths)) : [fixedPlan(v)]));
  const seen = new Set<string>();
  for (const p of plans) {
    if (seen.has(p.variant)) throw new QattnError(`two variants of this run are both labelled '${p.variant}': give each a distinct "label"`);
    seen.add(p.variant);
  }
  return plans;
}
