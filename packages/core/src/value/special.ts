/**
 * Special functions for the customer-value model, over stdlib's ports of Cephes and Boost.
 *
 * stdlib's hyp2f1 is accurate (≤ 1e-13 relative against mpmath) for 0 ≤ z ≤ 0.9, where it sums
 * the power series. For z > 0.9 it switches to the 1 − z connection formulas, which lose digits
 * when c − a − b is near an integer (1e-5 relative at a distance of 1e-13) and are wrong at
 * c − a − b = −1 exactly (2F1(2, 3.4259; 4.4259; 0.97) comes out 117.6 instead of 96.46). BG/NBD
 * only needs a, b > 0 and 0 ≤ z < 1, where every term of the series is positive (or, for c < 0,
 * all but the first share one sign), so above 0.9 the series is summed directly: no cancellation,
 * at the price of more terms (≈ 37 / −ln z). It is summed with a running scale so that the large
 * values of frequent buyers (2F1 grows like (1 − z)^(c−a−b)) come back as logarithms, not Infinity.
 */
import betalnStdlib from "@stdlib/math-base-special-betaln";
import gammalnStdlib from "@stdlib/math-base-special-gammaln";
import hyp2f1Stdlib from "@stdlib/math-base-special-hyp2f1";

/** Where stdlib's hyp2f1 stops summing the plain series (and where this module takes over). */
const STDLIB_HYP2F1_MAX_Z = 0.9;
/** Rescale the running sum past this, keeping its logarithm apart. */
const RESCALE_ABOVE = 1e250;
const LOG_RESCALE = Math.log(RESCALE_ABOVE);
/** Relative size of the series' tail at which summing stops. */
const SERIES_TOLERANCE = 1e-17;
/** A bound on the terms summed, far past what BG/NBD asks (z = 0.9999 with c − a − b = −300 takes ≈ 4e6). */
const SERIES_MAX_TERMS = 20_000_000;

/** ln Γ(x), for x > 0. */
export function gammaln(x: number): number {
  return gammalnStdlib(x);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0, without the cancellation of the three-term sum. */
export function betaln(a: number, b: number): number {
  return betalnStdlib(a, b);
}

/** ln 2F1(a, b; c; z) for a, b > 0, c not a non-positive integer and 0 ≤ z < 1 (the BG/NBD region); RangeError elsewhere or where the value is not positive (possible only for c < 0). */
export function logHyp2f1(a: number, b: number, c: number, z: number): number {
  checkDomain(a, b, c, z);
  if (z <= STDLIB_HYP2F1_MAX_Z) {
    const value = hyp2f1Stdlib(a, b, c, z);
    if (value > 0 && value < Infinity) return Math.log(value);
  }
  const log = logAbsSeries(a, b, c, z);
  if (seriesSign <= 0) throw new RangeError(`logHyp2f1(${a}, ${b}; ${c}; ${z}): the value is not positive`);
  return log;
}

/** 2F1(a, b; c; z) on the domain of logHyp2f1, of either sign (negative values need c < 0); Infinity past the largest double. */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  checkDomain(a, b, c, z);
  if (z <= STDLIB_HYP2F1_MAX_Z) {
    const value = hyp2f1Stdlib(a, b, c, z);
    if (Number.isFinite(value)) return value;
  }
  const log = logAbsSeries(a, b, c, z);
  return seriesSign * Math.exp(log);
}

function checkDomain(a: number, b: number, c: number, z: number): void {
  if (!(a > 0 && b > 0 && z >= 0 && z < 1) || !Number.isFinite(c) || (c <= 0 && Number.isInteger(c))) {
    throw new RangeError(`2F1(${a}, ${b}; ${c}; ${z}): outside a, b > 0, c ∉ {0, −1, …}, 0 ≤ z < 1`);
  }
}

/** The sign of the last logAbsSeries sum: a second result without allocating one per call. */
let seriesSign = 1;

/** ln |Σ (a)_n (b)_n / ((c)_n n!) zⁿ| summed term by term, rescaling as it grows; its sign in seriesSign. */
function logAbsSeries(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  let logScale = 0;
  let ratio = (a * b * z) / c;
  for (let n = 0; n < SERIES_MAX_TERMS; n++) {
    term *= ratio;
    sum += term;
    if (Math.abs(sum) > RESCALE_ABOVE) {
      sum /= RESCALE_ABOVE;
      term /= RESCALE_ABOVE;
      logScale += LOG_RESCALE;
    }
    // The ratio of terms tends to z: it falls towards z when c − a − b < −1 and rises towards it
    // otherwise, so the larger of the next ratio and z bounds every later one, and the tail by a
    // geometric series. Negative ratios (c < 0) come first, so a positive next one means no more.
    ratio = ((a + n + 1) * (b + n + 1) * z) / ((c + n + 1) * (n + 2));
    const bound = ratio > z ? ratio : z;
    if (ratio > 0 && bound < 1 && Math.abs(term) * (bound / (1 - bound)) <= SERIES_TOLERANCE * Math.abs(sum)) {
      seriesSign = Math.sign(sum);
      return Math.log(Math.abs(sum)) + logScale;
    }
  }
  throw new RangeError(`2F1(${a}, ${b}; ${c}; ${z}): the series did not converge in ${SERIES_MAX_TERMS} terms`);
}
