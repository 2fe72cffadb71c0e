/**
 * Fast seeded N(0, sd²) fills for the workload generators. At n = 2^24, d = 64 one K or V is 2^30 values, and
 * core/rng.ts's Box–Muller (a log, a square root and a sine or cosine per value, through a closure call) takes
 * about 40 ns each: over a minute per matrix. The ziggurat method (Marsaglia & Tsang, "The Ziggurat Method for
 * Generating Random Variables", J. Stat. Softw. 5(8), 2000) returns most values from one table look-up and one
 * multiply; this is Doornik's ZIGNOR variant ("An Improved Ziggurat Method to Generate Normal Random Samples",
 * 2005), which draws the layer index and the uniform from separate 32-bit words, so index and value are
 * independent (the original's reuse of one word for both fails Doornik's tests). It is exact: the wedge and the
 * tail (Marsaglia's 1964 tail method) are sampled by rejection. The uniform words come from sfc32, the generator
 * of core/rng.ts, inlined in the loop and seeded from the caller's stream, so a fill is reproducible from the
 * workload's seed.
 */
import type { Rng } from '../../core/rng.ts';

const C = 128;
/** Start of the tail and area of each of the 128 layers (Marsaglia & Tsang's constants for 128 layers). */
const R = 3.442619855899;
const AREA = 9.91256303526217e-3;

/** Layer right edges X[0…C] (X[0] is the base layer's equivalent width, X[C] = 0) and the ratios X[i+1]/X[i]. */
const [X, RATIO] = ((): [Float64Array, Float64Array] => {
  const x = new Float64Array(C + 1);
  let f = Math.exp(-0.5 * R * R);
  x[0] = AREA / f;
  x[1] = R;
  x[C] = 0;
  for (let i = 2; i < C; i++) {
    x[i] = Math.sqrt(-2 * Math.log(AREA / x[i - 1]! + f));
    f = Math.exp(-0.5 * x[i]! * x[i]!);
  }
  const ratio = new Float64Array(C);
  for (let i = 0; i < C; i++) ratio[i] = x[i + 1]! / x[i]!;
  return [x, ratio];
})();

/** sfc32 (as core/rng.ts) over a 4-word state, for the rare paths; the hot path below inlines it on locals. */
function next32(st: Int32Array): number {
  const t = (((st[0]! + st[1]!) | 0) + st[3]!) | 0;
  st[3] = (st[3]! + 1) | 0;
  st[0] = st[1]! ^ (st[1]! >>> 9);
  st[1] = (st[2]! + (st[2]! << 3)) | 0;
  const c = (st[2]! << 21) | (st[2]! >>> 11);
  st[2] = (c + t) | 0;
  return t >>> 0;
}

/** Uniform in (0, 1). */
const u01 = (st: Int32Array): number => (next32(st) + 0.5) / 4294967296;

/** A value of the layer-i draw u that fell outside its rectangle: the tail or a wedge; NaN means draw again. */
function slowPath(st: Int32Array, u: number, i: number): number {
  if (i === 0) {
    // The base layer beyond R: the tail x > R, by Marsaglia's exponential rejection.
    let x: number, y: number;
    do {
      x = Math.log(u01(st)) / R;
      y = Math.log(u01(st));
    } while (-2 * y < x * x);
    return u < 0 ? x - R : R - x;
  }
  const x = u * X[i]!;
  const f0 = Math.exp(-0.5 * (X[i]! * X[i]! - x * x));
  const f1 = Math.exp(-0.5 * (X[i + 1]! * X[i + 1]! - x * x));
  return f1 + u01(st) * (f0 - f1) < 1 ? x : NaN; // under the density in the layer's wedge, or rejected
}

/** Fills `out` with independent N(0, sd²) values drawn from a generator seeded by three words of `rng`. */
export function fillNormal(rng: Rng, out: Float32Array, sd = 1): Float32Array {
  const st = Int32Array.of((rng.next() * 4294967296) | 0, (rng.next() * 4294967296) | 0, (rng.next() * 4294967296) | 0, 1);
  for (let k = 0; k < 12; k++) next32(st); // warm-up, as createRng
  // The state lives in locals in the loop (a closure or array access per word costs more than the ziggurat).
  let a = st[0]!, b = st[1]!, c = st[2]!, d = st[3]!;
  for (let k = 0; k < out.length; k++) {
    for (;;) {
      // One word for the uniform in (−1, 1), another for the layer.
      let t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11); c = (c + t) | 0;
      const u = ((t >>> 0) + 0.5) / 2147483648 - 1;
      t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11); c = (c + t) | 0;
      const i = t & (C - 1);
      if (Math.abs(u) < RATIO[i]!) {
        out[k] = u * X[i]! * sd; // inside the layer's rectangle: accepted at once (about 99 % of draws)
        break;
      }
      st[0] = a; st[1] = b; st[2] = c; st[3] = d;
      const v = slowPath(st, u, i);
      a = st[0]!; b = st[1]!; c = st[2]!; d = st[3]!;
      if (!Number.isNaN(v)) {
        out[k] = v * sd;
        break;
      }
    }
  }
  return out;
}

/** A new Float32Array of `len` N(0, sd²) values (fillNormal). */
export function normalFloat32(rng: Rng, len: number, sd = 1): Float32Array {
  return fillNormal(rng, new Float32Array(len), sd);
}
