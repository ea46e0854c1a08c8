import type { ClickHouseClient } from "@clickhouse/client";
import { queryRows, quoteString } from "@clm/clickhouse";
import { MAX_EVENTS, MAX_PERIODS, type DateRange, type Grain } from "./params.ts";
import type { TierCount, TierShare, ValueCohort, ValueModelRow } from "./value-rows.ts";

export type { TierCount, TierShare, ValueCohort, ValueModelRow } from "./value-rows.ts";

/**
 * The console's reads of the analysts' views (packages/clickhouse/migrations), as the read-only user.
 * ClickHouse 18.16 takes no server-side parameters, so every value in a query is one these functions
 * were given already checked: dates as YYYY-MM-DD (params.ts), integers, and customer ids quoted with
 * quoteString. Every query is bounded: by a date range of at most MAX_SPAN periods, by MAX_PERIODS,
 * or by a LIMIT. 64-bit counts and Decimal money arrive as strings (exact); rates as numbers.
 */
export interface CohortCell {
  cohort: string;
  period: number;
  cohort_customers: string;
  active_customers: string;
  /** Decimal text, 4 fraction digits. */
  revenue_text: string;
}

export interface LtvPoint {
  cohort: string;
  period: number;
  cohort_customers: string;
  cumulative_revenue_text: string;
  ltv_text: string;
}

export interface StageCount {
  month_start: string;
  stage: string;
  customers: string;
}

export interface TransitionCount {
  month_start: string;
  from_stage: string | null;
  to_stage: string;
  transitions: string;
  customers: string;
}

export interface ChurnMonth {
  month_start: string;
  base_customers: string;
  churned: string;
  churn_rate: number;
  churned_at_start: string;
  won_back: string;
  win_back_rate: number;
}

export interface ActivationCohort {
  cohort: string;
  cohort_customers: string;
  activated_customers: string;
  activation_rate: number;
}

export interface CustomerTransition {
  version_text: string;
  from_name: string | null;
  to_name: string;
  reason: string;
  at_ms: string;
  trigger_name: string;
  risk: string;
  segment: string;
}

export interface CustomerEventRow {
  event_id: string;
  type: string;
  at_ms: string;
  amount_text: string;
  order_ref: string;
  detail: string;
}

/** The periods of the data: first and last cohort (month and week), first and last month with stage changes, and with tier changes. */
export interface DataRanges {
  month: DateRange | null;
  week: DateRange | null;
  stages: DateRange | null;
  tiers: DateRange | null;
}

const date = (value: string) => `toDate('${value}')`;

/** Decimal text with up to 4 fraction digits → E4 integer, and back (4 digits, as ClickHouse writes Decimal(18, 4)). */
export function toE4(text: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(text);
  if (match === null) throw new Error(`not a decimal with at most 4 fraction digits: ${JSON.stringify(text)}`);
  const value = BigInt(match[2]!) * 10_000n + BigInt((match[3] ?? "").padEnd(4, "0"));
  return match[1] === "-" ? -value : value;
}

export function fromE4(value: bigint): string {
  const sign = value < 0n ? "-" : "";
  const magnitude = value < 0n ? -value : value;
  return `${sign}${magnitude / 10_000n}.${String(magnitude % 10_000n).padStart(4, "0")}`;
}

/**
 * What identifies the data the views read: the raw tables' row counts and latest write (the model
 * tables have no write time; a publish adds rows). An answer read at one data version is served again,
 * without querying, while the version holds; any insert (or a merge collapsing copies) changes it.
 */
const DATA_VERSION = (db: string) =>
  `SELECT concat((SELECT concat(toString(count()), '/', toString(max(written_at))) FROM ${db}.events), '|', ` +
  `(SELECT concat(toString(count()), '/', toString(max(written_at))) FROM ${db}.stage_transitions), '|', ` +
  `(SELECT concat(toString(count()), '/', toString(max(written_at))) FROM ${db}.value_tier_changes), '|', ` +
  `(SELECT toString(count()) FROM ${db}.value_model_fits), '|', (SELECT toString(count()) FROM ${db}.value_predictions)) AS version`;

/** The most model versions the value page lists. */
export const MAX_MODEL_VERSIONS = 24;

export class ViewReader {
  private version = "";
  private versionAt = 0;
  private answers = new Map<string, Promise<unknown[]>>();

  /** `versionTtlMs`: how long a read data version is trusted before it is read again (a request never waits longer than that for new data). */
  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly db: string,
    private readonly versionTtlMs = 1000,
  ) {}

  /**
   * Reads the data version now and returns it; a new one drops every kept answer (the console's
   * warm-up then asks every page's default queries again, warm.ts).
   */
  async refreshVersion(): Promise<string> {
    const [row] = await queryRows<{ version: string }>(this.clickhouse, DATA_VERSION(this.db));
    this.versionAt = Date.now();
    if (row !== undefined && row.version !== this.version) [this.version, this.answers] = [row.version, new Map()];
    return this.version;
  }

  /** The rows of a query, at the current data version: queried once per version (concurrent askers share the query). */
  private async rows<T>(sql: string): Promise<T[]> {
    if (Date.now() - this.versionAt > this.versionTtlMs) await this.refreshVersion();
    let answer = this.answers.get(sql);
    if (answer === undefined) {
      answer = queryRows<unknown>(this.clickhouse, sql);
      this.answers.set(sql, answer);
      // A failed query is not kept: the next request asks again.
      answer.catch(() => this.answers.get(sql) === answer && this.answers.delete(sql));
    }
    return answer as Promise<T[]>;
  }

  /**
   * The data's periods, from the small aggregate of purchase days and the stage changes' time index:
   * cohorts can start from the first purchase day's period through the last one's.
   */
  async ranges(): Promise<DataRanges> {
    const [days] = await this.rows<{ n: string; first_month: string; last_month: string; first_week: string; last_week: string }>(
      `SELECT count() AS n, toString(toStartOfMonth(min(day))) AS first_month, toString(toStartOfMonth(max(day))) AS last_month, toString(toMonday(min(day))) AS first_week, toString(toMonday(max(day))) AS last_week FROM ${this.db}.purchase_days_agg`,
    );
    const [stages] = await this.rows<{ n: string; first_month: string; last_month: string }>(
      `SELECT count() AS n, toString(toStartOfMonth(min(occurred_at))) AS first_month, toString(toStartOfMonth(max(occurred_at))) AS last_month FROM ${this.db}.stage_transitions`,
    );
    const [tiers] = await this.rows<{ n: string; first_month: string; last_month: string }>(
      `SELECT count() AS n, toString(toStartOfMonth(min(occurred_at))) AS first_month, toString(toStartOfMonth(max(occurred_at))) AS last_month FROM ${this.db}.value_tier_changes`,
    );
    const some = (row: { n: string } | undefined) => row !== undefined && row.n !== "0";
    return {
      month: some(days) ? { from: days!.first_month, to: days!.last_month } : null,
      week: some(days) ? { from: days!.first_week, to: days!.last_week } : null,
      stages: some(stages) ? { from: stages!.first_month, to: stages!.last_month } : null,
      tiers: some(tiers) ? { from: tiers!.first_month, to: tiers!.last_month } : null,
    };
  }

  retention(grain: Grain, range: DateRange): Promise<CohortCell[]> {
    const [view, cohort] = grain === "month" ? ["cohort_retention_monthly", "cohort_month"] : ["cohort_retention_weekly", "cohort_week"];
    return this.rows(
      `SELECT toString(${cohort}) AS cohort, period, cohort_customers, active_customers, toString(revenue) AS revenue_text FROM ${this.db}.${view} ` +
        `WHERE ${cohort} >= ${date(range.from)} AND ${cohort} <= ${date(range.to)} AND period < ${MAX_PERIODS[grain]} ORDER BY cohort, period`,
    );
  }

  /**
   * Cumulative LTV per monthly cohort, exactly as cohort_ltv_monthly defines it — the cohort's revenue
   * in periods 0..k, and that per cohort customer truncated to 4 fraction digits — summed here from the
   * monthly retention rows (one read of the views instead of three; the browser test compares every
   * point with cohort_ltv_monthly itself). Exact: decimal E4 integers in BigInt.
   */
  async ltv(range: DateRange): Promise<LtvPoint[]> {
    const points: LtvPoint[] = [];
    let cohort = "";
    let cumulative = 0n;
    for (const cell of await this.retention("month", range)) {
      if (cell.cohort !== cohort) [cohort, cumulative] = [cell.cohort, 0n];
      cumulative += toE4(cell.revenue_text);
      const customers = BigInt(cell.cohort_customers);
      points.push({ cohort, period: cell.period, cohort_customers: cell.cohort_customers, cumulative_revenue_text: fromE4(cumulative), ltv_text: fromE4(customers === 0n ? 0n : cumulative / customers) });
    }
    return points;
  }

  stageDistribution(range: DateRange): Promise<StageCount[]> {
    return this.rows(`SELECT toString(month) AS month_start, stage, customers FROM ${this.db}.stage_distribution_monthly WHERE month >= ${date(range.from)} AND month <= ${date(range.to)} ORDER BY month_start, stage`);
  }

  transitions(range: DateRange): Promise<TransitionCount[]> {
    return this.rows(
      `SELECT toString(month) AS month_start, from_stage, to_stage, transitions, customers FROM ${this.db}.stage_transition_funnel_monthly ` +
        `WHERE month >= ${date(range.from)} AND month <= ${date(range.to)} ORDER BY month_start, from_stage, to_stage`,
    );
  }

  churn(range: DateRange): Promise<ChurnMonth[]> {
    return this.rows(
      `SELECT toString(month) AS month_start, base_customers, churned, churn_rate, churned_at_start, won_back, win_back_rate FROM ${this.db}.churn_winback_monthly ` +
        `WHERE month >= ${date(range.from)} AND month <= ${date(range.to)} ORDER BY month_start`,
    );
  }

  activation(range: DateRange): Promise<ActivationCohort[]> {
    return this.rows(
      `SELECT toString(cohort_month) AS cohort, cohort_customers, activated_customers, activation_rate FROM ${this.db}.cohort_activation_monthly ` +
        `WHERE cohort_month >= ${date(range.from)} AND cohort_month <= ${date(range.to)} ORDER BY cohort`,
    );
  }

  /** The fitted model versions, latest fit first (at most MAX_MODEL_VERSIONS): the first is the current model. */
  valueModels(): Promise<ValueModelRow[]> {
    return this.rows(
      `SELECT model_version, toString(calibration_end) AS calibration_end, toString(unit) AS unit, toString(fitted_at) AS fitted_at, r, alpha, a, b, bgnbd_log_likelihood, bgnbd_customers, ` +
        `p, q, v, gg_log_likelihood, gg_customers, high_value_clv, potential_clv, warning_monetary, clv_horizon_months, clv_monthly_discount_rate, purchase_horizon_days ` +
        `FROM ${this.db}.value_model_fits_unique ORDER BY fitted_at DESC, model_version DESC LIMIT ${MAX_MODEL_VERSIONS}`,
    );
  }

  /** Tier shares at each month end of the range (months as their first day; the view names the last). */
  tierShares(range: DateRange): Promise<TierShare[]> {
    return this.rows(
      // Filtered inside: the text alias month_end would otherwise stand for the Date column in WHERE.
      `SELECT toString(month_end) AS month_end, tier, customers, share FROM (SELECT month_end, tier, customers, share FROM ${this.db}.value_tier_shares_monthly ` +
        `WHERE month_end >= ${date(range.from)} AND toStartOfMonth(month_end) <= ${date(range.to)}) ORDER BY month_end, tier`,
    );
  }

  /** Predicted against realised value per first-purchase cohort, for one model version (at most MAX_SPAN.month cohorts: the latest). */
  valueCohorts(modelVersion: string): Promise<ValueCohort[]> {
    return this.rows(
      `SELECT cohort, customers, predicted_clv_total, predicted_clv_mean, realised_spend_text, realised_to_predicted FROM (` +
        `SELECT toString(cohort_month) AS cohort, customers, predicted_clv_total, predicted_clv_mean, toString(realised_spend) AS realised_spend_text, realised_to_predicted ` +
        `FROM ${this.db}.value_predicted_vs_realised_by_cohort WHERE model_version = ${quoteString(modelVersion)} ORDER BY cohort DESC LIMIT ${MAX_PERIODS.month}) ORDER BY cohort`,
    );
  }

  /** Customers per tier now: each customer in the tier of their latest tier change (by event time, then version), as value_tier_shares_monthly counts them. */
  tiersNow(): Promise<TierCount[]> {
    return this.rows(
      `SELECT tier, count() AS customers FROM (SELECT customer_id, argMax(to_tier, (occurred_at_ms, version)) AS tier FROM ${this.db}.value_tier_changes_unique GROUP BY customer_id) GROUP BY tier ORDER BY tier`,
    );
  }

  /** Every stage change of the customer, latest first (the raw table is ordered by customer, so this reads one customer's rows). */
  customerTransitions(customerId: string, limit: number): Promise<CustomerTransition[]> {
    return this.rows(
      `SELECT toString(version) AS version_text, any(from_stage) AS from_name, any(to_stage) AS to_name, any(reason_code) AS reason, ` +
        `toString(any(occurred_at_ms)) AS at_ms, any(trigger) AS trigger_name, any(risk_level) AS risk, any(rfm_segment) AS segment ` +
        `FROM ${this.db}.stage_transitions WHERE customer_id = ${quoteString(customerId)} GROUP BY transition_id, version ORDER BY version DESC LIMIT ${limit}`,
    );
  }

  /** The customer's latest events (copies collapsed by event id), latest first. */
  customerEvents(customerId: string, limit: number): Promise<CustomerEventRow[]> {
    return this.rows(
      `SELECT event_id, any(event_type) AS type, toString(any(occurred_at_ms)) AS at_ms, toString(any(amount)) AS amount_text, any(order_id) AS order_ref, ` +
        `any(multiIf(event_type = 'login', login_channel, event_type = 'support', concat(support_action, ' ', ticket_id), '')) AS detail ` +
        `FROM ${this.db}.events WHERE customer_id = ${quoteString(customerId)} GROUP BY event_id ORDER BY toInt64(at_ms) DESC, event_id LIMIT ${Math.min(limit, MAX_EVENTS)}`,
    );
  }
}
