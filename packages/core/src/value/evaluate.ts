/** How well a fitted model predicts a hold-out period, next to the naive guess that each customer keeps their calibration rate. */
import { bgnbdExpectedPurchases } from "./bgnbd.ts";
import { gammaGammaExpectedSpend } from "./gamma-gamma.ts";
import type { HoldoutActual } from "./summaries.ts";
import type { BgnbdParams, GammaGammaParams, ValueSummary } from "./types.ts";

export interface HoldoutTotals {
  /** Repeat purchase days, summed over customers. */
  readonly purchases: number;
  /** Spend, currency units, summed over customers. */
  readonly spend: number;
}

export interface HoldoutEvaluation {
  readonly customers: number;
  readonly holdoutUnits: number;
  readonly actual: HoldoutTotals;
  readonly model: HoldoutTotals;
  /** Each customer repeats at x / T per unit for the hold-out, at their mean spend (0 for T = 0). */
  readonly baseline: HoldoutTotals;
  /** Per-customer mean absolute error of the model's purchases and spend. */
  readonly modelMeanAbsoluteError: HoldoutTotals;
  readonly baselineMeanAbsoluteError: HoldoutTotals;
}

/** Predicted against actual repeat purchases and spend over holdoutUnits for every summarised customer (no actual counts as 0). */
export function evaluateHoldout(
  model: { readonly bgnbd: BgnbdParams; readonly gammaGamma: GammaGammaParams },
  summaries: ReadonlyMap<string, ValueSummary>,
  actuals: ReadonlyMap<string, HoldoutActual>,
  holdoutUnits: number,
): HoldoutEvaluation {
  let actualPurchases = 0;
  let actualSpend = 0;
  let modelPurchases = 0;
  let modelSpend = 0;
  let baselinePurchases = 0;
  let baselineSpend = 0;
  let modelPurchaseError = 0;
  let modelSpendError = 0;
  let baselinePurchaseError = 0;
  let baselineSpendError = 0;
  for (const [customerId, { x, tx, T, meanSpend }] of summaries) {
    const actual = actuals.get(customerId) ?? { purchases: 0, spend: 0 };
    const purchases = bgnbdExpectedPurchases(model.bgnbd, holdoutUnits, x, tx, T);
    const spend = purchases * gammaGammaExpectedSpend(model.gammaGamma, x, meanSpend);
    const naivePurchases = T > 0 ? (x / T) * holdoutUnits : 0;
    const naiveSpend = naivePurchases * meanSpend;
    actualPurchases += actual.purchases;
    actualSpend += actual.spend;
    modelPurchases += purchases;
    modelSpend += spend;
    baselinePurchases += naivePurchases;
    baselineSpend += naiveSpend;
    modelPurchaseError += Math.abs(purchases - actual.purchases);
    modelSpendError += Math.abs(spend - actual.spend);
    baselinePurchaseError += Math.abs(naivePurchases - actual.purchases);
    baselineSpendError += Math.abs(naiveSpend - actual.spend);
  }
  const customers = summaries.size;
  const mean = (total: number) => (customers === 0 ? 0 : total / customers);
  return {
    customers,
    holdoutUnits,
    actual: { purchases: actualPurchases, spend: actualSpend },
    model: { purchases: modelPurchases, spend: modelSpend },
    baseline: { purchases: baselinePurchases, spend: baselineSpend },
    modelMeanAbsoluteError: { purchases: mean(modelPurchaseError), spend: mean(modelSpendError) },
    baselineMeanAbsoluteError: { purchases: mean(baselinePurchaseError), spend: mean(baselineSpendError) },
  };
}
