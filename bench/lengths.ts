/**
 * `--lengths` parsing: comma- or space-separated integers, powers written `2^k`, and ranges `A..B` meaning
 * every power of two from A to B (`2^8..2^16` is the default decode sweep).
 */
import { QattnError } from '../core/errors.ts';

function parseValue(tok: string): number {
  const pow = /^2\^(\d+)$/.exec(tok);
  const x = pow ? 2 ** Number(pow[1]) : /^\d+$/.test(tok) ? Number(tok) : NaN;
  if (!Number.isSafeInteger(x) || x < 1) throw new QattnError(`--lengths: '${tok}' is not a positive integer or 2^k`);
  return x;
}

/** Powers of two in [lo, hi]. */
export function powersOfTwo(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let p = 1; p <= hi; p *= 2) if (p >= lo) out.push(p);
  return out;
}

/** Parses `--lengths` values (each may hold several), sorted and deduplicated, checked against `max`. */
export function parseLengths(raw: readonly string[], max: number, mode: string): number[] {
  const out = new Set<number>();
  for (const tok of raw.flatMap((r) => r.split(/[\s,]+/)).filter((t) => t !== '')) {
    const range = /^(.+)\.\.(.+)$/.exec(tok);
    const values = range ? powersOfTwo(parseValue(range[1]!), parseValue(range[2]!)) : [parseValue(tok)];
    if (range && values.length === 0) throw new QattnError(`--lengths: the range '${tok}' holds no power of two`);
    for (const n of values) {
      if (n > max) throw new QattnError(`--lengths: n=${n} is above the ${mode} limit of 2^${Math.log2(max)}`);
      out.add(n);
    }
  }
  if (out.size === 0) throw new QattnError('--lengths needs at least one length');
  return [...out].sort((a, b) => a - b);
}
