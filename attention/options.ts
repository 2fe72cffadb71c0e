import { QattnError, listChoices } from '../core/errors.ts';
import type { Mechanism, OptionSpec, OptionValue, Options } from './types.ts';

/** Parses one option value given as text (from `--opt key=value`) or as a value, and checks its range. */
function parseValue(mech: string, spec: OptionSpec, raw: OptionValue): OptionValue {
  const where = `option ${spec.name} of ${mech}`;
  switch (spec.type) {
    case 'int':
    case 'number': {
      const x = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(x)) throw new QattnError(`${where} must be a number, got '${String(raw)}'`);
      if (spec.type === 'int' && !Number.isInteger(x)) throw new QattnError(`${where} must be an integer, got '${String(raw)}'`);
      if (x < spec.min || x > spec.max) throw new QattnError(`${where} must be in [${spec.min}, ${spec.max}], got ${x}`);
      return x;
    }
    case 'enum': {
      const s = String(raw);
      if (!spec.values.includes(s)) throw new QattnError(`${where} must be ${listChoices(spec.values)}, got '${s}'`);
      return s;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new QattnError(`${where} must be true or false, got '${String(raw)}'`);
    }
  }
}

/**
 * Fills in defaults and validates user-given options against a mechanism's declared options.
 * Unknown names fail listing the valid ones.
 */
export function resolveOptions(mech: Mechanism, given: Readonly<Record<string, OptionValue>> = {}): Options {
  const out: Record<string, OptionValue> = {};
  const names = Object.keys(mech.options);
  for (const key of Object.keys(given)) {
    if (!names.includes(key)) {
      const valid = names.length ? `valid options: ${names.join(', ')}` : 'it takes no options';
      throw new QattnError(`unknown option '${key}' for ${mech.name} (${valid})`);
    }
  }
  for (const spec of optionSpecs(mech)) {
    const raw = given[spec.name];
    out[spec.name] = raw === undefined ? spec.default : parseValue(mech.name, spec, raw);
  }
  return out;
}

/** A mechanism's options as a list, each with its name. */
export function optionSpecs(mech: Pick<Mechanism, 'options'>): OptionSpec[] {
  return Object.entries(mech.options).map(([name, decl]) => ({ ...decl, name }));
}

/** Parses `key=value` strings (as given to `--opt`) into a record; values stay text until resolveOptions. */
export function parseOptPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new QattnError(`--opt expects key=value, got '${p}'`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** Typed accessors for resolved options (resolveOptions guarantees presence and type). */
export function optNumber(o: Options, name: string): number {
  const v = o[name];
  if (typeof v !== 'number') throw new Error(`internal: option ${name} is not a number`);
  return v;
}
export function optString(o: Options, name: string): string {
  const v = o[name];
  if (typeof v !== 'string') throw new Error(`internal: option ${name} is not a string`);
  return v;
}
export function optBool(o: Options, name: string): boolean {
  const v = o[name];
  if (typeof v !== 'boolean') throw new Error(`internal: option ${name} is not a boolean`);
  return v;
}

/** One-line description of an option for `qattn list`. */
export function describeOption(spec: OptionSpec): string {
  switch (spec.type) {
    case 'int':
    case 'number':
      return `${spec.name}=${spec.default} (${spec.type} in [${spec.min}, ${spec.max}]) ${spec.description}`;
    case 'enum':
      return `${spec.name}=${spec.default} (${spec.values.join('|')}) ${spec.description}`;
    case 'boolean':
      return `${spec.name}=${spec.default} (boolean) ${spec.description}`;
  }
}
