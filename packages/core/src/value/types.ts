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
