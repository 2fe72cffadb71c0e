/**
 * Seeded pseudo-random numbers. Every random choice in qattn takes an `Rng` (or a seed that makes one), so a
 * run is reproducible from the seed recorded in its results.
 *
 * Hand-written rather than a dependency because we need (a) a 32-bit seed → stream that is identical across
 * Node versions, (b) cheap independent sub-streams (`fork`) for per-query / per-run randomness, and (c) no
 * allocation per draw in hot loops. The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counter, from
 * PractRand), seeded through splitmix32 so that nearby seeds give unrelated streams.
 */
export interface Rng {
  /** Uniform in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal N(0, 1) (Box–Muller, one value per call; the pair's second half is cached). */
  normal(): number;
  /** An independent generator derived from this one's state and `salt` (does not advance this one). */
  fork(salt: number): Rng;
  /** The seed this generator was created from (recorded in results). */
  readonly seed: number;
}

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** Creates a generator from a 32-bit integer seed (any finite number is truncated to 32 bits). */
export function createRng(seed: number): Rng {
  const init = splitmix32(seed >>> 0);
  let a = init(), b = init(), c = init(), d = init();
  let spare: number | null = null;
  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextU32();
  const next = (): number => nextU32() / 4294967296;
  return {
    seed: seed >>> 0,
    next,
    int(n: number): number {
      return Math.floor(next() * n);
    },
    normal(): number {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = next();
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    fork(salt: number): Rng {
      return createRng((Math.imul(seed >>> 0, 0x2c1b3c6d) ^ Math.imul((salt + 1) | 0, 0x297a2d39) ^ a) >>> 0);
    },
  };
}

/** Fills a new Float32Array of length `len` with N(0, sd²) values. */
export function normalArray(rng: Rng, len: number, sd = 1): Float32Array {
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) out[i] = rng.normal() * sd;
  return out;
}
