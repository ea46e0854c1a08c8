-- Customers entering and leaving audiences, as the processor publishes them to clm.audience-changes.v1
-- (change_id is the dedupe key).
CREATE TABLE IF NOT EXISTS {{db}}.audience_changes
(
    change_id           String,
    customer_id         String,
    version             UInt64,
    audience_id         String,
    audience_version    Nullable(UInt64),     -- null: the audience was deleted
    definitions_version String,
    change              Enum8('entered' = 1, 'left' = 2),
    trigger             Enum8('event' = 1, 'timer' = 2, 'definition' = 3),
    occurred_at         DateTime,
    occurred_at_ms      Int64,
    event_id            Nullable(String),
    kafka_partition     UInt16,
    kafka_offset        UInt64,
    written_at          DateTime
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (audience_id, customer_id, occurred_at, change_id);

-- One row per audience change (copies collapsed by change_id).
CREATE VIEW IF NOT EXISTS {{db}}.audience_changes_unique AS
SELECT
    audience_id, customer_id, change_id,
    any(version) AS version, any(audience_version) AS audience_version, any(definitions_version) AS definitions_version,
    any(change) AS change, any(trigger) AS trigger, any(occurred_at) AS occurred_at, any(occurred_at_ms) AS occurred_at_ms,
    any(event_id) AS event_id
FROM {{db}}.audience_changes
GROUP BY audience_id, customer_id, change_id;
