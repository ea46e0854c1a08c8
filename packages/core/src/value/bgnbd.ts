/**
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a customer
 * buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase they drop out with
 * probability p ~ Beta(a, b). x repeat purchases, the last at tx, observed for T (all in model units).
 */
import type { BgnbdParams } from "./types.ts";
import { betaln, gammaln, hyp2f1, logHyp2f1 } from "./special.ts";

/**
 * (a + b + x − 1) / (a − 1) has a removable singularity at a = 1; within this distance the
 * expectations are the mean of a = 1 ± A_NEAR_ONE (error ≈ A_NEAR_ONE², cancellation ≈ 1e-16 / A_NEAR_ONE).
 */
const A_NEAR_ONE = 1e-5;

/** ln of one customer's likelihood (FHL 2005, eq. 6) of x repeat purchases, the last at tx, over T. */
export function bgnbdLogLikelihood(params: BgnbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = params;
  const head = gammaln(r + x) - gammaln(r) + r * Math.log(alpha) + betaln(a, b + x) - betaln(a, b);
  return head + bgnbdLogTail(r, alpha, a, b, x, tx, T);
}

/** The part of eq. 6 that depends on tx and T: ln[(α + T)^−(r+x) + [x > 0] a / (b + x − 1) · (α + tx)^−(r+x)]. */
function bgnbdLogTail(r: number, alpha: number, a: number, b: number, x: number, tx: number, T: number): number {
  const alive = -(r + x) * Math.log(alpha + T);
  if (x === 0) return alive;
  const dropped = Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx);
  return alive > dropped ? alive + Math.log1p(Math.exp(dropped - alive)) : dropped + Math.log1p(Math.exp(alive - dropped));
}

/** Σ ln L over customers. */
export function bgnbdTotalLogLikelihood(params: BgnbdParams, customers: Iterable<{ readonly x: number; readonly tx: number; readonly T: number }>): number {
  let total = 0;
  for (const { x, tx, T } of customers) total += bgnbdLogLikelihood(params, x, tx, T);
  return total;
}

/** P(alive | x, tx, T) (FHL 2005, eq. 13): 1 for x = 0, as BG/NBD lets a customer drop out only after a purchase. */
export function bgnbdPAlive(params: BgnbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  const { r, alpha, a, b } = params;
  return 1 / (1 + (a / (b + x - 1)) * Math.exp((r + x) * Math.log((alpha + T) / (alpha + tx))));
}

/** The T at which P(alive | x, tx, T) falls to theta (eq. 13 solved for T): tx if it is below theta at T = tx, null if it never falls to theta (x = 0, theta ≤ 0). */
export function pAliveCrossingT(params: BgnbdParams, x: number, tx: number, theta: number): number | null {
  if (x === 0 || !(theta > 0)) return null;
  if (theta >= 1) return tx;
  const { r, alpha, a, b } = params;
  const odds = (1 - theta) / theta; // a / (b + x − 1) · ((α + T) / (α + tx))^(r+x) at the crossing
  const ratio = Math.exp(Math.log((odds * (b + x - 1)) / a) / (r + x));
  if (ratio <= 1) return tx;
  return (alpha + tx) * ratio - alpha;
}

/** E[Y(t) | x, tx, T]: expected repeat purchases in the next t units (FHL 2005, eq. 10). */
export function bgnbdExpectedPurchases(params: BgnbdParams, t: number, x: number, tx: number, T: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = params;
  if (Math.abs(a - 1) < A_NEAR_ONE) {
    return (conditionalExpectation(r, alpha, 1 - A_NEAR_ONE, b, t, x, tx, T) + conditionalExpectation(r, alpha, 1 + A_NEAR_ONE, b, t, x, tx, T)) / 2;
  }
  return conditionalExpectation(r, alpha, a, b, t, x, tx, T);
}

/** E[X(t)]: expected purchases of a new customer in their first t units (FHL 2005, eq. 9). */
export function bgnbdUnconditionalExpectedPurchases(params: BgnbdParams, t: number): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = params;
  if (Math.abs(a - 1) < A_NEAR_ONE) {
    return (unconditionalExpectation(r, alpha, 1 - A_NEAR_ONE, b, t) + unconditionalExpectation(r, alpha, 1 + A_NEAR_ONE, b, t)) / 2;
  }
  return unconditionalExpectation(r, alpha, a, b, t);
}

function unconditionalExpectation(r: number, alpha: number, a: number, b: number, t: number): number {
  const z = t / (alpha + t);
  const c = a + b - 1;
  // c ≤ 0 (a + b ≤ 1) can make 2F1 negative: take it signed; such an r, b keep it small.
  const discounted = c > 0 ? Math.exp(r * Math.log1p(-z) + logHyp2f1(r, b, c, z)) : Math.exp(r * Math.log1p(-z)) * hyp2f1(r, b, c, z);
  return (c / (a - 1)) * (1 - discounted);
}

/** Σ_{m=1..periods} (E[Y(m·step)] − E[Y((m − 1)·step)] | x, tx, T) / (1 + rate)^m, the discounted purchases of predicted CLV. */
export function bgnbdDiscountedPurchases(params: BgnbdParams, x: number, tx: number, T: number, step: number, periods: number, rate: number): number {
  const { r, alpha, a, b } = params;
  if (Math.abs(a - 1) < A_NEAR_ONE) {
    return (discountedPurchases(r, alpha, 1 - A_NEAR_ONE, b, x, tx, T, step, periods, rate) + discountedPurchases(r, alpha, 1 + A_NEAR_ONE, b, x, tx, T, step, periods, rate)) / 2;
  }
  return discountedPurchases(r, alpha, a, b, x, tx, T, step, periods, rate);
}

/** bgnbdDiscountedPurchases for a ≠ 1; the t-free factor of eq. 10 is computed once, not once per period. */
function discountedPurchases(r: number, alpha: number, a: number, b: number, x: number, tx: number, T: number, step: number, periods: number, rate: number): number {
  const lead = conditionalLead(r, alpha, a, b, x, tx, T);
  const factor = 1 / (1 + rate);
  let discount = 1;
  let previous = 0;
  let total = 0;
  for (let m = 1; m <= periods; m++) {
    const current = lead * growth(r, alpha, a, b, m * step, x, T);
    discount *= factor;
    total += (current - previous) * discount;
    previous = current;
  }
  return total;
}

/** Eq. 10 for a ≠ 1. */
function conditionalExpectation(r: number, alpha: number, a: number, b: number, t: number, x: number, tx: number, T: number): number {
  return conditionalLead(r, alpha, a, b, x, tx, T) * growth(r, alpha, a, b, t, x, T);
}

/** The t-free factor of eq. 10: (a + b + x − 1) / (a − 1) over 1 + [x > 0] a / (b + x − 1) · ((α + T) / (α + tx))^(r+x). */
function conditionalLead(r: number, alpha: number, a: number, b: number, x: number, tx: number, T: number): number {
  const denominator = x === 0 ? 1 : 1 + (a / (b + x - 1)) * Math.exp((r + x) * Math.log((alpha + T) / (alpha + tx)));
  return (a + b + x - 1) / (a - 1) / denominator;
}

/** 1 − ((α + T) / (α + T + t))^(r+x) · 2F1(r + x, b + x; a + b + x − 1; t / (α + T + t)), the t-dependent factor of eq. 10. */
function growth(r: number, alpha: number, a: number, b: number, t: number, x: number, T: number): number {
  const z = t / (alpha + T + t);
  const shape = r + x;
  const c = a + b + x - 1;
  const logPower = -shape * Math.log1p(t / (alpha + T));
  if (c > 0) return -Math.expm1(logPower + logHyp2f1(shape, b + x, c, z));
  return 1 - Math.exp(logPower) * hyp2f1(shape, b + x, c, z);
}
