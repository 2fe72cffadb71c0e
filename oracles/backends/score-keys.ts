/**
 * Buckets of float scores and the passes that fill them, for the simulator's classical bookkeeping
 * (threshold-index.ts, marked-set.ts). Two monotone maps, so that every score in a higher bucket is larger
 * than every score in a lower one:
 * - Key buckets (the ThresholdIndex layout). The IEEE-754 bit pattern w of a float, with the low 31 bits
 *   flipped for negatives (w ^ ((w >> 31) & 0x7fffffff)), read as a signed 32-bit integer, orders like the
 *   float itself: the key of an MSD radix sort (Knuth, TAOCP vol. 3, §5.2.5); float64 scores are keyed by
 *   their high 32-bit word (ties within a word only). A Bucketing cuts a key range into equal key intervals,
 *   keys outside clamped into the end buckets, and each bucket's value range is known from its key range;
 *   −0 and +0 have adjacent keys, which only makes two bounds touch (≤), never cross. NaN never gets here.
 * - Linear buckets (the first pass's counts): ⌊(x − lo)·inv⌋ clamped, in float64 — monotone because rounding
 *   is, which is all a count bound needs. That first pass also reports whether it saw a NaN.
 */
import type { Scores } from '../oracle.ts';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The 32-bit words a key is read from: the floats themselves, or the high words of float64s. */
export interface KeyWords {
  readonly words: Uint32Array;
  /** Word of score i: words[i·stride + first]. */
  readonly stride: 1 | 2;
  readonly first: 0 | 1;
  readonly f32: boolean;
}

export function keyWords(scores: Scores): KeyWords {
  if (scores instanceof Float32Array) {
    return { words: new Uint32Array(scores.buffer, scores.byteOffset, scores.length), stride: 1, first: 0, f32: true };
  }
  return { words: new Uint32Array(scores.buffer, scores.byteOffset, 2 * scores.length), stride: 2, first: LITTLE_ENDIAN ? 1 : 0, f32: false };
}

const f32Scratch = new Float32Array(1), u32Of32 = new Uint32Array(f32Scratch.buffer);
const f64Scratch = new Float64Array(1), u32Of64 = new Uint32Array(f64Scratch.buffer);

/**
 * The smallest (`end` = 'low') or largest ('high') float with signed key k; keys beyond the floats (NaN
 * patterns, or outside the 32-bit range) read as −∞ / +∞.
 */
function valueOfKey(k: number, kw: KeyWords, end: 'low' | 'high'): number {
  if (k > 0x7fffffff) return Infinity;
  if (k < -0x80000000) return -Infinity;
  const u = (k ^ ((k >> 31) & 0x7fffffff)) >>> 0;
  let x: number;
  if (kw.f32) {
    u32Of32[0] = u;
    x = f32Scratch[0]!;
  } else {
    const negative = u >= 0x80000000;
    u32Of64[LITTLE_ENDIAN ? 1 : 0] = u;
    // Within one high word the low word orders positives upward and negatives downward.
    u32Of64[LITTLE_ENDIAN ? 0 : 1] = (end === 'low') === negative ? 0xffffffff : 0;
    x = f64Scratch[0]!;
  }
  return Number.isNaN(x) ? (k < 0 ? -Infinity : Infinity) : x;
}

/** Equal key intervals over [base, base + 2^shift·(top + 1)), out-of-range keys clamped to buckets 0 and top. */
export interface Bucketing {
  readonly kw: KeyWords;
  readonly base: number;
  readonly shift: number;
  /** Index of the last bucket. */
  readonly top: number;
}

/** At most 2^bits buckets spanning the signed keys [lo, hi]. */
export function bucketing(kw: KeyWords, lo: number, hi: number, bits: number): Bucketing {
  let shift = 0;
  while ((hi - lo) / 2 ** shift >= 2 ** bits) shift++;
  return { kw, base: lo, shift, top: Math.floor((hi - lo) / 2 ** shift) };
}

/** The smallest value bucket b can hold. */
export function bucketLowest(b: number, bk: Bucketing): number {
  return b === 0 ? -Infinity : valueOfKey(bk.base + b * 2 ** bk.shift, bk.kw, 'low');
}

/** The largest value bucket b can hold. */
export function bucketHighest(b: number, bk: Bucketing): number {
  return b === bk.top ? Infinity : valueOfKey(bk.base + (b + 1) * 2 ** bk.shift - 1, bk.kw, 'high');
}

/**
 * A zeroed Int32Array view of `length` from a module-wide scratch buffer, for the temporary tables of one
 * synchronous pass (JS runs one call at a time, and no caller keeps the view): the passes run once per
 * scores array, and allocating their tables anew each time was a measurable share of the garbage collector's
 * work. `slot` keeps two tables used together apart.
 */
const scratchBuffers: Int32Array[] = [];
export function scratch(slot: number, length: number): Int32Array {
  let buf = scratchBuffers[slot];
  if (!buf || buf.length < length) scratchBuffers[slot] = buf = new Int32Array(Math.max(length, 1024));
  const view = buf.subarray(0, length);
  view.fill(0);
  return view;
}

/*
 * The passes below are kernels: plain loops over typed arrays and numbers, nothing else — V8 optimizes such a
 * function once and keeps it (a loop inside a larger function is compiled on the fly, and the code after it
 * then lacks type feedback and falls back, on every call: measured 2–3× slower here). They spell the bucket
 * out inline (a helper returning the 32-bit key would hand V8 a non-Smi number per score); d = key − base lies
 * in (−2^32, 2^32), so d >>> shift is exact for d > 0. Histograms count into four interleaved tables summed
 * at the end: consecutive increments then rarely touch the same counter, which keeps the CPU's store-to-load
 * speculation from stalling (2–3× on the 2-core AMD EPYC here).
 */

/** [min, max] signed key of the first n scores of an array's words, into out[0], out[1]. */
function keyRangeKernel(words: Uint32Array, first: number, stride: number, n: number, out: Float64Array): void {
  let lo = 2147483647, hi = -2147483648;
  for (let i = 0, w = first; i < n; i++, w += stride) {
    const u = words[w]!;
    const key = u ^ ((u >> 31) & 0x7fffffff);
    if (key < lo) lo = key;
    if (key > hi) hi = key;
  }
  out[0] = lo;
  out[1] = hi;
}

const pair = new Float64Array(2);

/** The signed-key range [lo, hi] of the first n scores (n ≥ 1). */
export function keyRange(kw: KeyWords, n: number): readonly [number, number] {
  keyRangeKernel(kw.words, kw.first, kw.stride, n, pair);
  return [pair[0]!, pair[1]!];
}

function histogramKernel(words: Uint32Array, first: number, stride: number, n: number, base: number, shift: number, top: number, lanes: Int32Array): void {
  const B = top + 1;
  for (let i = 0, w = first; i < n; i++, w += stride) {
    const u = words[w]!;
    const d = (u ^ ((u >> 31) & 0x7fffffff)) - base;
    const b = d <= 0 ? 0 : d >>> shift;
    lanes[(i & 3) * B + (b > top ? top : b)]!++;
  }
}

function sumLanes(lanes: Int32Array, B: number, count: Int32Array): void {
  for (let b = 0; b < B; b++) count[b]! += lanes[b]! + lanes[B + b]! + lanes[2 * B + b]! + lanes[3 * B + b]!;
}

/** count[b] += the first n scores of bk's array in bucket b. */
export function histogramOf(bk: Bucketing, n: number, count: Int32Array): void {
  const lanes = scratch(0, 4 * (bk.top + 1));
  histogramKernel(bk.kw.words, bk.kw.first, bk.kw.stride, n, bk.base, bk.shift, bk.top, lanes);
  sumLanes(lanes, bk.top + 1, count);
}

function scatterKernel32(words: Uint32Array, n: number, base: number, shift: number, top: number, group: Int32Array, start: Int32Array,
  vals: Float32Array, ids: Int32Array, dstVals: Float32Array, dstIds: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const u = words[i]!;
    const d = (u ^ ((u >> 31) & 0x7fffffff)) - base;
    const b = d <= 0 ? 0 : d >>> shift;
    const p = start[group[b > top ? top : b]!]!++;
    dstVals[p] = vals[i]!;
    dstIds[p] = ids[i]!;
  }
}

function scatterKernel64(words: Uint32Array, first: number, n: number, base: number, shift: number, top: number, group: Int32Array, start: Int32Array,
  vals: Float64Array, ids: Int32Array, dstVals: Float64Array, dstIds: Int32Array): void {
  for (let i = 0, w = first; i < n; i++, w += 2) {
    const u = words[w]!;
    const d = (u ^ ((u >> 31) & 0x7fffffff)) - base;
    const b = d <= 0 ? 0 : d >>> shift;
    const p = start[group[b > top ? top : b]!]!++;
    dstVals[p] = vals[i]!;
    dstIds[p] = ids[i]!;
  }
}

/**
 * The counting-sort scatter: member i (score vals[i], index ids[i]) goes to position start[group[its
 * bucket]]++ of dstVals / dstIds. vals and dstVals are of the array type bk was made for.
 */
export function scatterOf(bk: Bucketing, n: number, group: Int32Array, start: Int32Array, vals: Scores, ids: Int32Array, dstVals: Scores, dstIds: Int32Array): void {
  if (vals instanceof Float32Array) {
    scatterKernel32(bk.kw.words, n, bk.base, bk.shift, bk.top, group, start, vals, ids, dstVals as Float32Array, dstIds);
  } else {
    scatterKernel64(bk.kw.words, bk.kw.first, n, bk.base, bk.shift, bk.top, group, start, vals, ids, dstVals as Float64Array, dstIds);
  }
}

/**
 * Equal value intervals over [lo, lo + (top + 1)/inv), clamped at both ends: bucket(x) = ⌊(x − lo)·inv⌋ in
 * float64 arithmetic. Rounding is monotone, so bucket(x) < bucket(y) implies x < y — all a count bound needs;
 * the value range of a bucket is not needed (and not exactly lo + b/inv).
 */
export interface LinearBuckets {
  readonly lo: number;
  readonly inv: number;
  readonly top: number;
}

/** The bucket of x (the same float64 operations as firstPass's inline copies). */
export function linearBucket(x: number, lb: LinearBuckets): number {
  const t = (x - lb.lo) * lb.inv;
  return t > 0 ? (t < lb.top ? t | 0 : lb.top) : 0;
}

/** What the first pass over a scores array found. */
export interface FirstPass {
  /** The indices scoring above the cut, ascending, and their scores (views of shared buffers: use them at once). */
  readonly ids: Int32Array;
  readonly vals: Scores;
  /** Whether some score is NaN (the caller then reports the first one). */
  readonly nan: boolean;
}

/**
 * Scores [from, to) (to − from a multiple of 4, and room for all of them in ids/vals from c on): linear-bucket
 * counts into the four lanes, indices and scores above `cut` appended at c. Returns the new c, negated and
 * less one if a NaN was seen.
 */
function firstPassKernel(scores: Float32Array | Float64Array, from: number, to: number, lo: number, inv: number, top: number, cut: number,
  h: Int32Array, ids: Int32Array, vals: Float32Array | Float64Array, c: number): number {
  const B = top + 1;
  let nan = false;
  for (let j = from; j < to; j += 4) {
    const x0 = scores[j]!, x1 = scores[j + 1]!, x2 = scores[j + 2]!, x3 = scores[j + 3]!;
    let t = (x0 - lo) * inv;
    h[t > 0 ? (t < top ? t | 0 : top) : 0]!++;
    t = (x1 - lo) * inv;
    h[B + (t > 0 ? (t < top ? t | 0 : top) : 0)]!++;
    t = (x2 - lo) * inv;
    h[2 * B + (t > 0 ? (t < top ? t | 0 : top) : 0)]!++;
    t = (x3 - lo) * inv;
    h[3 * B + (t > 0 ? (t < top ? t | 0 : top) : 0)]!++;
    if (x0 > cut) {
      ids[c] = j;
      vals[c++] = x0;
    }
    if (x1 > cut) {
      ids[c] = j + 1;
      vals[c++] = x1;
    }
    if (x2 > cut) {
      ids[c] = j + 2;
      vals[c++] = x2;
    }
    if (x3 > cut) {
      ids[c] = j + 3;
      vals[c++] = x3;
    }
    if (x0 !== x0 || x1 !== x1 || x2 !== x2 || x3 !== x3) nan = true;
  }
  return nan ? -c - 1 : c;
}

/**
 * One sequential pass over all N scores: counts[b] += the scores in linear bucket b (every score), the
 * indices and scores above `cut` copied out (room for `capacity` at first, grown if need be), and a NaN
 * check — fused because each part alone costs about what the loads do (4.3 ms fused against 8.7 ms for a NaN
 * scan, a histogram and a copy done apart, N = 2^20 float32, measured here).
 */
export function firstPass(scores: Scores, lb: LinearBuckets, cut: number, capacity: number, counts: Int32Array): FirstPass {
  const { lo, inv, top } = lb, n = scores.length, B = top + 1;
  const h = scratch(0, 4 * B);
  const f32 = scores instanceof Float32Array;
  // The copies go to module-wide buffers too: the caller consumes them at once (a ThresholdIndex scatters them
  // into its own arrays), and they are the largest allocation per scores array.
  const room = (len: number): void => {
    if (copyIds.length < len) copyIds = new Int32Array(len);
    if (f32 && copy32.length < len) copy32 = new Float32Array(len);
    if (!f32 && copy64.length < len) copy64 = new Float64Array(len);
  };
  room(Math.max(64, Math.min(n, capacity)));
  let c = 0, nan = false;
  const m = n & ~3;
  for (let j = 0; j < m;) {
    if (copyIds.length - c < 4) {
      const ids = copyIds, vals = f32 ? copy32 : copy64;
      copyIds = new Int32Array(Math.min(n, 2 * ids.length) + 4);
      copyIds.set(ids);
      if (f32) (copy32 = new Float32Array(copyIds.length)).set(vals);
      else (copy64 = new Float64Array(copyIds.length)).set(vals);
    }
    // A chunk that fits however many of its scores exceed the cut.
    const to = Math.min(m, j + ((copyIds.length - c) & ~3));
    const r = firstPassKernel(scores, j, to, lo, inv, top, cut, h, copyIds, f32 ? copy32 : copy64, c);
    if (r < 0) nan = true;
    c = r < 0 ? -r - 1 : r;
    j = to;
  }
  room(c + (n - m));
  const vals = f32 ? copy32 : copy64;
  for (let j = m; j < n; j++) {
    const x = scores[j]!;
    const t = (x - lo) * inv;
    h[t > 0 ? (t < top ? t | 0 : top) : 0]!++;
    if (x > cut) {
      copyIds[c] = j;
      vals[c++] = x;
    }
    if (x !== x) nan = true;
  }
  sumLanes(h, B, counts);
  return { ids: copyIds.subarray(0, c), vals: vals.subarray(0, c), nan };
}

let copyIds = new Int32Array(0);
let copy32 = new Float32Array(0);
let copy64 = new Float64Array(0);

/** The indices and scores above `cut`, in index order; `capacity` is an upper bound on their number. */
export function collectAbove(scores: Scores, cut: number, capacity: number): { ids: Int32Array; vals: Scores } {
  const n = scores.length;
  const ids = new Int32Array(Math.min(n, capacity));
  const vals: Scores = scores instanceof Float32Array ? new Float32Array(ids.length) : new Float64Array(ids.length);
  let c = 0;
  for (let j = 0; j < n; j++) {
    const x = scores[j]!;
    if (x > cut) {
      ids[c] = j;
      vals[c++] = x;
    }
  }
  return { ids: ids.subarray(0, c), vals: vals.subarray(0, c) };
}
