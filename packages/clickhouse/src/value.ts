import type { ClickHouseClient } from "@clickhouse/client";
import type { ClvOptions, HoldoutActual, ValueModel, ValuePrediction, ValueSummary, ValueTier, ValueUnit } from "@clm/core";
import { insertLines, queryRows, quoteString } from "./client.ts";
import { dateTimeSeconds, Decimal4, serializeRow } from "./rows.ts";

/**
 * The customer-value model's reads and writes (migration 0004, docs/value.md). The model inputs
 * are computed in ClickHouse over the deduplicated purchases (customer_purchase_days: one row per
 * customer and UTC day with a purchase, copies never counted twice); the MLE runs in TypeScript
 * (@clm/core). No server-side query parameters (18.16): dates are checked, then quoted.
 */

/** Days per model unit. */
export const UNIT_DAYS: Readonly<Record<ValueUnit, number>> = { day: 1, week: 7 };

/** A customer's model inputs at the calibration end, with the customer id and the realised spend. */
export interface CustomerValueSummary extends ValueSummary {
  readonly customerId: string;
  /** Every purchase up to the calibration end (first day included), currency units. */
  readonly monetaryTotal: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A `YYYY-MM-DD` that is a real calendar day, as a ClickHouse Date literal. */
export function dateLiteral(day: string): string {
  if (!DATE.test(day) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) throw new RangeError(`${JSON.stringify(day)} is not a YYYY-MM-DD day`);
  return `toDate(${quoteString(day)})`;
}

function identifier(database: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new RangeError(`database name ${JSON.stringify(database)} is not an identifier`);
  return database;
}

/**
 * The summary query: per customer, over the purchase days on or before the calibration end,
 *   x = distinct purchase days − 1, tx = (last day − first day) / unit, T = (calibration end − first day) / unit,
 *   meanSpend = (spend of all days − spend of the first day) / x, 0 when x = 0.
 */
export function valueSummariesQuery(database: string, calibrationEnd: string, unit: ValueUnit): string {
  const db = identifier(database);
  const end = dateLiteral(calibrationEnd);
  const unitDays = UNIT_DAYS[unit];
  return `SELECT customer_id,
       toUInt32(count() - 1) AS x,
       toFloat64(max(day) - min(day)) / ${unitDays} AS tx,
       toFloat64(${end} - min(day)) / ${unitDays} AS T,
       if(x = 0, 0, toFloat64(sum(revenue) - argMin(revenue, day)) / x) AS mean_spend,
       toFloat64(sum(revenue)) AS monetary_total
FROM
(
    SELECT customer_id, day, sum(revenue) AS revenue
    FROM ${db}.customer_purchase_days
    WHERE day <= ${end}
    GROUP BY customer_id, day
)
GROUP BY customer_id
ORDER BY customer_id`;
}

/** The model inputs of every customer with a purchase on or before `calibrationEnd`, from ClickHouse. */
export async function valueSummaries(client: ClickHouseClient, options: { database: string; calibrationEnd: string; unit: ValueUnit }): Promise<CustomerValueSummary[]> {
  const rows = await queryRows<{ customer_id: string; x: number; tx: number; T: number; mean_spend: number; monetary_total: number }>(
    client,
    valueSummariesQuery(options.database, options.calibrationEnd, options.unit),
  );
  return rows.map((row) => ({
    customerId: row.customer_id,
    x: Number(row.x),
    tx: Number(row.tx),
    T: Number(row.T),
    meanSpend: Number(row.mean_spend),
    monetaryTotal: Number(row.monetary_total),
  }));
}

/**
 * What each calibration customer (a purchase on or before calibrationEnd) really did in the hold-out
 * (calibrationEnd, holdoutEnd]: purchase days and spend there (0 and 0 when they did not buy again)
 * — @clm/core's holdoutActuals, computed in ClickHouse. Customers first seen in the hold-out are absent.
 */
export async function holdoutActualsFromClickHouse(
  client: ClickHouseClient,
  options: { database: string; calibrationEnd: string; holdoutEnd: string },
): Promise<Map<string, HoldoutActual>> {
  const db = identifier(options.database);
  const end = dateLiteral(options.calibrationEnd);
  const rows = await queryRows<{ customer_id: string; purchases: string; spend: number }>(
    client,
    `SELECT customer_id, purchases, spend
     FROM (SELECT DISTINCT customer_id FROM ${db}.customer_purchase_days WHERE day <= ${end}) AS calibration
     ANY LEFT JOIN
     (
         SELECT customer_id, uniqExact(day) AS purchases, toFloat64(sum(revenue)) AS spend
         FROM ${db}.customer_purchase_days
         WHERE day > ${end} AND day <= ${dateLiteral(options.holdoutEnd)}
         GROUP BY customer_id
     ) AS holdout USING customer_id
     ORDER BY customer_id`,
  );
  return new Map(rows.map((row) => [row.customer_id, { purchases: Number(row.purchases), spend: Number(row.spend) }]));
}

/** How the model's predictions were made: stored with the fit, so the views know the CLV horizon. */
export interface PredictionSettings {
  readonly purchaseHorizonDays: number;
  readonly clv: ClvOptions;
}

/** A value_predictions row. */
export interface CustomerPrediction extends ValuePrediction {
  readonly summary: CustomerValueSummary;
  readonly tier: ValueTier;
}

/** Money in currency units → E4 (the Decimal(18, 4) columns), rounded to the nearest. */
const e4 = (amount: number) => Math.round(amount * 10_000);

/** Writes one fitted model to value_model_fits (a repeated write is collapsed by model_version). */
export async function insertValueModelFit(client: ClickHouseClient, database: string, model: ValueModel, settings: PredictionSettings): Promise<void> {
  const row = serializeRow({
    model_version: model.version,
    calibration_end: model.calibrationEnd,
    unit: model.unit,
    fitted_at: dateTimeSeconds(Date.parse(model.fittedAt)),
    r: model.bgnbd.r,
    alpha: model.bgnbd.alpha,
    a: model.bgnbd.a,
    b: model.bgnbd.b,
    bgnbd_log_likelihood: model.bgnbd.logLikelihood,
    bgnbd_customers: model.bgnbd.customers,
    p: model.gammaGamma.p,
    q: model.gammaGamma.q,
    v: model.gammaGamma.v,
    gg_log_likelihood: model.gammaGamma.logLikelihood,
    gg_customers: model.gammaGamma.customers,
    high_value_clv: model.tierCuts.highValueClv,
    potential_clv: model.tierCuts.potentialClv,
    warning_monetary: model.tierCuts.warningMonetary,
    clv_horizon_months: settings.clv.horizonMonths,
    clv_monthly_discount_rate: settings.clv.monthlyDiscountRate,
    purchase_horizon_days: settings.purchaseHorizonDays,
    model_json: JSON.stringify(model),
  });
  await insertLines(client, `${identifier(database)}.value_model_fits`, [row]);
}

/** Writes the fit population's predictions of one model version, in inserts of at most `chunk` rows. */
export async function insertValuePredictions(
  client: ClickHouseClient,
  database: string,
  model: Pick<ValueModel, "version" | "calibrationEnd">,
  predictions: readonly CustomerPrediction[],
  chunk = 100_000,
): Promise<void> {
  const table = `${identifier(database)}.value_predictions`;
  for (let start = 0; start < predictions.length; start += chunk) {
    const lines = predictions.slice(start, start + chunk).map((prediction) =>
      serializeRow({
        model_version: model.version,
        customer_id: prediction.summary.customerId,
        calibration_end: model.calibrationEnd,
        x: prediction.summary.x,
        tx: prediction.summary.tx,
        T: prediction.summary.T,
        mean_spend: prediction.summary.meanSpend,
        monetary_total: new Decimal4(e4(prediction.summary.monetaryTotal)),
        p_alive: prediction.pAlive,
        expected_purchases: prediction.expectedPurchases,
        expected_spend: prediction.expectedSpend,
        predicted_clv: prediction.clv,
        value_tier: prediction.tier,
      }),
    );
    await insertLines(client, table, lines);
  }
}

/** A stored fit: the model as published, with the settings its predictions used. */
export interface StoredValueModelFit {
  readonly model: ValueModel;
  readonly settings: PredictionSettings;
}

/** Every stored fit, newest calibration end first (then newest fit). */
export async function readValueModelFits(client: ClickHouseClient, database: string): Promise<StoredValueModelFit[]> {
  const rows = await queryRows<{ model_json: string; clv_horizon_months: number; clv_monthly_discount_rate: number; purchase_horizon_days: number }>(
    client,
    `SELECT model_json, clv_horizon_months, clv_monthly_discount_rate, purchase_horizon_days FROM ${identifier(database)}.value_model_fits_unique ORDER BY calibration_end DESC, fitted_at DESC, model_version`,
  );
  return rows.map((row) => {
    const model = JSON.parse(row.model_json) as ValueModel;
    const clv = { horizonMonths: Number(row.clv_horizon_months), monthlyDiscountRate: Number(row.clv_monthly_discount_rate) };
    return { model, settings: { purchaseHorizonDays: Number(row.purchase_horizon_days), clv } };
  });
}

/** A value_predictions row as read back. */
export interface StoredPrediction {
  readonly customerId: string;
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly meanSpend: number;
  readonly monetaryTotal: number;
  readonly pAlive: number;
  readonly expectedPurchases: number;
  readonly expectedSpend: number;
  readonly clv: number;
  readonly tier: ValueTier;
}

/** The predictions of one model version, by customer id. */
export async function readValuePredictions(client: ClickHouseClient, database: string, version: string): Promise<StoredPrediction[]> {
  const rows = await queryRows<Record<string, string | number>>(
    client,
    `SELECT customer_id, x, tx, T, mean_spend, toFloat64(monetary_total) AS monetary_total, p_alive, expected_purchases, expected_spend, predicted_clv, toString(value_tier) AS value_tier
     FROM ${identifier(database)}.value_predictions_unique WHERE model_version = ${quoteString(version)} ORDER BY customer_id`,
  );
  return rows.map((row) => ({
    customerId: String(row.customer_id),
    x: Number(row.x),
    tx: Number(row.tx),
    T: Number(row.T),
    meanSpend: Number(row.mean_spend),
    monetaryTotal: Number(row.monetary_total),
    pAlive: Number(row.p_alive),
    expectedPurchases: Number(row.expected_purchases),
    expectedSpend: Number(row.expected_spend),
    clv: Number(row.predicted_clv),
    tier: String(row.value_tier) as ValueTier,
  }));
}
