/** Number and table formatting for the terminal summary and progress lines. */

/** `2^k` for powers of two, else the integer. */
export function formatN(n: number): string {
  const k = Math.log2(n);
  return Number.isInteger(k) && n >= 16 ? `2^${k}` : String(n);
}

/** Milliseconds with 3 significant digits, switching to µs / s where that reads better. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toPrecision(3)}µs`;
  if (ms < 1000) return `${ms.toPrecision(3)}ms`;
  return `${(ms / 1000).toPrecision(3)}s`;
}

/** Counts as 950, 1.2k, 3.4M, 5.6G. */
export function formatCount(x: number): string {
  const units: Array<[number, string]> = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [u, s] of units) if (Math.abs(x) >= u) return `${(x / u).toPrecision(3)}${s}`;
  return Number.isInteger(x) ? String(x) : x.toPrecision(3);
}

export function formatSci(x: number): string {
  return x === 0 ? '0' : x.toExponential(1);
}

/**
 * A plain-text table, two spaces between columns: the first column and those listed in `leftAligned` are
 * left-aligned (names, notes), the others right-aligned (numbers).
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], leftAligned: readonly number[] = []): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const left = (c: number): boolean => c === 0 || leftAligned.includes(c);
  const line = (cells: readonly string[]): string =>
    cells.map((x, c) => (left(c) ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
