/**
 * `qattn list`: every registered mechanism with its family, options, cost fields, tolerance and reference —
 * straight from the registry, so the list cannot drift from what `qattn attend --method` accepts.
 */
import { describeOption, optionSpecs, resolveOptions } from '../attention/options.ts';
import { allMechanisms } from '../attention/registry.ts';
import type { CostFields, Mechanism, OptionSpec, Tolerance } from '../attention/types.ts';
import { HELP_FLAG, parseFlags, type CliIo } from './args.ts';

export const LIST_USAGE = `usage: qattn list [--json]

Lists the registered attention mechanisms: family, summary, options (name=default (type/range) meaning),
cost fields, tolerance against exact float64 attention, and reference.

  --json    print a JSON array instead of text`;

export interface MechanismInfo {
  readonly name: string;
  readonly family: string;
  readonly summary: string;
  readonly reference: string | null;
  /** Each option's declaration plus its one-line text as in the human listing. */
  readonly options: ReadonlyArray<OptionSpec & { readonly text: string }>;
  /** Each cost field and how it combines over heads (sum, mean or max). */
  readonly costFields: CostFields;
  /** The declared tolerance: { kind: 'exhaustive', relL2, note } or { kind: 'none', note }. */
  readonly tolerance: Tolerance;
  /** What one unit of `qattn bench --budget` is for this mechanism, with an example mapping; null: no budget knob. */
  readonly budget: { readonly counts: string; readonly example: string } | null;
}

/** What --budget 256 sets at n = 2^20, as text (e.g. `k=256`). */
function budgetExample(m: Mechanism): string {
  const set = m.budget!.options(256, 2 ** 20, resolveOptions(m));
  return `--budget 256 at n = 2^20 sets ${Object.entries(set).map(([k, v]) => `${k}=${String(v)}`).join(', ')}`;
}

/** Plain-data view of a mechanism (what `--json` prints). */
export function mechanismInfo(m: Mechanism): MechanismInfo {
  return {
    name: m.name,
    family: m.family,
    summary: m.summary,
    reference: m.reference ?? null,
    options: optionSpecs(m).map((o) => ({ ...o, text: describeOption(o) })),
    costFields: { ...m.costFields },
    tolerance: { ...m.tolerance },
    budget: m.budget ? { counts: m.budget.counts, example: budgetExample(m) } : null,
  };
}

/** The human listing of one mechanism: a heading line, then indented details. */
export function formatMechanism(info: MechanismInfo): string {
  const lines = [`${info.name} [${info.family}] ${info.summary}`];
  if (info.options.length === 0) lines.push('  options: none');
  else lines.push('  options:', ...info.options.map((o) => `    ${o.text}`));
  const fields = Object.entries(info.costFields).map(([name, heads]) => `${name} (${heads})`);
  lines.push(`  cost fields (over heads): ${fields.length ? fields.join(', ') : 'none'}`);
  const tol = info.tolerance;
  const bound = tol.kind === 'exhaustive' ? `exhaustive relative L2 <= ${tol.relL2}` : 'no exhaustive bound';
  lines.push(`  tolerance: ${bound} (${tol.note})`);
  lines.push(info.budget ? `  budget: ${info.budget.counts} (${info.budget.example})` : '  budget: none (attends every key)');
  if (info.reference) lines.push(`  reference: ${info.reference}`);
  return lines.join('\n');
}

export async function listCommand(argv: string[], io: CliIo): Promise<number> {
  const f = parseFlags('list', argv, { json: { type: 'boolean' }, ...HELP_FLAG });
  if (f.help) {
    io.out(LIST_USAGE);
    return 0;
  }
  const infos = allMechanisms().map(mechanismInfo);
  io.out(f.json ? JSON.stringify(infos) : infos.map(formatMechanism).join('\n\n'));
  return 0;
}
