-- Raw tables written by the sink. Dedupe design (docs/sink.md): delivery is at least once, so a row
-- may be written more than once (Kafka redelivery after a crash, a client retry publishing an event
-- twice, a stage change published again by the outbox). Every table is a ReplacingMergeTree whose
-- sorting key ends with the business id, so background merges collapse copies; every view counts
-- by business id (GROUP BY … id), so queries are exact before merges happen too. No FINAL needed.

CREATE TABLE IF NOT EXISTS {{db}}.events
(
    event_id        String,
    customer_id     String,
    event_type      Enum8('purchase' = 1, 'login' = 2, 'support' = 3),
    occurred_at     DateTime,                 -- UTC, whole seconds (18.16 has no DateTime64)
    occurred_at_ms  Int64,                    -- exact event time, epoch milliseconds
    received_at_ms  Nullable(Int64),          -- when ingest accepted it; null if produced otherwise
    order_id        String,                   -- purchase only, else ''
    amount          Decimal(18, 4),           -- purchase only, exact, reporting currency; else 0
    currency        String,                   -- purchase only, else ''
    quantity        Nullable(Int32),
    login_channel   String,                   -- login only: web, app, store, other or ''
    ticket_id       String,                   -- support only, else ''
    support_action  String,                   -- support only: opened, resolved, escalated
    satisfaction    Nullable(UInt8),          -- support only, 1..5
    kafka_partition UInt16,
    kafka_offset    UInt64,
    written_at      DateTime
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (customer_id, occurred_at, event_id);

CREATE TABLE IF NOT EXISTS {{db}}.stage_transitions
(
    transition_id      String,                -- customerId:version, the dedupe key
    customer_id        String,
    version            UInt64,
    from_stage         Nullable(Enum8('prospect' = 1, 'new' = 2, 'active' = 3, 'loyal' = 4, 'at_risk' = 5, 'churned' = 6, 'won_back' = 7)),
    to_stage           Enum8('prospect' = 1, 'new' = 2, 'active' = 3, 'loyal' = 4, 'at_risk' = 5, 'churned' = 6, 'won_back' = 7),
    reason_code        String,
    reason_keys        Array(String),         -- reasonNumbers as two parallel arrays (18.16 has no Map)
    reason_values      Array(Float64),
    occurred_at        DateTime,
    occurred_at_ms     Int64,
    trigger            Enum8('event' = 1, 'timer' = 2),
    event_id           Nullable(String),
    risk_level         Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3),
    purchase_count     UInt32,
    purchase_days      UInt32,
    monetary_total     Decimal(18, 4),
    first_purchase_at  Nullable(DateTime),
    last_purchase_at   Nullable(DateTime),
    interaction_score  Float64,
    tenure_days        Nullable(Int32),
    rfm_recency        UInt8,                 -- 0 when no RFM boundaries were known
    rfm_frequency      UInt8,
    rfm_monetary       UInt8,
    rfm_segment        String,
    kafka_partition    UInt16,
    kafka_offset       UInt64,
    written_at         DateTime
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (customer_id, occurred_at, transition_id);

-- Latest known state per customer: one row per stage change, the highest version wins on merge.
-- Read it through customer_latest (argMax by version), which is exact before merges.
CREATE TABLE IF NOT EXISTS {{db}}.customer_snapshots
(
    customer_id        String,
    version            UInt64,
    stage              Enum8('prospect' = 1, 'new' = 2, 'active' = 3, 'loyal' = 4, 'at_risk' = 5, 'churned' = 6, 'won_back' = 7),
    stage_since        DateTime,
    risk_level         Enum8('none' = 0, 'low' = 1, 'medium' = 2, 'high' = 3),
    reason_code        String,
    purchase_count     UInt32,
    purchase_days      UInt32,
    monetary_total     Decimal(18, 4),
    first_purchase_at  Nullable(DateTime),
    last_purchase_at   Nullable(DateTime),
    interaction_score  Float64,
    rfm_segment        String,
    written_at         DateTime
)
ENGINE = ReplacingMergeTree(version)
ORDER BY customer_id;
