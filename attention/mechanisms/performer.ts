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
 * Causal: the paper's prefix-sum variant (Section 2.6) — keys are added in order and query i reads the
 * running sums after key i + n − m (bottom-right aligned). Mask: a length-n mask factorises,
 * exp(s + mask_j) = exp(s)·exp(mask_j), so it is folded into key j's features (−∞ drops the key); an m×n mask
 * does not factorise through φ(q)·φ(k) and is refused.
 *
 * Paths (option `path`): 'js' is the float64 loops below, O((m+n)·r·(d+dv)) in plain TypeScript (~0.5 GMAC/s).
 * 'ort' runs the dense products — the projections X·Wᵀ and the key sums Σ φ(k)·[v | 1] — in onnxruntime
 * (kernels/ort/favor.ts), float32 on one thread, as a practitioner's Performer runs them on BLAS; that keeps
 * wall-time comparisons with `exact` (also on ORT) fair. Same features, stabilisers and sweep; the outputs agree
 * to float32 rounding (~1e-6 relative L2, test/classical-mechanisms.test.ts). Under causal only the keys every
 * query sees go through ORT's one-pass sums; the rest are added in the JS sweep from ORT-projected features.
 */
import { QattnError } from '../../core/errors.ts';
import { createRng } from '../../core/rng.ts';
import type { Rng } from '../../core/rng.ts';
import { optNumber, optString } from '../options.ts';
import { favorCannotRunReason, favorShifts, ortKeySums, ortProject, scaledFeaturesT } from '../kernels/ort/favor.ts';
import type { FavorShifts } from '../kernels/ort/favor.ts';
import { ortUnavailableReason } from '../kernels/ort/sessions.ts';
import type { AttentionInput, AttentionOutput, Mechanism, Options } from '../types.ts';
import { singlePhase } from '../define.ts';
import { emptyCost } from '../types.ts';
import { effectiveScale, visibleKeys } from '../validate.ts';

const PATHS = ['auto', 'ort', 'js'] as const;

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

/** Running Σ_j φ(k_j) and Σ_j φ(k_j)·v_jᵀ per feature, stored relative to the per-feature running max B_f. */
interface PrefixSums {
  readonly b: Float64Array; // B_f
  readonly z: Float64Array; // Σ_j exp(a_jf − B_f)
  readonly s: Float64Array; // [r×dv] Σ_j exp(a_jf − B_f) v_j
}

function addKey(ps: PrefixSums, a: Float64Array, v: Float32Array, j: number, dv: number): void {
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

/** out row i = Σ_f φ_f(q)·S_f / Σ_f φ_f(q)·Z_f, with the query's max over f subtracted in log space. */
function readQuery(ps: PrefixSums, a: Float64Array, dv: number, out: Float32Array, i: number): void {
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

/** Empty key sums (no key added yet): every B_f = −∞. */
function emptySums(r: number, dv: number): PrefixSums {
  return { b: new Float64Array(r).fill(-Infinity), z: new Float64Array(r), s: new Float64Array(r * dv) };
}

/**
 * The prefix-sum sweep both paths share: query i first adds keys up to visibleKeys(i) (from key `from` on;
 * the keys before are already in `ps`), then reads the sums. `keyRow`/`queryRow` write a row's log-features
 * into their second argument. Returns O and Σ_i visible keys.
 */
function sweep(
  input: AttentionInput, ps: PrefixSums, from: number,
  keyRow: (j: number, a: Float64Array) => void, queryRow: (i: number, a: Float64Array) => void,
): { out: Float32Array; visible: number } {
  const { m, dv } = input;
  const a = new Float64Array(ps.b.length);
  const out = new Float32Array(m * dv);
  let added = from, visible = 0;
  for (let i = 0; i < m; i++) {
    const vis = visibleKeys(input, i);
    for (; added < vis; added++) {
      keyRow(added, a);
      addKey(ps, a, input.v, added, dv);
    }
    visible += vis;
    queryRow(i, a);
    readQuery(ps, a, dv, out, i);
  }
  return { out, visible };
}

/** The original float64 loops: O((m+n)·r·d) log-features, each key added to the prefix sums in turn. */
function attendJs(input: AttentionInput, w: Float64Array, r: number, sqrtScale: number): { out: Float32Array; visible: number } {
  const { d, mask } = input;
  return sweep(input, emptySums(r, input.dv), 0,
    (j, a) => logFeatures(w, r, d, input.k, j, sqrtScale, mask ? mask[j]! : 0, a),
    (i, a) => logFeatures(w, r, d, input.q, i, sqrtScale, 0, a));
}

/**
 * The same sweep with the dense products in onnxruntime (kernels/ort/favor.ts): the keys every query sees
 * (all n, or the first n − m + 1 under causal) are summed there in one pass; the rest, and the queries, get
 * their log-features projected there and go through addKey/readQuery as in JS.
 */
async function attendOrt(input: AttentionInput, w: Float64Array, r: number, sqrtScale: number, shifts: FavorShifts): Promise<{ out: Float32Array; visible: number }> {
  const { m, n, d, dv } = input;
  const wt = scaledFeaturesT(w, r, d, sqrtScale);
  const prefix = Math.min(n, visibleKeys(input, 0)); // ≥ 1: validateInput keeps causal m ≤ n
  let ps = emptySums(r, dv);
  if (shifts.k.subarray(0, prefix).some((x) => x > -Infinity)) { // else B = −∞ and ORT's exp(a − B) is NaN
    const sums = await ortKeySums(input.k.subarray(0, prefix * d), input.v.subarray(0, prefix * dv), shifts.k.subarray(0, prefix), wt, { rows: prefix, d, r, dv });
    ps = { b: Float64Array.from(sums.b), z: Float64Array.from(sums.z), s: Float64Array.from(sums.s) };
  }
  const rest = prefix < n ? await ortProject(input.k.subarray(prefix * d), shifts.k.subarray(prefix), wt, { rows: n - prefix, d, r }) : new Float32Array(0);
  const queries = await ortProject(input.q, shifts.q, wt, { rows: m, d, r });
  return sweep(input, ps, prefix,
    (j, a) => a.set(rest.subarray((j - prefix) * r, (j - prefix + 1) * r)),
    (i, a) => a.set(queries.subarray(i * r, (i + 1) * r)));
}

async function attend(input: AttentionInput, options: Options): Promise<AttentionOutput> {
  const { m, n, d } = input;
  const r = optNumber(options, 'features');
  const w = orthogonalFeatures(createRng(input.seed ?? 0), r, d);
  const sqrtScale = Math.sqrt(effectiveScale(input));
  // auto: ORT where it is loadable and the norms fit float32; notSupportedReasons has vetted path=ort.
  const shifts = optString(options, 'path') !== 'js' && ortUnavailableReason() === null ? favorShifts(input, sqrtScale) : null;
  const { out, visible } = shifts ? await attendOrt(input, w, r, sqrtScale, shifts) : attendJs(input, w, r, sqrtScale);
  const cost = emptyCost();
  cost.scoreEvaluations = 0;
  cost.selectedPerQuery = visible / m;
  cost.extra.featureEvaluations = (m + n) * r;
  return { out, cost, path: shifts ? 'ort' : 'js' };
}

export const performer: Mechanism = singlePhase({
  name: 'performer',
  family: 'classical',
  summary: 'FAVOR+ positive orthogonal random features: linear-time unbiased estimate of softmax attention',
  reference: 'Choromanski et al., Rethinking Attention with Performers, arXiv 2009.14794',
  options: {
    features: { type: 'int', default: 256, min: 1, max: 65536, description: 'random features r (error falls like 1/√r)' },
    path: {
      type: 'enum',
      default: 'auto',
      values: PATHS,
      description: 'auto: onnxruntime (float32, one thread) for the dense products where it can run, else js; ort; js (float64 loops)',
    },
  },
  tolerance: {
    exhaustiveRelL2: Infinity,
    note: 'no exhaustive setting (randomized at every r): relL2 < 0.2 at r = 256 on N(0, 0.5²) Q/K, d = 16, scale 1/√d (tested); the variance grows like exp(‖q′+k′‖²) (paper, Lemma 2), so large-norm or peaked inputs give O(1) error',
  },
  costFields: { scoreEvaluations: 'sum', selectedPerQuery: 'mean', 'extra.featureEvaluations': 'sum' },
  exhaustiveOptions: () => null,
  notSupportedReasons: (input, options) => {
    if (input.mask && input.mask.length !== input.n) {
      return ['a per-query (m×n) mask does not factorise through φ(q)·φ(k); only a length-n key mask can be folded into the key features'];
    }
    const reason = optString(options, 'path') === 'ort' ? favorCannotRunReason(input) : null;
    return reason ? [reason] : [];
  },
  attend,
});
