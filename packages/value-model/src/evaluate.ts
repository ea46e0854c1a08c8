import type { ClickHouseClient } from "@clickhouse/client";
import { holdoutActualsFromClickHouse, UNIT_DAYS, type CustomerValueSummary } from "@clm/clickhouse";
import { predictValue, type HoldoutActual } from "@clm/core";
import { daysBetween, fitFromClickHouse, type FitOptions, type ValueFit } from "./fit.ts";

/** Totals and per-customer mean absolute errors of one predictor over the hold-out. */
export interface PredictorScore {
  /** Repeat purchase days predicted in the hold-out, summed over the calibration customers. */
  readonly purchases: number;
  /** Spend predicted in the hold-out, currency units. */
  readonly spend: number;
  /** Mean over calibration customers of |predicted − actual| purchase days. */
  readonly purchasesMae: number;
  /** Mean over calibration customers of |predicted − actual| spend. */
  readonly spendMae: number;
}

export interface HoldoutEvaluation {
  readonly calibrationEnd: string;
  readonly holdoutEnd: string;
  readonly holdoutDays: number;
  readonly customers: number;
  readonly actual: { readonly purchases: number; readonly spend: number };
  readonly model: PredictorScore;
  /**
   * The naive baseline: each customer keeps buying at their calibration rate (x / T repeat days per
   * unit; 0 when T = 0) and spends their calibration mean per purchase day (total / (x + 1)).
   */
  readonly naive: PredictorScore;
}

/**
 * Compares a fit's predictions for the hold-out (calibrationEnd, holdoutEnd] with what its
 * calibration customers really did there. Customers first seen in the hold-out are not part of it.
 */
export function evaluateFit(fit: ValueFit, summaries: readonly CustomerValueSummary[], actuals: ReadonlyMap<string, HoldoutActual>, holdoutEnd: string): HoldoutEvaluation {
  const { model } = fit;
  const holdoutDays = daysBetween(model.calibrationEnd, holdoutEnd);
  if (holdoutDays <= 0) throw new RangeError(`the hold-out end ${holdoutEnd} is not after the calibration end ${model.calibrationEnd}`);
  const holdoutUnits = holdoutDays / UNIT_DAYS[model.unit];
  const sums = { actualPurchases: 0, actualSpend: 0, model: [0, 0, 0, 0], naive: [0, 0, 0, 0] };
  const add = (into: number[], purchases: number, spend: number, actual: { purchases: number; spend: number }) => {
    into[0]! += purchases;
    into[1]! += spend;
    into[2]! += Math.abs(purchases - actual.purchases);
    into[3]! += Math.abs(spend - actual.spend);
  };
  for (const summary of summaries) {
    const actual = actuals.get(summary.customerId) ?? { purchases: 0, spend: 0 };
    sums.actualPurchases += actual.purchases;
    sums.actualSpend += actual.spend;
    const prediction = predictValue({ bgnbd: model.bgnbd, gammaGamma: model.gammaGamma, unit: model.unit }, summary, holdoutDays, fit.settings.clv);
    add(sums.model, prediction.expectedPurchases, prediction.expectedPurchases * prediction.expectedSpend, actual);
    const naivePurchases = summary.T > 0 ? (summary.x / summary.T) * holdoutUnits : 0;
    add(sums.naive, naivePurchases, naivePurchases * (summary.monetaryTotal / (summary.x + 1)), actual);
  }
  const n = summaries.length;
  const score = (s: number[]): PredictorScore => ({ purchases: s[0]!, spend: s[1]!, purchasesMae: s[2]! / n, spendMae: s[3]! / n });
  return {
    calibrationEnd: model.calibrationEnd,
    holdoutEnd,
    holdoutDays,
    customers: n,
    actual: { purchases: sums.actualPurchases, spend: sums.actualSpend },
    model: score(sums.model),
    naive: score(sums.naive),
  };
}

/** Fits on the calibration period in ClickHouse and evaluates on the hold-out there. Activates nothing. */
export async function evaluateFromClickHouse(
  clickhouse: { client: ClickHouseClient; database: string },
  options: FitOptions & { holdoutEnd: string },
): Promise<{ fit: ValueFit; evaluation: HoldoutEvaluation }> {
  const fit = await fitFromClickHouse(clickhouse, options);
  const actuals = await holdoutActualsFromClickHouse(clickhouse.client, { database: clickhouse.database, calibrationEnd: options.calibrationEnd, holdoutEnd: options.holdoutEnd });
  const summaries = fit.predictions.map((prediction) => prediction.summary);
  return { fit, evaluation: evaluateFit(fit, summaries, actuals, options.holdoutEnd) };
}
