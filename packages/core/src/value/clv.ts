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
  const below = (T: number) => spend * discountedPurchases(bg, x, tx, T, month, options) < cut;
  if (below(fromT)) return fromT;
  // CLV falls as T grows (x, tx and meanSpend stay): doubling steps from a day bracket the crossing, bisection narrows it.
  const limit = fromT + (SEARCH_YEARS * 365.25) / perUnit;
  let low = fromT;
  let high = fromT;
  for (let step = 1 / perUnit; ; step *= 2) {
    high = Math.min(fromT + step, limit);
    if (below(high)) break;
    if (high >= limit) return null;
    low = high;
  }
  while (high - low > minute) {
    const middle = low + (high - low) / 2;
    if (below(middle)) high = middle;
    else low = middle;
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
