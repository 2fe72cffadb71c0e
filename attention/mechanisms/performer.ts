/**
 * `performer`: FAVOR+ linear attention (Choromanski et al., "Rethinking Attention with Performers",
 * arXiv 2009.14794). exp(q·k) = E_w[φ(q)·φ(k)] with positive random features
 * φ(x) = exp(w·x − ‖x‖²/2)/√r, w ~ N(0, I_d) (Lemma 1), drawn in orthogonal blocks (Gram–Schmidt of Gaussian
 * matrices, rows rescaled by χ_d-distributed norms so each row keeps a Gaussian's length — the paper's ORF
 * construction, Section 2.4). Attention then costs O((m+n)·r·d) and never forms a q·k score.
 *
 * Scale: softmax(q·k·scale) uses q' = q·√scale and k' = k·√scale, so q'·k' = q·k·scale.
 *
 * Stabiliser: the reference implementation (google-research/performer, softmax_kernel_transformation)
 * subtracts the max of w·x per query and over all keys. We do the equivalent in log space and more finely:
 * per feature f the running max B_f of the key log-features (keys' sums are kept as exp(·−B_f)), and per
 * query the max over f of its log-feature + B_f. Both are constants that cancel between numerator and
 * denominator, the best feature contributes exactly 1 to the denominator, so logits of ±1e4 neither
 * overflow nor divide by zero (no ε needed).
 *
 * Two phases. The key side of FAVOR+ does not depend on the queries, so `prepare` maps every key to its
 * features once and keeps only their sums Z = Σ_j φ(k_j) and S = Σ_j φ(k_j)·v_jᵀ (r·(dv+1) numbers, as a
 * decoding linear-attention layer keeps its state — Katharopoulos et al. arXiv 2006.16236, Section 3.4): a
 * non-causal query then costs O(r·(d+dv)), independent of n. Causal (bottom-right aligned): the paper's
 * prefix-sum variant (Section 2.6) — query i reads the sums after key i + n − m. Query 0 needs the sums of the
 * first n − m + 1 keys, which prepare cannot know (m comes with the query), so it also keeps prefix sums at
 * checkpoints c_j = 2^j·(⌊n/2^j⌋ − 1), j = 0, 1, … (log₂ n of them, each between 2^j and 2^(j+1) keys before
 * the end): a query block of m starts from the last checkpoint before key n − m + 1, which is < 4m keys
 * back, and maps those keys and the last m − 1 at query time, O(m·r·(d+dv)). Nothing is subtracted, so no
 * cancellation. Append adds the new keys' features to the sums and moves each checkpoint that the longer
 * cache shifts (amortised O(log n) keys per appended key).
 *
 * Mask: a length-n mask factorises, exp(s + mask_j) = exp(s)·exp(mask_j), so it is folded into key j's features
 * (−∞ drops the key) — which changes every key's contribution, so a masked query block recomputes the key
 * sums itself, O(n·r·(d+dv)), from the prepared features matrix W. An m×n mask does not factorise through
 * φ(q)·φ(k) and is refused.
 *
 * Paths (option `path`): 'js' is the float64 loops below, O(n·r·(d+dv)) in plain TypeScript (~0.5 GMAC/s).
 * 'ort' runs the dense products — the projections X·Wᵀ and the key sums Σ φ(k)·[v | 1] — in onnxruntime
 * (kernels/ort/favor.ts), float32 on one thread, in chunks of keys whose sums are combined in float64, as a
 * practitioner's Performer runs them on BLAS; that keeps wall-time comparisons with `exact` (also on ORT)
 * fair. Same features, stabilisers and sweep; the outputs agree to float32 rounding (~1e-6 relative L2,
 * test/classical-mechanisms.test.ts). The keys a causal query maps itself get ORT-projected features and go
 * through the float64 sweep.
 */
import { QattnError } from '../../core/errors.ts';
import { createRng } from '../../core/rng.ts';
import type { Rng } from '../../core/rng.ts';
import { MAX_SQ_NORM, favorCannotRunReason, featureShifts, ortKeySums, ortProject, scaledFeaturesT } from '../kernels/ort/favor.ts';
import { ortUnavailableReason } from '../kernels/ort/sessions.ts';
import type { AttentionInput, AttentionOutput, KvInput, Mechanism, QueryInput } from '../types.ts';
import { defineMechanism, fullInput, type TypedPrepared } from '../define.ts';
import { emptyCost } from '../types.ts';
import { visibleKeys } from '../validate.ts';

const PATHS = ['auto', 'ort', 'js'] as const;

const OPTIONS = {
  features: { type: 'int', default: 256, min: 1, max: 65536, description: 'random features r (error falls like 1/√r)' },
  path: {
    type: 'enum',
    default: 'auto',
    values: PATHS,
    description: 'auto: onnxruntime (float32, one thread) for the dense products where it can run, else js; ort; js (float64 loops)',
  },
} as const;

/** A d-row block of orthonormal Gaussian directions by modified Gram–Schmidt (rows redrawn if degenerate). */
function orthonormalBlock(rng: Rng, d: number): Float64Array {
  const g = new Float64Array(d * d);
  for (let r = 0; r < d; r++) {
    for (let tries = 0; ; tries++) {
      if (tries > 100) throw new QattnError('performer: could not draw an orthogonal block (degenerate RNG state)');
      for (let c = 0; c < d; c++) g[r * d + c] = rng.normal();
      for (let p = 0; p < r; p++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += g[r * d + c]! * g[p * d + c]!;
        for (let c = 0; c < d; c++) g[r * d + c]! -= s * g[p * d + c]!;
      }
      let nrm = 0;
      for (let c = 0; c < d; c++) nrm += g[r * d + c]! ** 2;
      if (nrm < 1e-20) continue;
      for (let c = 0; c < d; c++) g[r * d + c]! /= Math.sqrt(nrm);
      break;
    }
  }
  return g;
}

/** r×d random feature matrix: stacked orthonormal blocks, each row scaled by an independent χ_d norm. */
export function orthogonalFeatures(rng: Rng, r: number, d: number): Float64Array {
  const w = new Float64Array(r * d);
  for (let start = 0; start < r; start += d) {
    const block = orthonormalBlock(rng, d);
    for (let b = 0; b < d && start + b < r; b++) {
      let chi = 0;
      for (let c = 0; c < d; c++) chi += rng.normal() ** 2;
      const len = Math.sqrt(chi);
      for (let c = 0; c < d; c++) w[(start + b) * d + c] = block[b * d + c]! * len;
    }
  }
  return w;
}

/** log φ(x)·√r for row `row` of x scaled by √scale: w_f·x' − ‖x'‖²/2 for every feature f, plus `shift`. */
function logFeatures(w: Float64Array, r: number, d: number, x: Float32Array, row: number, sqrtScale: number, shift: number, out: Float64Array): void {
  const xo = row * d;
  let sq = 0;
  for (let c = 0; c < d; c++) sq += (x[xo + c]! * sqrtScale) ** 2;
  for (let f = 0; f < r; f++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += w[f * d + c]! * x[xo + c]!;
    out[f] = s * sqrtScale - sq / 2 + shift;
  }
}

/** Σ_j φ(k_j) and Σ_j φ(k_j)·v_jᵀ per feature over some keys, stored relative to the per-feature max B_f. */
interface Sums {
  readonly b: Float64Array; // B_f
  readonly z: Float64Array; // Σ_j exp(a_jf − B_f)
  readonly s: Float64Array; // [r×dv] Σ_j exp(a_jf − B_f) v_j
}

/** Empty key sums (no key added yet): every B_f = −∞. */
function emptySums(r: number, dv: number): Sums {
  return { b: new Float64Array(r).fill(-Infinity), z: new Float64Array(r), s: new Float64Array(r * dv) };
}

const cloneSums = (x: Sums): Sums => ({ b: x.b.slice(), z: x.z.slice(), s: x.s.slice() });

function addKey(ps: Sums, a: Float64Array, v: Float32Array, j: number, dv: number): void {
  for (let f = 0; f < a.length; f++) {
    const af = a[f]!;
    if (af === -Infinity) continue;
    if (af > ps.b[f]!) {
      const e = Math.exp(ps.b[f]! - af); // 0 when B_f was −∞
      ps.z[f]! *= e;
      for (let c = 0; c < dv; c++) ps.s[f * dv + c]! *= e;
      ps.b[f] = af;
    }
    const e = Math.exp(af - ps.b[f]!);
    ps.z[f]! += e;
    for (let c = 0; c < dv; c++) ps.s[f * dv + c]! += e * v[j * dv + c]!;
  }
}

/** ps += the sums (b2, z2, s2) of other keys, each relative to its own max: a rescale to the larger max. */
function addSums(ps: Sums, b2: ArrayLike<number>, z2: ArrayLike<number>, s2: ArrayLike<number>, dv: number): void {
  for (let f = 0; f < ps.b.length; f++) {
    const bf = b2[f]!;
    if (bf === -Infinity) continue;
    const nb = Math.max(ps.b[f]!, bf);
    const e1 = Math.exp(ps.b[f]! - nb), e2 = Math.exp(bf - nb); // e1 = 0 when B_f was −∞
    ps.z[f] = ps.z[f]! * e1 + z2[f]! * e2;
    for (let c = 0; c < dv; c++) ps.s[f * dv + c] = ps.s[f * dv + c]! * e1 + s2[f * dv + c]! * e2;
    ps.b[f] = nb;
  }
}

/** out row i = Σ_f φ_f(q)·S_f / Σ_f φ_f(q)·Z_f, with the query's max over f subtracted in log space. */
function readQuery(ps: Sums, a: Float64Array, dv: number, out: Float32Array, i: number): void {
  let mx = -Infinity;
  for (let f = 0; f < a.length; f++) mx = Math.max(mx, a[f]! + ps.b[f]!);
  if (mx === -Infinity) return; // no visible key: row stays 0 (qattn's fully-masked convention)
  let den = 0;
  const num = new Float64Array(dv);
  for (let f = 0; f < a.length; f++) {
    const e = Math.exp(a[f]! + ps.b[f]! - mx);
    if (e === 0) continue;
    den += e * ps.z[f]!;
    for (let c = 0; c < dv; c++) num[c]! += e * ps.s[f * dv + c]!;
  }
  for (let c = 0; c < dv; c++) out[i * dv + c] = num[c]! / den;
}

/** The feature map of a prepared cache: W, and for the ORT path (W·√scale)ᵀ in float32. */
interface Features {
  readonly w: Float64Array;
  readonly r: number;
  readonly d: number;
  readonly sqrtScale: number;
  /** Set when the dense products run in onnxruntime (decided at prepare, from the path option and K's norms). */
  readonly wt: Float32Array | null;
}

/** Prefix sums over keys 0 … at−1. */
interface Checkpoint {
  readonly at: number;
  readonly sums: Sums;
}

interface State {
  readonly fm: Features;
  /** Sums over all n keys. */
  readonly total: Sums;
  /** Prefix sums at checkpointPositions(n), ascending. */
  readonly checkpoints: readonly Checkpoint[];
}

/** c_j = 2^j·(⌊n/2^j⌋ − 1) for 2^j ≤ n, the positive ones, ascending (see the module comment). */
export function checkpointPositions(n: number): number[] {
  const out: number[] = [];
  for (let p = 1; p <= n; p *= 2) {
    const c = p * (Math.floor(n / p) - 1);
    if (c > 0) out.push(c);
  }
  return out.reverse();
}

/** Keys summed per onnxruntime call: bounds its n×r intermediates to a few tens of MiB at any n. */
const ORT_CHUNK_VALUES = 2 ** 22;

/**
 * ps += keys from … to−1 of k/v, each with mask[j] (if given; −∞ drops the key) folded into its log-features.
 * ORT: chunked one-pass sums (kernels/ort/favor.ts) combined in float64; JS: addKey per key. Returns the
 * number of keys mapped to features.
 */
async function addKeys(
  ps: Sums, fm: Features, k: Float32Array, v: Float32Array, dv: number, from: number, to: number, mask?: Float32Array,
): Promise<number> {
  const { w, r, d, sqrtScale, wt } = fm;
  if (to <= from) return 0;
  if (!wt) {
    const a = new Float64Array(r);
    for (let j = from; j < to; j++) {
      logFeatures(w, r, d, k, j, sqrtScale, mask ? mask[j]! : 0, a);
      addKey(ps, a, v, j, dv);
    }
    return to - from;
  }
  const chunk = Math.max(1, Math.floor(ORT_CHUNK_VALUES / Math.max(r, d, dv)));
  for (let j0 = from; j0 < to; j0 += chunk) {
    const rows = Math.min(chunk, to - j0);
    const kc = k.subarray(j0 * d, (j0 + rows) * d);
    const shift = featureShifts(kc, rows, d, sqrtScale, mask?.subarray(j0, j0 + rows));
    if (!shift) throw new Error('internal: performer ORT path on keys beyond float32 (checked at prepare)');
    if (!shift.some((x) => x > -Infinity)) continue; // all masked: no contribution (and ORT's exp(a − B) would be NaN)
    const sums = await ortKeySums(kc, v.subarray(j0 * dv, (j0 + rows) * dv), shift, wt, { rows, d, r, dv });
    addSums(ps, sums.b, sums.z, sums.s, dv);
  }
  return to - from;
}

/** Log-features of rows from … to−1 of x (no shift beyond −‖x′‖²/2): ORT-projected where the state uses ORT. */
async function rowFeatures(fm: Features, x: Float32Array, from: number, to: number): Promise<(row: number, a: Float64Array) => void> {
  const { w, r, d, sqrtScale, wt } = fm;
  const shift = wt && to > from ? featureShifts(x.subarray(from * d, to * d), to - from, d, sqrtScale) : null;
  if (!wt || !shift) return (row, a) => logFeatures(w, r, d, x, row, sqrtScale, 0, a);
  const proj = await ortProject(x.subarray(from * d, to * d), shift, wt, { rows: to - from, d, r });
  return (row, a) => {
    for (let f = 0; f < r; f++) a[f] = proj[(row - from) * r + f]!;
  };
}

/** Whether the dense products of this cache run in ORT: path and availability, and K's norms fit float32. */
function usesOrt(kv: KvInput, path: (typeof PATHS)[number], sqrtScale: number): boolean {
  if (path === 'js' || ortUnavailableReason() !== null) return false;
  if (featureShifts(kv.k, kv.n, kv.d, sqrtScale) !== null) return true;
  if (path === 'ort') throw new QattnError(`performer path=ort: a K row has ‖k·√scale‖² > ${MAX_SQ_NORM}, beyond what float32 features hold; use path=js`);
  return false;
}

/**
 * The total and the checkpoints of cache `kv` from prefix sums already known (none for prepare; the previous
 * state's checkpoints and total for append): each new one starts from the longest known prefix before it, so
 * prepare maps every key exactly once. Returns them and the number of keys mapped.
 */
async function extend(fm: Features, kv: KvInput, known: readonly Checkpoint[]): Promise<{ total: Sums; checkpoints: Checkpoint[]; mapped: number }> {
  const pool = [...known];
  let mapped = 0;
  const prefix = async (at: number): Promise<Checkpoint> => {
    let best: Checkpoint | null = null;
    for (const c of pool) if (c.at <= at && (!best || c.at > best.at)) best = c;
    if (best?.at === at) return best;
    const sums = best ? cloneSums(best.sums) : emptySums(fm.r, kv.dv);
    mapped += await addKeys(sums, fm, kv.k, kv.v, kv.dv, best ? best.at : 0, at);
    const cp = { at, sums };
    pool.push(cp);
    return cp;
  };
  const checkpoints: Checkpoint[] = [];
  for (const at of checkpointPositions(kv.n)) checkpoints.push(await prefix(at));
  const total = (await prefix(kv.n)).sums;
  return { total, checkpoints, mapped };
}

/**
 * Queries i = 0 … m−1 against sums that already hold keys 0 … from−1: query i first adds the keys up to
 * visibleKeys(i) (features from `keyRow`), then reads the sums. Returns O.
 */
function sweep(
  input: AttentionInput, ps: Sums, from: number,
  keyRow: (j: number, a: Float64Array) => void, queryRow: (i: number, a: Float64Array) => void, mask?: Float32Array,
): Float32Array {
  const { m, dv } = input;
  const a = new Float64Array(ps.b.length);
  const out = new Float32Array(m * dv);
  let added = from;
  for (let i = 0; i < m; i++) {
    const vis = visibleKeys(input, i);
    for (; added < vis; added++) {
      keyRow(added, a);
      if (mask) for (let f = 0; f < a.length; f++) a[f]! += mask[added]!;
      addKey(ps, a, input.v, added, dv);
    }
    queryRow(i, a);
    readQuery(ps, a, dv, out, i);
  }
  return out;
}

async function attend(p: TypedPrepared<State, typeof OPTIONS>, query: QueryInput): Promise<AttentionOutput> {
  const input = fullInput(p.kv, query);
  const { m, n } = input;
  const { fm, total, checkpoints } = p.state;
  const first = visibleKeys(input, 0); // keys every query sees: n, or n − m + 1 under causal (≥ 1)
  let start: Sums, from: number;
  if (input.mask) {
    // The mask reweights every key: recompute the sums of the keys every query sees, with it folded in.
    start = emptySums(fm.r, input.dv);
    await addKeys(start, fm, input.k, input.v, input.dv, 0, first, input.mask);
    from = first;
  } else if (first >= n) {
    start = total;
    from = n;
  } else {
    // Causal: the last checkpoint at or before the first query's window (< 4m keys back), then map the rest.
    let best: Checkpoint | null = null;
    for (const c of checkpoints) if (c.at <= first) best = c;
    start = best ? cloneSums(best.sums) : emptySums(fm.r, input.dv);
    from = best ? best.at : 0;
  }
  // Keys from … n−1 are mapped here; the sweep adds keys to `start` only then, and then it is this call's copy
  // (readQuery only reads), so the prepared sums stay as they were.
  const keyRow = from < n ? await rowFeatures(fm, input.k, from, n) : () => {};
  const out = sweep(input, start, from, keyRow, await rowFeatures(fm, input.q, 0, m), input.mask);
  let visible = 0;
  for (let i = 0; i < m; i++) visible += visibleKeys(input, i);
  const cost = emptyCost();
  cost.scoreEvaluations = 0;
  cost.selectedPerQuery = visible / m;
  cost.extra.featureEvaluations = (m + (input.mask ? first : 0) + (n - from)) * fm.r;
  return { out, cost, path: fm.wt ? 'ort' : 'js' };
}

export const performer: Mechanism = defineMechanism<State, typeof OPTIONS>({
  name: 'performer',
  family: 'classical',
  summary: 'FAVOR+ positive orthogonal random features: key features summed once in prepare, O(r·(d+dv)) per query; linear-time unbiased estimate of softmax attention',
  reference: 'Choromanski et al., Rethinking Attention with Performers, arXiv 2009.14794; Katharopoulos et al. arXiv 2006.16236 (recurrent state)',
  options: OPTIONS,
  budget: {
    counts: 'random features r (each costs about what one key does: a d-dimensional dot product and a dv-wide update)',
    options: (b) => ({ features: Math.min(b, 65536) }),
    spent: (cost, m) => (cost.extra['featureEvaluations'] ?? 0) / m,
    slack: 1,
  },
  tolerance: {
    kind: 'none',
    note: 'no exhaustive setting (randomized at every r): relL2 < 0.2 at r = 256 on N(0, 0.5²) Q/K, d = 16, scale 1/√d (tested); the variance grows like exp(‖q′+k′‖²) (paper, Lemma 2), so large-norm or peaked inputs give O(1) error',
  },
  costFields: { scoreEvaluations: 'sum', selectedPerQuery: 'mean', 'extra.featureEvaluations': 'sum' },
  notSupportedReasons: (input, options) => {
    if (input.mask && input.mask.length !== input.n) {
      return ['a per-query (m×n) mask does not factorise through φ(q)·φ(k); only a length-n key mask can be folded into the key features'];
    }
    const reason = options.path === 'ort' ? favorCannotRunReason(input) : null;
    return reason ? [reason] : [];
  },

  // Every key mapped to its r features once (featureEvaluations = n·r), summed, with the causal checkpoints.
  async prepare(kv, o) {
    const r = o.features, sqrtScale = Math.sqrt(kv.scale ?? 1 / Math.sqrt(kv.d)); // effectiveScale of the cache
    const w = orthogonalFeatures(createRng(kv.seed ?? 0), r, kv.d);
    const fm: Features = { w, r, d: kv.d, sqrtScale, wt: usesOrt(kv, o.path, sqrtScale) ? scaledFeaturesT(w, r, kv.d, sqrtScale) : null };
    const { total, checkpoints, mapped } = await extend(fm, kv, []);
    return { state: { fm, total, checkpoints }, cost: { scoreEvaluations: 0, extra: { featureEvaluations: mapped * r } } };
  },

  // The new keys' features go into the total; moved checkpoints start from the old ones (module comment), so
  // featureEvaluations counts the new keys and the keys between an old and a moved checkpoint.
  async append(p, grown, kNew) {
    const old = p.state.fm;
    // New keys whose norms float32 cannot hold send the cache on to the float64 path (auto) or are refused.
    const fits = !old.wt || featureShifts(kNew, grown.n - p.kv.n, grown.d, old.sqrtScale) !== null;
    if (!fits && p.options.path === 'ort') throw new QattnError(`performer path=ort: an appended K row has ‖k·√scale‖² > ${MAX_SQ_NORM}; use path=js`);
    const fm = fits ? old : { ...old, wt: null };
    const { total, checkpoints, mapped } = await extend(fm, grown, [...p.state.checkpoints, { at: p.kv.n, sums: p.state.total }]);
    return { state: { fm, total, checkpoints }, cost: { scoreEvaluations: 0, extra: { featureEvaluations: mapped * old.r } } };
  },
  attend,
});
