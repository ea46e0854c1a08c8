-- Views analysts query directly. Definitions are part of the contract (README, "Cohort analytics").
-- All times are UTC. Every view counts by business id, so copies of a row never count twice.

-- One row per input event (copies collapsed by (customer_id, event_id)).
CREATE VIEW IF NOT EXISTS {{db}}.events_unique AS
SELECT
    customer_id, event_id,
    any(event_type) AS event_type, any(occurred_at) AS occurred_at, any(occurred_at_ms) AS occurred_at_ms,
    any(received_at_ms) AS received_at_ms, any(order_id) AS order_id, any(amount) AS amount,
    any(currency) AS currency, any(quantity) AS quantity, any(login_channel) AS login_channel,
    any(ticket_id) AS ticket_id, any(support_action) AS support_action, any(satisfaction) AS satisfaction
FROM {{db}}.events
GROUP BY customer_id, event_id;

-- One row per stage change (copies collapsed by transition_id).
CREATE VIEW IF NOT EXISTS {{db}}.stage_transitions_unique AS
SELECT
    customer_id, transition_id,
    any(version) AS version, any(from_stage) AS from_stage, any(to_stage) AS to_stage,
    any(reason_code) AS reason_code, any(occurred_at) AS occurred_at, any(occurred_at_ms) AS occurred_at_ms,
    any(trigger) AS trigger, any(event_id) AS event_id, any(risk_level) AS risk_level,
    any(purchase_count) AS purchase_count, any(monetary_total) AS monetary_total, any(rfm_segment) AS rfm_segment
FROM {{db}}.stage_transitions
GROUP BY customer_id, transition_id;

-- The latest stage and figures per customer (as of the customer's last stage change).
CREATE VIEW IF NOT EXISTS {{db}}.customer_latest AS
SELECT
    customer_id,
    max(version) AS latest_version,
    argMax(stage, version) AS stage, argMax(stage_since, version) AS stage_since,
    argMax(risk_level, version) AS risk_level, argMax(reason_code, version) AS reason_code,
    argMax(purchase_count, version) AS purchase_count, argMax(purchase_days, version) AS purchase_days,
    argMax(monetary_total, version) AS monetary_total, argMax(last_purchase_at, version) AS last_purchase_at,
    argMax(rfm_segment, version) AS rfm_segment
FROM {{db}}.customer_snapshots
GROUP BY customer_id;

-- Purchases and revenue per customer and UTC day: from the aggregate where no copies were written,
-- recomputed from the raw rows for the few (customer, day) pairs that hold copies.
CREATE VIEW IF NOT EXISTS {{db}}.customer_purchase_days AS
SELECT customer_id, day, purchases, revenue
FROM
(
    SELECT customer_id, day, countMerge(rows_written) AS written, uniqExactMerge(event_ids) AS purchases, sumMerge(revenue) AS revenue
    FROM {{db}}.purchase_days_agg
    GROUP BY customer_id, day
)
WHERE written = purchases
UNION ALL
SELECT customer_id, day, count() AS purchases, sum(amount) AS revenue
FROM
(
    SELECT customer_id, event_id, any(toDate(occurred_at)) AS day, any(amount) AS amount
    FROM {{db}}.events
    WHERE event_type = 'purchase' AND (customer_id, toDate(occurred_at)) IN
    (
        SELECT customer_id, day FROM {{db}}.purchase_days_agg
        GROUP BY customer_id, day
        HAVING countMerge(rows_written) != uniqExactMerge(event_ids)
    )
    GROUP BY customer_id, event_id
)
GROUP BY customer_id, day;

-- A customer's acquisition cohort: the UTC month (and ISO week, Monday) of the first purchase.
CREATE VIEW IF NOT EXISTS {{db}}.customer_cohorts AS
SELECT
    customer_id,
    min(day) AS first_purchase_day,
    toStartOfMonth(first_purchase_day) AS cohort_month,
    toMonday(first_purchase_day) AS cohort_week,
    sum(purchases) AS purchases,
    uniqExact(day) AS purchase_days,
    sum(revenue) AS revenue
FROM {{db}}.customer_purchase_days
GROUP BY customer_id;

-- Monthly retention: cohort = UTC month of the first purchase; period k = whole calendar months
-- since the cohort month, from 0 to the month of the latest purchase in the data; active_customers
-- = cohort customers with >= 1 purchase in period k; revenue = their purchases in period k.
CREATE VIEW IF NOT EXISTS {{db}}.cohort_retention_monthly AS
SELECT cohort_month, period, cohort_customers, active_customers, revenue
FROM
(
    SELECT cohort_month, cohort_customers, toUInt32(arrayJoin(range(toUInt32(dateDiff('month', cohort_month, horizon)) + 1))) AS period
    FROM
    (
        SELECT cohort_month, count() AS cohort_customers, any(horizon) AS horizon
        FROM {{db}}.customer_cohorts
        CROSS JOIN (SELECT toStartOfMonth(max(day)) AS horizon FROM {{db}}.customer_purchase_days) AS data_horizon
        GROUP BY cohort_month
    )
) AS periods
ANY LEFT JOIN
(
    SELECT cohort_month, toUInt32(dateDiff('month', cohort_month, toStartOfMonth(day))) AS period,
           uniqExact(customer_id) AS active_customers, sum(revenue) AS revenue
    FROM {{db}}.customer_purchase_days
    ALL INNER JOIN (SELECT customer_id, cohort_month FROM {{db}}.customer_cohorts) AS cohorts USING customer_id
    GROUP BY cohort_month, period
) AS activity USING (cohort_month, period);

-- Weekly retention: as monthly, with ISO weeks (Monday start); period k = whole weeks since the cohort week.
CREATE VIEW IF NOT EXISTS {{db}}.cohort_retention_weekly AS
SELECT cohort_week, period, cohort_customers, active_customers, revenue
FROM
(
    SELECT cohort_week, cohort_customers, toUInt32(arrayJoin(range(toUInt32(intDiv(toUInt32(horizon - cohort_week), 7)) + 1))) AS period
    FROM
    (
        SELECT cohort_week, count() AS cohort_customers, any(horizon) AS horizon
        FROM {{db}}.customer_cohorts
        CROSS JOIN (SELECT toMonday(max(day)) AS horizon FROM {{db}}.customer_purchase_days) AS data_horizon
        GROUP BY cohort_week
    )
) AS periods
ANY LEFT JOIN
(
    SELECT cohort_week, toUInt32(intDiv(toUInt32(toMonday(day) - cohort_week), 7)) AS period,
           uniqExact(customer_id) AS active_customers, sum(revenue) AS revenue
    FROM {{db}}.customer_purchase_days
    ALL INNER JOIN (SELECT customer_id, cohort_week FROM {{db}}.customer_cohorts) AS cohorts USING customer_id
    GROUP BY cohort_week, period
) AS activity USING (cohort_week, period);

-- LTV by cohort: revenue of the cohort from period 0 through period k (exact), and per cohort
-- customer (ltv: Decimal, 4 fraction digits, truncated).
CREATE VIEW IF NOT EXISTS {{db}}.cohort_ltv_monthly AS
SELECT cohort_month, period, cohort_customers, cumulative_revenue, cumulative_revenue / cohort_customers AS ltv
FROM
(
    SELECT cohort_month, through AS period, any(cohort_customers) AS cohort_customers, sum(revenue) AS cumulative_revenue
    FROM
    (
        SELECT cohort_month, cohort_customers, revenue, toUInt32(arrayJoin(arrayMap(i -> period + i, range(toUInt32(horizon_period - period + 1))))) AS through
        FROM {{db}}.cohort_retention_monthly
        ALL INNER JOIN (SELECT cohort_month, max(period) AS horizon_period FROM {{db}}.cohort_retention_monthly GROUP BY cohort_month) AS horizons USING cohort_month
    )
    GROUP BY cohort_month, through
);

-- Repurchase by cohort: customers of the cohort who bought on at least two distinct UTC days.
CREATE VIEW IF NOT EXISTS {{db}}.cohort_repurchase AS
SELECT cohort_month, count() AS cohort_customers, countIf(purchase_days >= 2) AS repeat_customers,
       repeat_customers / cohort_customers AS repurchase_rate
FROM {{db}}.customer_cohorts
GROUP BY cohort_month;

-- Repurchase per month: customers who bought in the month, and those of them whose first purchase
-- was in an earlier month (returning customers).
CREATE VIEW IF NOT EXISTS {{db}}.repurchase_monthly AS
SELECT month, uniqExact(customer_id) AS active_customers, uniqExactIf(customer_id, cohort_month < month) AS returning_customers,
       returning_customers / active_customers AS repurchase_rate
FROM
(
    SELECT customer_id, toStartOfMonth(day) AS month FROM {{db}}.customer_purchase_days
) AS purchase_months
ALL INNER JOIN (SELECT customer_id, cohort_month FROM {{db}}.customer_cohorts) AS cohorts USING customer_id
GROUP BY month;

-- Stage flows per UTC month: how many stage changes entered and left each stage.
CREATE VIEW IF NOT EXISTS {{db}}.stage_flow_monthly AS
SELECT month, stage, sum(entered) AS entered, sum(exited) AS exited
FROM
(
    SELECT toStartOfMonth(occurred_at) AS month, toString(to_stage) AS stage, count() AS entered, toUInt64(0) AS exited
    FROM {{db}}.stage_transitions_unique GROUP BY month, stage
    UNION ALL
    SELECT toStartOfMonth(occurred_at) AS month, toString(assumeNotNull(from_stage)) AS stage, toUInt64(0) AS entered, count() AS exited
    FROM {{db}}.stage_transitions_unique WHERE isNotNull(from_stage) GROUP BY month, stage
)
GROUP BY month, stage;

-- Stage distribution: customers in each stage at the end of each UTC month, for every month from the
-- first to the last stage change and every stage (0 where none).
CREATE VIEW IF NOT EXISTS {{db}}.stage_distribution_monthly AS
SELECT month, stage, customers
FROM
(
    SELECT stage, arraySort(groupArray((month, net))) AS series
    FROM
    (
        SELECT month, stage, net
        FROM
        (
            SELECT arrayJoin(arrayMap(i -> addMonths(first_month, i), range(toUInt32(dateDiff('month', first_month, last_month)) + 1))) AS month,
                   arrayJoin(['prospect', 'new', 'active', 'loyal', 'at_risk', 'churned', 'won_back']) AS stage
            FROM (SELECT toStartOfMonth(min(occurred_at)) AS first_month, toStartOfMonth(max(occurred_at)) AS last_month FROM {{db}}.stage_transitions)
        ) AS grid
        ANY LEFT JOIN (SELECT month, stage, toInt64(entered) - toInt64(exited) AS net FROM {{db}}.stage_flow_monthly) AS flows USING (month, stage)
    )
    GROUP BY stage
)
ARRAY JOIN arrayMap(x -> x.1, series) AS month, arrayCumSum(arrayMap(x -> x.2, series)) AS customers;

-- Transition funnel: stage changes from -> to per UTC month (from_stage null: the customer's first stage).
CREATE VIEW IF NOT EXISTS {{db}}.stage_transition_funnel_monthly AS
SELECT toStartOfMonth(occurred_at) AS month, from_stage, to_stage, count() AS transitions, uniqExact(customer_id) AS customers
FROM {{db}}.stage_transitions_unique
GROUP BY month, from_stage, to_stage;

-- Churn and win-back per UTC month. churn_rate = customers who entered churned in the month / customers
-- in new, active, loyal, at_risk or won_back at the start of the month; win_back_rate = customers who
-- entered won_back in the month / customers in churned at the start of the month (0 when the base is 0).
CREATE VIEW IF NOT EXISTS {{db}}.churn_winback_monthly AS
SELECT month, base_customers, churned, if(base_customers = 0, 0, churned / base_customers) AS churn_rate,
       churned_at_start, won_back, if(churned_at_start = 0, 0, won_back / churned_at_start) AS win_back_rate
FROM
(
    SELECT month, sumIf(entered, stage = 'churned') AS churned, sumIf(entered, stage = 'won_back') AS won_back
    FROM
    (
        SELECT month, stage, entered FROM {{db}}.stage_distribution_monthly
        ANY LEFT JOIN {{db}}.stage_flow_monthly USING (month, stage)
    )
    GROUP BY month
) AS entries
ANY LEFT JOIN
(
    SELECT addMonths(month, 1) AS month,
           toUInt64(sumIf(customers, stage IN ('new', 'active', 'loyal', 'at_risk', 'won_back'))) AS base_customers,
           toUInt64(sumIf(customers, stage = 'churned')) AS churned_at_start
    FROM {{db}}.stage_distribution_monthly
    GROUP BY month
) AS month_start USING month;
