/**
 * Predicted customer lifetime value: expected repeat purchases month by month (BG/NBD) times the
 * expected spend per purchase (Gamma-Gamma), discounted per month.
 */
import { bgnbdDiscountedPurchases, bgnbdExpectedPurchases, bgnbdPAlive } from "./bgnbd.ts";
import { gammaGammaExpectedSpend } from "./gamma-gamma.ts";
import { valueUnitDays } from "./summaries.ts";
import type { BgnbdParams, ClvOptions, GammaGammaParams, ValuePrediction, ValueSummary, ValueUnit } from "./types.ts";

/** A month: a Julian year / 12. */
export const DAYS_PER_MONTH = 365.25 / 12;
const MINUTE_DAYS = 1 / (24 * 60);
/** How far clvFallsBelowT looks before it answers null. */
const SEARCH_YEARS = 100;

/** The parameters predictions need: a ValueModel satisfies it. */
export interface ValueModelParams {
  readonly bgnbd: BgnbdParams;
  readonly gammaGamma: GammaGammaParams;
  readonly unit: ValueUnit;
}

/** Predicted CLV over options.horizonMonths: Σ_m (E[Y(m months)] − E[Y(m − 1 months)]) · expected spend / (1 + d)^m. */
export function predictedClv(bg: BgnbdParams, gg: GammaGammaParams, summary: ValueSummary, unit: ValueUnit, options: ClvOptions): number {
  const spend = gammaGammaExpectedSpend(gg, summary.x, summary.meanSpend);
  return spend * discountedPurchases(bg, summary.x, summary.tx, summary.T, DAYS_PER_MONTH / valueUnitDays(unit), options);
}

/** The smallest T ≥ fromT (to a minute) at which predicted CLV falls below cut if the customer buys nothing more; fromT if it is below already, null if not within 100 years. */
export function clvFallsBelowT(bg: BgnbdParams, gg: GammaGammaParams, summary: ValueSummary, unit: ValueUnit, options: ClvOptions, cut: number, fromT: number): number | null {
  const perUnit = valueUnitDays(unit);
  const month = DAYS_PER_MONTH / perUnit;
  const minute = MINUTE_DAYS / perUnit;
  const { x, tx, meanSpend } = summary;
  const spend = gammaGammaExpectedSpend(gg, x, meanSpend);
  const excess = (T: number) => spend * discountedPurchases(bg, x, tx, T, month, options) - cut;
  let excessLow = excess(fromT);
  if (excessLow < 0) return fromT;
  // CLV falls as T grows (x, tx and meanSpend stay), and ever more slowly: the tangent over the
  // first day reaches the cut no later than CLV does, so stepping from it, doubling, brackets the
  // crossing in a few evaluations.
  const day = 1 / perUnit;
  const limit = fromT + (SEARCH_YEARS * 365.25) / perUnit;
  let low = fromT;
  let high = fromT + day;
  let excessHigh = excess(high);
  if (excessHigh >= 0) {
    const slope = (excessHigh - excessLow) / day;
    let step = slope < 0 ? Math.max(day, excessHigh / -slope) : day;
    for (;;) {
      low = high;
      excessLow = excessHigh;
      high = Math.min(low + step, limit);
      excessHigh = excess(high);
      if (excessHigh < 0) break;
      if (high >= limit) return null;
      step *= 2;
    }
  }
  return narrowCrossing(excess, low, excessLow, high, excessHigh, minute);
}

/**
 * Narrows a bracket [low: excess ≥ 0, high: excess < 0] of a decreasing function to `width` and
 * returns its high end. Written by hand because it must answer with a bracket, not a point (the
 * tier timer fires where the tier has changed, and a minute earlier it had not), in as few
 * evaluations as possible (each is a 2F1): regula falsi with the Illinois correction; once a step
 * moves an end by less than the width, the next probe goes half a width past the estimate to close
 * the bracket from the other side. Bisection takes over after 40 steps, so it always ends.
 */
function narrowCrossing(excess: (T: number) => number, low: number, excessLow: number, high: number, excessHigh: number, width: number): number {
  let weightLow = excessLow;
  let weightHigh = excessHigh;
  let lastMoved = 0;
  let straddle = false;
  for (let step = 0; high - low > width; step++) {
    const span = high - low;
    let guess = step >= 40 ? low + span / 2 : high - (weightHigh * span) / (weightHigh - weightLow);
    if (straddle) guess += lastMoved === 1 ? -width / 2 : width / 2;
    if (!(guess > low && guess < high)) guess = low + span / 2;
    const value = excess(guess);
    if (value < 0) {
      straddle = high - guess < width;
      high = guess;
      weightHigh = value;
      if (lastMoved === 1) weightLow /= 2;
      lastMoved = 1;
    } else {
      straddle = guess - low < width;
      low = guess;
      weightLow = value;
      if (lastMoved === -1) weightHigh /= 2;
      lastMoved = -1;
    }
  }
  return high;
}

/** P(alive), expected purchases in the next purchaseHorizonDays, expected spend per purchase and predicted CLV of one customer. */
export function predictValue(model: ValueModelParams, summary: ValueSummary, purchaseHorizonDays: number, options: ClvOptions): ValuePrediction {
  const { bgnbd, gammaGamma, unit } = model;
  const { x, tx, T, meanSpend } = summary;
  const expectedSpend = gammaGammaExpectedSpend(gammaGamma, x, meanSpend);
  return {
    pAlive: bgnbdPAlive(bgnbd, x, tx, T),
    expectedPurchases: bgnbdExpectedPurchases(bgnbd, purchaseHorizonDays / valueUnitDays(unit), x, tx, T),
    expectedSpend,
    clv: expectedSpend * discountedPurchases(bgnbd, x, tx, T, DAYS_PER_MONTH / valueUnitDays(unit), options),
  };
}

/** Σ_m (E[Y(m·month)] − E[Y((m − 1)·month)]) / (1 + d)^m; without discount, E[Y(H·month)] at once. */
function discountedPurchases(bg: BgnbdParams, x: number, tx: number, T: number, month: number, options: ClvOptions): number {
  const { horizonMonths, monthlyDiscountRate } = options;
  if (monthlyDiscountRate === 0) return bgnbdExpectedPurchases(bg, horizonMonths * month, x, tx, T);
  return bgnbdDiscountedPurchases(bg, x, tx, T, month, horizonMonths, monthlyDiscountRate);
}
