/**
 * The customer-value model's shared shapes: BG/NBD (repeat purchasing and dropout,
 * Fader, Hardie & Lee 2005) and Gamma-Gamma (spend per transaction, Fader & Hardie 2013).
 *
 * Times are in model units (`ValueUnit`, weeks by default) counted on UTC purchase
 * days: a customer's purchases on one day are one transaction.
 */

export type ValueUnit = "day" | "week";

/** One customer's inputs to the models at an instant. */
export interface ValueSummary {
  /** Repeat purchase days: distinct UTC purchase days − 1. */
  readonly x: number;
  /** First to last purchase day, in units. */
  readonly tx: number;
  /** First purchase day to the instant, in units. */
  readonly T: number;
  /** Mean over repeat days of that day's total spend (currency units, not E4); 0 when x = 0. */
  readonly meanSpend: number;
}

export interface BgnbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  readonly v: number;
}

export interface BgnbdFit extends BgnbdParams {
  readonly logLikelihood: number;
  readonly customers: number;
}

export interface GammaGammaFit extends GammaGammaParams {
  readonly logLikelihood: number;
  /** Customers with x > 0 and meanSpend > 0: the only ones Gamma-Gamma is fitted on. */
  readonly customers: number;
}

/** How predicted CLV is computed. */
export interface ClvOptions {
  /** Horizon in months (a month is 365.25 / 12 days). */
  readonly horizonMonths: number;
  /** Discount rate per month (0: none). */
  readonly monthlyDiscountRate: number;
}

/** Per-customer predictions at an instant. */
export interface ValuePrediction {
  readonly pAlive: number;
  /** Expected purchase days in the prediction horizon (config: value.purchaseHorizonDays). */
  readonly expectedPurchases: number;
  /** Expected spend per purchase day (Gamma-Gamma conditional mean; the population mean when x = 0). */
  readonly expectedSpend: number;
  /** Predicted customer lifetime value over the CLV horizon, currency units. */
  readonly clv: number;
}

/** Tier boundaries, frozen with a model version (quantiles of its fit population). */
export interface TierCuts {
  /** Predicted CLV at or above which an alive customer is high_value. */
  readonly highValueClv: number;
  /** Predicted CLV at or above which an alive customer is potential. */
  readonly potentialClv: number;
  /** Total realised spend (currency units) at or above which a customer is valuable enough for warning. */
  readonly warningMonetary: number;
}

export const VALUE_TIERS = ["high_value", "potential", "base", "warning"] as const;
export type ValueTier = (typeof VALUE_TIERS)[number];

/** One fitted, versioned model: what the processors apply and the API reports. */
export interface ValueModel {
  /** `m-<calibrationEnd>-<8 hex of sha256 over the canonical JSON of unit, params and cuts>`. */
  readonly version: string;
  /** Inclusive last day of the calibration data, YYYY-MM-DD; T is measured to the start of this day. */
  readonly calibrationEnd: string;
  readonly unit: ValueUnit;
  /** When the fit ran (ISO 8601), for people; it plays no part in any decision. */
  readonly fittedAt: string;
  readonly bgnbd: BgnbdFit;
  readonly gammaGamma: GammaGammaFit;
  readonly tierCuts: TierCuts;
}
