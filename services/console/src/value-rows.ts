/**
 * The value page's rows as the console's API answers them: read by the server's queries
 * (views.ts) and by the page in the browser (web/pages/value.ts). No imports, so the browser's
 * type check can include it.
 */

/** A fitted value model version (value_model_fits_unique): parameters, calibration end, tier cuts. */
export interface ValueModelRow {
  model_version: string;
  calibration_end: string;
  unit: string;
  fitted_at: string;
  r: number;
  alpha: number;
  a: number;
  b: number;
  bgnbd_log_likelihood: number;
  bgnbd_customers: number;
  p: number;
  q: number;
  v: number;
  gg_log_likelihood: number;
  gg_customers: number;
  high_value_clv: number;
  potential_clv: number;
  warning_monetary: number;
  clv_horizon_months: number;
  clv_monthly_discount_rate: number;
  purchase_horizon_days: number;
}

export interface TierShare {
  /** The month's last day (the view's month_end). */
  month_end: string;
  tier: string;
  customers: string;
  share: number;
}

export interface ValueCohort {
  cohort: string;
  customers: string;
  predicted_clv_total: number;
  predicted_clv_mean: number;
  /** Decimal text, 4 fraction digits. */
  realised_spend_text: string;
  realised_to_predicted: number;
}

export interface TierCount {
  tier: string;
  customers: string;
}
