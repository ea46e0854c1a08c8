-- Customer value (docs/value.md): the fitted BG/NBD + Gamma-Gamma models, the fit population's
-- predictions, the stream's value figures beside each stage change, and the value-tier changes the
-- processor publishes. Same dedupe design as 0001: Replacing tables keyed by the business id, views
-- that group by it.

-- One row per fitted model version (written by `clm model fit` and the modeler; a retried publish
-- writes the same row again). model_json is the whole ValueModel as the processors apply it.
CREATE TABLE IF NOT EXISTS {{db}}.value_model_fits
(
    model_version          String,            -- m-<calibration_end>-<8 hex>
    calibration_end        Date,              -- inclusive last day of the calibration data
    unit                   Enum8('day' = 1, 'week' = 2),
    fitted_at              DateTime,
    r                      Float64,
    alpha                  Float64,
    a                      Float64,
    b                      Float64,
    bgnbd_log_likelihood   Float64,
    bgnbd_customers        UInt32,
    p                      Float64,
    q                      Float64,
    v                      Float64,
    gg_log_likelihood      Float64,
    gg_customers           UInt32,
    high_value_clv         Float64,           -- tier cuts, currency units
    potential_clv          Float64,
    warning_monetary       Float64,
    clv_horizon_months     UInt16,            -- the CLV horizon the predictions used (a month is 365.25 / 12 days)
    clv_monthly_discount_rate Float64,
    purchase_horizon_days  UInt32,            -- the horizon of expected_purchases
    model_json             String
)
ENGINE = ReplacingMergeTree
ORDER BY model_version;

-- One row per model version and customer of its fit population, at the calibration end.
CREATE TABLE IF NOT EXISTS {{db}}.value_predictions
(
    model_version       String,
    customer_id         String,
    calibration_end     Date,
    x                   UInt32,               -- repeat purchase days
    tx                  Float64,              -- first to last purchase day, in units
    T                   Float64,              -- first purchase day to the calibration end, in units
    mean_spend          Float64,              -- mean spend of the repeat days, currency units
    monetary_total      Decimal(18, 4),       -- all purchases up to the calibration end
    p_alive             Float64,
    expected_purchases  Float64,
    expected_spend      Float64,
    predicted_clv       Float64,
    value_tier          Enum8('high_value' = 1, 'potential' = 2, 'base' = 3, 'warning' = 4)
)
ENGINE = ReplacingMergeTree
ORDER BY (model_version, customer_id);

-- The stream's value figures at each stage change (null: no model was active). 18.16 has no
-- ADD COLUMN IF NOT EXISTS: migrate runs such a statement only when system.columns lacks the column.
ALTER TABLE {{db}}.customer_snapshots ADD COLUMN IF NOT EXISTS p_alive Nullable(Float64);
ALTER TABLE {{db}}.customer_snapshots ADD COLUMN IF NOT EXISTS expected_purchases Nullable(Float64);
ALTER TABLE {{db}}.customer_snapshots ADD COLUMN IF NOT EXISTS predicted_clv Nullable(Float64);
ALTER TABLE {{db}}.customer_snapshots ADD COLUMN IF NOT EXISTS value_tier Nullable(String);
ALTER TABLE {{db}}.customer_snapshots ADD COLUMN IF NOT EXISTS value_model_version Nullable(String);
ALTER TABLE {{db}}.stage_transitions ADD COLUMN IF NOT EXISTS p_alive Nullable(Float64);
ALTER TABLE {{db}}.stage_transitions ADD COLUMN IF NOT EXISTS expected_purchases Nullable(Float64);
ALTER TABLE {{db}}.stage_transitions ADD COLUMN IF NOT EXISTS predicted_clv Nullable(Float64);
ALTER TABLE {{db}}.stage_transitions ADD COLUMN IF NOT EXISTS value_tier Nullable(String);
ALTER TABLE {{db}}.stage_transitions ADD COLUMN IF NOT EXISTS value_model_version Nullable(String);

-- Value-tier changes the processor publishes (change_id is the dedupe key).
CREATE TABLE IF NOT EXISTS {{db}}.value_tier_changes
(
    change_id           String,
    customer_id         String,
    version             UInt64,
    from_tier           Nullable(String),     -- null: the customer's first tier
    to_tier             String,
    reason              String,
    trigger             Enum8('event' = 1, 'timer' = 2, 'refit' = 3),
    occurred_at         DateTime,
    occurred_at_ms      Int64,
    event_id            Nullable(String),
    model_version       String,
    p_alive             Float64,
    expected_purchases  Float64,
    predicted_clv       Float64,
    monetary_total      Decimal(18, 4),
    kafka_partition     UInt16,
    kafka_offset        UInt64,
    written_at          DateTime
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (customer_id, occurred_at, change_id);

-- Views are created IF NOT EXISTS, so a view that gains columns is dropped (DROP TABLE: 18.16 has no DROP VIEW) and created again here.
-- Concurrent migrations (sinks started together) stay safe: each run ends with its own CREATE.
DROP TABLE IF EXISTS {{db}}.stage_transitions_unique;
CREATE VIEW IF NOT EXISTS {{db}}.stage_transitions_unique AS
SELECT
    customer_id, transition_id,
    any(version) AS version, any(from_stage) AS from_stage, any(to_stage) AS to_stage,
    any(reason_code) AS reason_code, any(occurred_at) AS occurred_at, any(occurred_at_ms) AS occurred_at_ms,
    any(trigger) AS trigger, any(event_id) AS event_id, any(risk_level) AS risk_level,
    any(purchase_count) AS purchase_count, any(monetary_total) AS monetary_total, any(rfm_segment) AS rfm_segment,
    any(p_alive) AS p_alive, any(expected_purchases) AS expected_purchases, any(predicted_clv) AS predicted_clv,
    any(value_tier) AS value_tier, any(value_model_version) AS value_model_version
FROM {{db}}.stage_transitions
GROUP BY customer_id, transition_id;

DROP TABLE IF EXISTS {{db}}.customer_latest;
CREATE VIEW IF NOT EXISTS {{db}}.customer_latest AS
SELECT
    customer_id,
    max(version) AS latest_version,
    argMax(stage, version) AS stage, argMax(stage_since, version) AS stage_since,
    argMax(risk_level, version) AS risk_level, argMax(reason_code, version) AS reason_code,
    argMax(purchase_count, version) AS purchase_count, argMax(purchase_days, version) AS purchase_days,
    argMax(monetary_total, version) AS monetary_total, argMax(last_purchase_at, version) AS last_purchase_at,
    argMax(rfm_segment, version) AS rfm_segment,
    argMax(p_alive, version) AS p_alive, argMax(expected_purchases, version) AS expected_purchases,
    argMax(predicted_clv, version) AS predicted_clv, argMax(value_tier, version) AS value_tier,
    argMax(value_model_version, version) AS value_model_version
FROM {{db}}.customer_snapshots
GROUP BY customer_id;

-- One row per tier change (copies collapsed by change_id).
CREATE VIEW IF NOT EXISTS {{db}}.value_tier_changes_unique AS
SELECT
    customer_id, change_id,
    any(version) AS version, any(from_tier) AS from_tier, any(to_tier) AS to_tier, any(reason) AS reason,
    any(trigger) AS trigger, any(occurred_at) AS occurred_at, any(occurred_at_ms) AS occurred_at_ms,
    any(event_id) AS event_id, any(model_version) AS model_version, any(p_alive) AS p_alive,
    any(expected_purchases) AS expected_purchases, any(predicted_clv) AS predicted_clv, any(monetary_total) AS monetary_total
FROM {{db}}.value_tier_changes
GROUP BY customer_id, change_id;

-- One row per model version (copies of a publish collapsed).
CREATE VIEW IF NOT EXISTS {{db}}.value_model_fits_unique AS
SELECT
    model_version,
    any(calibration_end) AS calibration_end, any(unit) AS unit, any(fitted_at) AS fitted_at,
    any(r) AS r, any(alpha) AS alpha, any(a) AS a, any(b) AS b,
    any(bgnbd_log_likelihood) AS bgnbd_log_likelihood, any(bgnbd_customers) AS bgnbd_customers,
    any(p) AS p, any(q) AS q, any(v) AS v, any(gg_log_likelihood) AS gg_log_likelihood, any(gg_customers) AS gg_customers,
    any(high_value_clv) AS high_value_clv, any(potential_clv) AS potential_clv, any(warning_monetary) AS warning_monetary,
    any(clv_horizon_months) AS clv_horizon_months, any(clv_monthly_discount_rate) AS clv_monthly_discount_rate, any(purchase_horizon_days) AS purchase_horizon_days,
    any(model_json) AS model_json
FROM {{db}}.value_model_fits
GROUP BY model_version;

-- One row per model version and customer (copies of a publish collapsed).
CREATE VIEW IF NOT EXISTS {{db}}.value_predictions_unique AS
SELECT
    model_version, customer_id,
    any(calibration_end) AS calibration_end, any(x) AS x, any(tx) AS tx, any(T) AS T, any(mean_spend) AS mean_spend,
    any(monetary_total) AS monetary_total, any(p_alive) AS p_alive, any(expected_purchases) AS expected_purchases,
    any(expected_spend) AS expected_spend, any(predicted_clv) AS predicted_clv, any(value_tier) AS value_tier
FROM {{db}}.value_predictions
GROUP BY model_version, customer_id;

-- Tier shares at each UTC month end, from the first to the last month with a tier change: each
-- customer counts in the tier of their latest tier change at or before the month end (latest by
-- event time, then version); customers without a tier change yet are not counted. share = customers
-- of the tier / customers with a tier at that month end.
CREATE VIEW IF NOT EXISTS {{db}}.value_tier_shares_monthly AS
SELECT month_end, tier, customers, customers / tiered_customers AS share
FROM
(
    SELECT month_end, tier, count() AS customers
    FROM
    (
        SELECT month_end, customer_id, argMax(to_tier, (occurred_at_ms, version)) AS tier
        FROM
        (
            SELECT customer_id, to_tier, occurred_at_ms, version,
                   addDays(addMonths(arrayJoin(arrayMap(i -> addMonths(change_month, i), range(toUInt32(dateDiff('month', change_month, last_month)) + 1))), 1), -1) AS month_end
            FROM
            (
                SELECT customer_id, to_tier, occurred_at_ms, version, toStartOfMonth(occurred_at) AS change_month, last_month
                FROM {{db}}.value_tier_changes_unique
                CROSS JOIN (SELECT toStartOfMonth(max(occurred_at)) AS last_month FROM {{db}}.value_tier_changes) AS horizon
            )
        )
        GROUP BY month_end, customer_id
    )
    GROUP BY month_end, tier
) AS shares
ALL INNER JOIN
(
    SELECT month_end, count() AS tiered_customers
    FROM
    (
        SELECT DISTINCT customer_id,
               addDays(addMonths(arrayJoin(arrayMap(i -> addMonths(first_month, i), range(toUInt32(dateDiff('month', first_month, last_month)) + 1))), 1), -1) AS month_end
        FROM
        (
            SELECT customer_id, toStartOfMonth(min(occurred_at)) AS first_month, any(last_month) AS last_month
            FROM {{db}}.value_tier_changes_unique
            CROSS JOIN (SELECT toStartOfMonth(max(occurred_at)) AS last_month FROM {{db}}.value_tier_changes) AS horizon
            GROUP BY customer_id
        )
    )
    GROUP BY month_end
) AS totals USING month_end;

-- Predicted against realised value per model version and acquisition cohort (UTC month of the
-- customer's first purchase): customers of the fit population, their predicted CLV (total and mean,
-- value_predictions), and what they really spent in the CLV horizon after the calibration end —
-- purchase days d with calibration_end < d <= calibration_end + floor(clv_horizon_months * 365.25 / 12)
-- days, from the deduplicated purchases (customer_purchase_days). realised_to_predicted =
-- realised_spend / predicted_clv_total (0 when nothing was predicted). Realised spend covers only
-- the days the data holds: a horizon reaching past the last event is incomplete.
CREATE VIEW IF NOT EXISTS {{db}}.value_predicted_vs_realised_by_cohort AS
SELECT model_version, cohort_month, customers, predicted_clv_total, predicted_clv_mean, realised_spend,
       if(predicted_clv_total = 0, 0, toFloat64(realised_spend) / predicted_clv_total) AS realised_to_predicted
FROM
(
    SELECT model_version, cohort_month, count() AS customers, sum(predicted_clv) AS predicted_clv_total,
           avg(predicted_clv) AS predicted_clv_mean, sum(realised) AS realised_spend
    FROM
    (
        SELECT model_version, customer_id, predicted_clv, cohort_month, realised
        FROM
        (
            SELECT model_version, customer_id, predicted_clv, cohort_month
            FROM {{db}}.value_predictions_unique
            ALL INNER JOIN (SELECT customer_id, cohort_month FROM {{db}}.customer_cohorts) AS cohorts USING customer_id
        ) AS predicted
        ANY LEFT JOIN
        (
            SELECT model_version, customer_id, sum(revenue) AS realised
            FROM
            (
                SELECT customer_id, day, revenue, model_version, window_start, window_end
                FROM {{db}}.customer_purchase_days
                ALL INNER JOIN
                (
                    SELECT customer_id, model_version, calibration_end AS window_start, window_end
                    FROM {{db}}.value_predictions_unique
                    ALL INNER JOIN
                    (
                        SELECT model_version, addDays(calibration_end, toUInt32(floor(clv_horizon_months * 365.25 / 12))) AS window_end
                        FROM {{db}}.value_model_fits_unique
                    ) AS fits USING model_version
                ) AS windows USING customer_id
            )
            WHERE day > window_start AND day <= window_end
            GROUP BY model_version, customer_id
        ) AS realised_spend USING (model_version, customer_id)
    )
    GROUP BY model_version, cohort_month
);
