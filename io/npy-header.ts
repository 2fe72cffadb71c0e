/**
 * The .npy header: a Python dict literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
 *
 * Parsed with a tiny strict grammar (strings, True/False, tuples of non-negative ints) instead of regexes, so
 * a malformed or hand-edited header is rejected with a message saying what is wrong rather than half-read.
 * Formatting reproduces NumPy's `np.lib.format` byte for byte (including its growth-axis padding), so files
 * we write are indistinguishable from `np.save` output.
 */

export interface NpyHeader {
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: number[];
}

type PyValue = string | boolean | number[];

/** Thrown for a malformed header; the caller adds the file name. */
export class HeaderSyntaxError extends Error {}

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  ws(): void {
    while (this.pos < this.text.length && ' \t\r\n'.includes(this.text[this.pos]!)) this.pos++;
  }
  peek(): string {
    this.ws();
    return this.text[this.pos] ?? '';
  }
  expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }
  fail(what: string): never {
    const found = this.pos < this.text.length ? `'${this.text.slice(this.pos, this.pos + 12)}'` : 'end of header';
    throw new HeaderSyntaxError(`${what} at offset ${this.pos}, found ${found}`);
  }
}

function parseString(c: Cursor): string {
  const q = c.peek();
  if (q !== "'" && q !== '"') c.fail('expected a quoted string');
  const end = c.text.indexOf(q, c.pos + 1);
  if (end < 0) c.fail('unterminated string');
  const s = c.text.slice(c.pos + 1, end);
  // No escapes appear in any valid descr or key; refusing them keeps the grammar trivial.
  if (s.includes('\\')) c.fail('escape sequences are not supported in header strings');
  c.pos = end + 1;
  return s;
}

function parseDim(c: Cursor): number {
  const m = /^[0-9]+L?/.exec(c.text.slice(c.pos));
  if (!m) c.fail('expected a non-negative integer');
  c.pos += m[0].length;
  // A trailing L is how NumPy under Python 2 wrote longs; old files still carry it.
  const x = Number(m[0].replace('L', ''));
  if (!Number.isSafeInteger(x)) c.fail(`dimension ${m[0]} is too large`);
  return x;
}

function parseTuple(c: Cursor): number[] {
  c.expect('(');
  const out: number[] = [];
  while (c.peek() !== ')') {
    out.push(parseDim(c));
    const next = c.peek();
    if (next === ',') c.pos++;
    else if (next !== ')') c.fail("expected ',' or ')' in shape");
    // Python's `(3)` is an int, not a tuple; NumPy never writes it, so neither do we accept it.
    else if (out.length === 1) c.fail('a 1-element shape must be written (n,)');
  }
  c.pos++;
  return out;
}

function parseValue(c: Cursor): PyValue {
  const ch = c.peek();
  if (ch === "'" || ch === '"') return parseString(c);
  if (ch === '(') return parseTuple(c);
  if (ch === '[') throw new HeaderSyntaxError('structured dtypes (descr is a list of fields) are not supported');
  for (const [word, val] of [['True', true], ['False', false]] as const) {
    if (c.text.startsWith(word, c.pos)) {
      c.pos += word.length;
      return val;
    }
  }
  return c.fail('expected a string, True, False or a tuple');
}

function parseDict(text: string): Map<string, PyValue> {
  const c = new Cursor(text);
  const out = new Map<string, PyValue>();
  c.expect('{');
  while (c.peek() !== '}') {
    const key = parseString(c);
    c.expect(':');
    if (out.has(key)) c.fail(`duplicate key '${key}'`);
    out.set(key, parseValue(c));
    const next = c.peek();
    if (next === ',') c.pos++;
    else if (next !== '}') c.fail("expected ',' or '}'");
  }
  c.pos++;
  c.ws();
  if (c.pos !== text.length) c.fail('unexpected text after the header dict');
  return out;
}

/** Parses and checks the header dict: exactly the keys descr, fortran_order and shape, with the right types. */
export function parseHeader(text: string): NpyHeader {
  const d = parseDict(text);
  const keys = [...d.keys()].sort().join(', ');
  if (keys !== 'descr, fortran_order, shape') {
    throw new HeaderSyntaxError(`header keys must be descr, fortran_order and shape, got ${keys || 'none'}`);
  }
  const descr = d.get('descr'), fortranOrder = d.get('fortran_order'), shape = d.get('shape');
  if (typeof descr !== 'string') throw new HeaderSyntaxError('descr must be a string');
  if (typeof fortranOrder !== 'boolean') throw new HeaderSyntaxError('fortran_order must be True or False');
  if (!Array.isArray(shape)) throw new HeaderSyntaxError('shape must be a tuple of integers');
  return { descr, fortranOrder, shape };
}

/** Python's repr of a shape tuple: (), (5,), (2, 3). */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** NumPy aligns the data start to 64 bytes (ARRAY_ALIGN) so the array can be memory-mapped and viewed. */
const ARRAY_ALIGN = 64;
/** NumPy ≥ 1.23 pads room for the first axis to grow to 21 digits (GROWTH_AXIS_MAX_DIGITS) in place. */
const GROWTH_AXIS_MAX_DIGITS = 21;

export function hasMagic(buf: Uint8Array): boolean {
  return buf.length >= MAGIC.length && MAGIC.every((b, i) => buf[i] === b);
}

/** Magic, version, header length and padded header dict, exactly as `np.save` writes them (C order). */
export function formatHeader(descr: string, shape: readonly number[]): Uint8Array {
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  const hlen = dict.length + 1; // + the final '\n'
  // Version 1.0 stores the header length in 2 bytes (10-byte preamble); 2.0 in 4 bytes (12-byte preamble).
  const wrap = (preamble: number): number => hlen + ARRAY_ALIGN - ((preamble + hlen) % ARRAY_ALIGN);
  const v1 = wrap(10) <= 0xffff;
  const preamble = v1 ? 10 : 12;
  const total = wrap(preamble);
  const out = new Uint8Array(preamble + total);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, total, true);
  else view.setUint32(8, total, true);
  const text = dict + ' '.repeat(total - hlen) + '\n';
  for (let i = 0; i < text.length; i++) out[preamble + i] = text.charCodeAt(i);
  return out;
}
