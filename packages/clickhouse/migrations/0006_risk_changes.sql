-- Churn-risk level changes within a stage, as the processor publishes them to clm.risk-changes.v1
-- (change_id is the dedupe key; a change of level that comes with a stage change is in stage_transitions.risk_level).
CREATE TABLE IF NOT EXISTS {{db}}.risk_changes
(
    change_id           String,
    customer_id         String,
    version             UInt64,
    from_level          Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3),
    to_level            Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3),
    stage               String,
    reason              String,
    gap_days            Float64,
    warn_after_days     Float64,
    churn_after_days    Float64,
    trigger             Enum8('event' = 1, 'timer' = 2),
    occurred_at         DateTime,
    occurred_at_ms      Int64,
    event_id            Nullable(String),
    last_purchase_at_ms Nullable(Int64),
    kafka_partition     UInt16,
    kafka_offset        UInt64,
    written_at          DateTime
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (customer_id, occurred_at, change_id);

-- One row per risk change (copies collapsed by change_id).
CREATE VIEW IF NOT EXISTS {{db}}.risk_changes_unique AS
SELECT
    customer_id, change_id,
    any(version) AS version, any(from_level) AS from_level, any(to_level) AS to_level, any(stage) AS stage,
    any(reason) AS reason, any(gap_days) AS gap_days, any(warn_after_days) AS warn_after_days,
    any(churn_after_days) AS churn_after_days, any(trigger) AS trigger, any(occurred_at) AS occurred_at,
    any(occurred_at_ms) AS occurred_at_ms, any(event_id) AS event_id
FROM {{db}}.risk_changes
GROUP BY customer_id, change_id;
