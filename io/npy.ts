/**
 * Strict reader and writer for NumPy .npy files (format versions 1.0, 2.0 and 3.0; C order; little-endian
 * float32, float64, int32 and int64; 1-D to 4-D).
 *
 * Why not npm's `npyjs`: it parses the header with regexes and trusts it — a truncated file, a Fortran-order
 * or big-endian array, or an unknown dtype comes back as silently wrong numbers (or an opaque TypeError), and
 * it cannot write. Attention inputs feed fidelity numbers, so every such case must be a clear QattnError
 * naming the file instead. The format is small enough (magic, version, length, dict, raw data) to own.
 */
import { readFileSync } from 'node:fs';
import { QattnError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { fsErrorText } from '../core/fs-safe.ts';
import { HeaderSyntaxError, formatHeader, hasMagic, parseHeader } from './npy-header.ts';

export type NpyArray =
  | { readonly dtype: 'float32'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: 'float64'; readonly shape: readonly number[]; readonly data: Float64Array }
  | { readonly dtype: 'int32'; readonly shape: readonly number[]; readonly data: Int32Array }
  | { readonly dtype: 'int64'; readonly shape: readonly number[]; readonly data: BigInt64Array };

export type NpyDtype = NpyArray['dtype'];

/** The .npy type code (after the byte-order character) and item size of each supported dtype. */
const CODES: Record<NpyDtype, { readonly code: string; readonly size: number }> = {
  float32: { code: 'f4', size: 4 },
  float64: { code: 'f8', size: 8 },
  int32: { code: 'i4', size: 4 },
  int64: { code: 'i8', size: 8 },
};

export const MAX_RANK = 4;

// Typed arrays use the host's byte order and .npy data here is little-endian; every platform Node ships for
// qattn's targets (x86-64, arm64) is little-endian, so refuse loudly rather than mis-read on the rare other.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('qattn .npy I/O needs a little-endian host');

function fail(where: string, msg: string): never {
  throw new QattnError(`${where}: ${msg}`);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function dtypeOf(descr: string, where: string): NpyDtype {
  const order = descr[0] ?? '';
  const code = descr.slice(1);
  const dtype = (Object.keys(CODES) as NpyDtype[]).find((k) => CODES[k].code === code);
  const supported = "float32 '<f4', float64 '<f8', int32 '<i4' or int64 '<i8'";
  if (dtype === undefined || !['<', '>', '|', '='].includes(order)) {
    fail(where, `unsupported dtype '${descr}' (qattn reads ${supported}; convert with arr.astype(np.float32))`);
  }
  if (order === '>') fail(where, `big-endian dtype '${descr}' is not supported (save it as '<${code}', e.g. arr.astype('<${code}'))`);
  return dtype;
}

function checkRank(shape: readonly number[], where: string): void {
  if (shape.length === 0) fail(where, `0-D (scalar) arrays are not supported; need 1-D to ${MAX_RANK}-D`);
  if (shape.length > MAX_RANK) fail(where, `${shape.length}-D arrays are not supported (shape ${shapeText(shape)}); need 1-D to ${MAX_RANK}-D`);
}

function elementCount(shape: readonly number[], where: string): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) fail(where, `invalid dimension ${dim} in shape ${shapeText(shape)}`);
    count *= dim;
  }
  if (!Number.isSafeInteger(count)) fail(where, `shape ${shapeText(shape)} is too large`);
  return count;
}

/** Splits a buffer into (version, header text, data offset), checking magic, version and header length. */
function readPreamble(buf: Uint8Array, where: string): { header: string; dataOffset: number } {
  if (!hasMagic(buf)) fail(where, 'not a .npy file (missing the \\x93NUMPY magic bytes)');
  if (buf.length < 10) fail(where, 'truncated .npy header');
  const major = buf[6]!, minor = buf[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0) fail(where, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) fail(where, 'truncated .npy header');
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (start + hlen > buf.length) fail(where, `truncated .npy header (needs ${hlen} header bytes, file has ${buf.length - start})`);
  // Versions 1.0 and 2.0 store the header as latin1, 3.0 as UTF-8.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(start, start + hlen));
  return { header, dataOffset: start + hlen };
}

/** Parses the bytes of a .npy file. `name` (the file name) prefixes every error message. */
export function parseNpy(buf: Uint8Array, name = '<buffer>'): NpyArray {
  const { header, dataOffset } = readPreamble(buf, name);
  let parsed;
  try {
    parsed = parseHeader(header);
  } catch (err) {
    if (err instanceof HeaderSyntaxError) fail(name, `malformed .npy header: ${err.message}`);
    throw err;
  }
  const dtype = dtypeOf(parsed.descr, name);
  if (parsed.fortranOrder) fail(name, 'Fortran-order arrays are not supported (save a C-order array, e.g. np.ascontiguousarray(arr))');
  const shape = parsed.shape;
  checkRank(shape, name);
  const count = elementCount(shape, name);
  const nbytes = count * CODES[dtype].size;
  const have = buf.length - dataOffset;
  if (have < nbytes) fail(name, `truncated: shape ${shapeText(shape)} of ${dtype} needs ${nbytes} data bytes, file has ${have}`);
  if (have > nbytes) fail(name, `${have - nbytes} unexpected bytes after the data of shape ${shapeText(shape)} ${dtype}`);
  // Copy into a fresh, aligned buffer: the source may be a pooled Buffer at an odd offset.
  const bytes = new Uint8Array(nbytes);
  bytes.set(buf.subarray(dataOffset, dataOffset + nbytes));
  switch (dtype) {
    case 'float32': return { dtype, shape, data: new Float32Array(bytes.buffer) };
    case 'float64': return { dtype, shape, data: new Float64Array(bytes.buffer) };
    case 'int32': return { dtype, shape, data: new Int32Array(bytes.buffer) };
    case 'int64': return { dtype, shape, data: new BigInt64Array(bytes.buffer) };
  }
}

/** Reads and parses a .npy file; every problem is a QattnError naming `path`. */
export function readNpy(path: string): NpyArray {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new QattnError(`cannot read ${path}: ${fsErrorText(err)}`);
  }
  return parseNpy(buf, path);
}

/** The bytes of a .npy file (version 1.0 unless the header needs 2.0), identical to what `np.save` writes. */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const where = 'encodeNpy';
  checkRank(arr.shape, where);
  const count = elementCount(arr.shape, where);
  if (arr.data.length !== count) fail(where, `shape ${shapeText(arr.shape)} needs ${count} values, data has ${arr.data.length}`);
  const header = formatHeader(`<${CODES[arr.dtype].code}`, arr.shape);
  const out = new Uint8Array(header.length + arr.data.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), header.length);
  return out;
}

/** Writes a .npy file atomically (temp file + rename; the temp is removed on failure). */
export function writeNpy(path: string, arr: NpyArray): void {
  writeFileAtomic(path, encodeNpy(arr));
}

/**
 * Converts any supported dtype to float32. A float32 array is returned as is (no copy). Fails on int64 values
 * beyond ±2^53 (not exactly representable as a JS number) and on finite float64 values beyond the float32
 * range (they would silently become ±Inf). `name` labels error messages.
 */
export function toFloat32(arr: NpyArray, name = 'array'): Float32Array {
  if (arr.dtype === 'float32') return arr.data;
  const out = new Float32Array(arr.data.length);
  if (arr.dtype === 'int64') {
    const limit = 2n ** 53n;
    arr.data.forEach((v, i) => {
      if (v > limit || v < -limit) fail(name, `int64 value ${v} at flat index ${i} exceeds 2^53 and cannot be converted exactly`);
      out[i] = Number(v);
    });
    return out;
  }
  const src = arr.data;
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    out[i] = x;
    if (Number.isFinite(x) && !Number.isFinite(out[i]!)) fail(name, `value ${x} at flat index ${i} is outside the float32 range`);
  }
  return out;
}
