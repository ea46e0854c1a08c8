-- The cluster text of views of ../0003_views.sql (a sharded database, CLICKHOUSE_CLUSTER set;
-- docs/sink.md, "Sharded ClickHouse"). Each statement here replaces the statement of the same view
-- there; every other statement of 0003 runs on the shards as it is, over the Distributed tables.

-- customer_purchase_days: as in 0003, but the copy check is GLOBAL IN. Its subquery reads the
-- Distributed purchase_days_agg inside a query over the Distributed events, which each shard runs:
-- a plain IN would read every shard again from every shard, and ClickHouse refuses it
-- (distributed_product_mode = 'deny'; the analysts' read-only user can set no other). GLOBAL IN
-- computes the (customer, day) pairs that hold copies once, over all shards, and sends them along,
-- so the view is right wherever a customer's rows are, also after a shard was added.
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
    WHERE event_type = 'purchase' AND (customer_id, toDate(occurred_at)) GLOBAL IN
    (
        SELECT customer_id, day FROM {{db}}.purchase_days_agg
        GROUP BY customer_id, day
        HAVING countMerge(rows_written) != uniqExactMerge(event_ids)
    )
    GROUP BY customer_id, event_id
)
GROUP BY customer_id, day;
