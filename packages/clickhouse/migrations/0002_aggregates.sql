-- Aggregates ClickHouse maintains itself on every insert into events. Copies of a purchase would
-- be summed twice by sumState, so each (customer, day) also keeps how many rows were written and
-- how many distinct event ids: where they differ the views recompute that day from the raw rows.
-- Copies are rare, so queries read the small aggregate almost everywhere and stay exact.

CREATE TABLE IF NOT EXISTS {{db}}.purchase_days_agg
(
    customer_id  String,
    day          Date,
    rows_written AggregateFunction(count),
    event_ids    AggregateFunction(uniqExact, String),
    revenue      AggregateFunction(sum, Decimal(18, 4))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (customer_id, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.purchase_days_mv TO {{db}}.purchase_days_agg AS
SELECT
    customer_id,
    toDate(occurred_at) AS day,
    countState() AS rows_written,
    uniqExactState(event_id) AS event_ids,
    sumState(amount) AS revenue
FROM {{db}}.events
WHERE event_type = 'purchase'
GROUP BY customer_id, day;
