import type { ClickHouseClient } from "@clickhouse/client";
import { UNIT_DAYS, valueSummaries, type CustomerPrediction, type CustomerValueSummary, type PredictionSettings } from "@clm/clickhouse";
import { fitBgnbd, fitGammaGamma, predictValue, valueTierOf, type LifecycleConfig, type TierCuts, type ValueModel, type ValueUnit } from "@clm/core";
import { quantile } from "./quantile.ts";
import { modelVersion } from "./version.ts";

/** A fitted model with the predictions of its fit population (what publishValueModel writes). */
export interface ValueFit {
  readonly model: ValueModel;
  readonly predictions: readonly CustomerPrediction[];
  readonly settings: PredictionSettings;
}

export class ValueFitError extends Error {
  readonly code = "VALUE_FIT_IMPOSSIBLE";
  constructor(message: string) {
    super(message);
    this.name = "ValueFitError";
  }
}

export interface FitOptions {
  /** Inclusive last day of the calibration data, YYYY-MM-DD. */
  readonly calibrationEnd: string;
  readonly unit: ValueUnit;
  /** The lifecycle model (its `value` section: horizons, CLV, tier quantiles). */
  readonly config: Pick<LifecycleConfig, "value">;
  /** When the fit runs (epoch ms): recorded as fittedAt, for people only. */
  readonly now: number;
}

/**
 * Fits BG/NBD and Gamma-Gamma on the summaries (maximum likelihood, @clm/core), predicts every
 * customer at the calibration end, cuts the tiers as quantiles of that population and names the
 * result. No I/O: fitFromClickHouse feeds it, tests call it directly.
 */
export function fitValueModel(summaries: readonly CustomerValueSummary[], options: FitOptions): ValueFit {
  const { value } = options.config;
  if (summaries.length === 0) throw new ValueFitError(`no customer has a purchase on or before ${options.calibrationEnd}`);
  const repeaters = summaries.filter((summary) => summary.x > 0 && summary.meanSpend > 0).length;
  if (repeaters === 0) throw new ValueFitError(`no customer has a repeat purchase with spend on or before ${options.calibrationEnd}: Gamma-Gamma cannot be fitted`);
  const bgnbd = fitBgnbd(summaries);
  const gammaGamma = fitGammaGamma(summaries);
  const settings: PredictionSettings = { purchaseHorizonDays: value.purchaseHorizonDays, clv: value.clv };
  const predicted = summaries.map((summary) => ({ summary, prediction: predictValue({ bgnbd, gammaGamma, unit: options.unit }, summary, value.purchaseHorizonDays, value.clv) }));
  const tierCuts: TierCuts = {
    highValueClv: quantile(predicted.map((entry) => entry.prediction.clv), value.tiers.highValueQuantile),
    potentialClv: quantile(predicted.map((entry) => entry.prediction.clv), value.tiers.potentialQuantile),
    warningMonetary: quantile(summaries.map((summary) => summary.monetaryTotal), value.tiers.warningMonetaryQuantile),
  };
  const model: ValueModel = {
    version: modelVersion(options.calibrationEnd, { unit: options.unit, bgnbd, gammaGamma, tierCuts }),
    calibrationEnd: options.calibrationEnd,
    unit: options.unit,
    fittedAt: new Date(options.now).toISOString(),
    bgnbd: { r: bgnbd.r, alpha: bgnbd.alpha, a: bgnbd.a, b: bgnbd.b, logLikelihood: bgnbd.logLikelihood, customers: bgnbd.customers },
    gammaGamma: { p: gammaGamma.p, q: gammaGamma.q, v: gammaGamma.v, logLikelihood: gammaGamma.logLikelihood, customers: gammaGamma.customers },
    tierCuts,
  };
  const predictions = predicted.map(({ summary, prediction }) => ({
    summary,
    pAlive: prediction.pAlive,
    expectedPurchases: prediction.expectedPurchases,
    expectedSpend: prediction.expectedSpend,
    clv: prediction.clv,
    tier: valueTierOf(prediction, summary.monetaryTotal, tierCuts, value.tiers.warningPAlive),
  }));
  return { model, predictions, settings };
}

/** The summaries of every customer from ClickHouse (deduplicated purchases), then fitValueModel. */
export async function fitFromClickHouse(clickhouse: { client: ClickHouseClient; database: string }, options: FitOptions): Promise<ValueFit> {
  const summaries = await valueSummaries(clickhouse.client, { database: clickhouse.database, calibrationEnd: options.calibrationEnd, unit: options.unit });
  return fitValueModel(summaries, options);
}

/** Whole days from one YYYY-MM-DD to another. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

export { UNIT_DAYS };
