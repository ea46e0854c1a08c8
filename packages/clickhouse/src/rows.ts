import type { AudienceChangeRecord, CustomerEventRecord, RiskChangeRecord, StageChangeRecord, ValueTierChangeRecord } from "@clm/contracts";
import { formatE4 } from "@clm/core";

/**
 * Kafka records → ClickHouse rows (column names as in ../migrations): the write side of the tables
 * the DDL defines, kept beside it so a new column and its value change together. Pure.
 * Money stays exact: amounts are E4 integers until `serializeRow` writes them as
 * decimal text (ClickHouse parses a JSON number into Decimal without going through a float).
 */

/** An exact amount with 4 fraction digits, written as a bare JSON number. */
export class Decimal4 {
  constructor(readonly e4: number) {}
}

export type Cell = string | number | null | Decimal4 | readonly string[] | readonly number[];
export type Row = Record<string, Cell>;

export interface KafkaPosition {
  partition: number;
  offset: string;
}

/** The last second a ClickHouse DateTime holds (2106-02-07T06:28:15Z): it is a UInt32, and 18.16 wraps a later one around (a 9999 date reads back as 2105). */
export const MAX_DATETIME_SECONDS = 2 ** 32 - 1;

/**
 * A ClickHouse DateTime as epoch seconds: JSONEachRow reads a number as a Unix time on 18.16 and on
 * current versions alike, with no time-zone question and no date formatting on the hot path. Clamped
 * to what a DateTime holds; the `*_ms` columns keep the exact instant.
 */
export function dateTimeSeconds(epochMs: number): number {
  return Math.min(MAX_DATETIME_SECONDS, Math.max(0, Math.floor(epochMs / 1000)));
}

export function eventRow(record: CustomerEventRecord, position: KafkaPosition, writtenAt: number): Row {
  const row: Row = {
    event_id: record.eventId,
    customer_id: record.customerId,
    event_type: "purchase",
    occurred_at: dateTimeSeconds(record.occurredAt),
    occurred_at_ms: record.occurredAt,
    received_at_ms: record.receivedAt,
    order_id: "",
    amount: new Decimal4(0),
    currency: "",
    quantity: null,
    login_channel: "",
    ticket_id: "",
    support_action: "",
    satisfaction: null,
    kafka_partition: position.partition,
    kafka_offset: Number(position.offset),
    written_at: dateTimeSeconds(writtenAt),
  };
  const properties = record.properties;
  if ("clm.v1.Purchase" in properties) {
    const purchase = properties["clm.v1.Purchase"];
    row.order_id = purchase.orderId;
    row.amount = new Decimal4(purchase.amount);
    row.currency = purchase.currency;
    row.quantity = purchase.quantity;
  } else if ("clm.v1.Login" in properties) {
    row.event_type = "login";
    row.login_channel = properties["clm.v1.Login"].channel ?? "";
  } else {
    const support = properties["clm.v1.Support"];
    row.event_type = "support";
    row.ticket_id = support.ticketId;
    row.support_action = support.action;
    row.satisfaction = support.satisfaction;
  }
  return row;
}

/** The customer's figures at a stage change: the columns stage_transitions and customer_snapshots share. */
function figureColumns(snapshot: StageChangeRecord["snapshot"]): Row {
  return {
    purchase_count: snapshot.purchaseCount,
    purchase_days: snapshot.purchaseDays,
    monetary_total: new Decimal4(snapshot.monetaryTotal),
    first_purchase_at: snapshot.firstPurchaseAt === null ? null : dateTimeSeconds(snapshot.firstPurchaseAt),
    last_purchase_at: snapshot.lastPurchaseAt === null ? null : dateTimeSeconds(snapshot.lastPurchaseAt),
    interaction_score: snapshot.interactionScore,
  };
}

export function transitionRow(record: StageChangeRecord, position: KafkaPosition, writtenAt: number): Row {
  const { snapshot } = record;
  const reasonKeys = Object.keys(record.reasonNumbers).sort();
  return {
    transition_id: record.transitionId,
    customer_id: record.customerId,
    version: record.version,
    from_stage: record.fromStage,
    to_stage: record.toStage,
    reason_code: record.reasonCode,
    reason_keys: reasonKeys,
    reason_values: reasonKeys.map((key) => record.reasonNumbers[key]!),
    occurred_at: dateTimeSeconds(record.occurredAt),
    occurred_at_ms: record.occurredAt,
    trigger: record.trigger,
    event_id: record.eventId,
    risk_level: record.riskLevel,
    ...figureColumns(snapshot),
    tenure_days: snapshot.tenureDays,
    rfm_recency: snapshot.rfm?.recency ?? 0,
    rfm_frequency: snapshot.rfm?.frequency ?? 0,
    rfm_monetary: snapshot.rfm?.monetary ?? 0,
    rfm_segment: snapshot.rfm?.segment ?? "",
    ...valueColumns(snapshot),
    kafka_partition: position.partition,
    kafka_offset: Number(position.offset),
    written_at: dateTimeSeconds(writtenAt),
  };
}

export function snapshotRow(record: StageChangeRecord, writtenAt: number): Row {
  const { snapshot } = record;
  return {
    customer_id: record.customerId,
    version: record.version,
    stage: record.toStage,
    stage_since: dateTimeSeconds(record.occurredAt),
    risk_level: record.riskLevel,
    reason_code: record.reasonCode,
    ...figureColumns(snapshot),
    rfm_segment: snapshot.rfm?.segment ?? "",
    ...valueColumns(snapshot),
    written_at: dateTimeSeconds(writtenAt),
  };
}

/** The value model's figures at a stage change (all null while no model was active). */
function valueColumns(snapshot: StageChangeRecord["snapshot"]): Row {
  const value = snapshot.value ?? null;
  return {
    p_alive: value?.pAlive ?? null,
    expected_purchases: value?.expectedPurchases ?? null,
    predicted_clv: value?.predictedClv ?? null,
    value_tier: value?.tier ?? null,
    value_model_version: value?.modelVersion ?? null,
  };
}

export function valueTierChangeRow(record: ValueTierChangeRecord, position: KafkaPosition, writtenAt: number): Row {
  return {
    change_id: record.changeId,
    customer_id: record.customerId,
    version: record.version,
    from_tier: record.fromTier,
    to_tier: record.toTier,
    reason: record.reasonCode,
    trigger: record.trigger,
    occurred_at: dateTimeSeconds(record.occurredAt),
    occurred_at_ms: record.occurredAt,
    event_id: record.eventId,
    model_version: record.modelVersion,
    p_alive: record.pAlive,
    expected_purchases: record.expectedPurchases,
    predicted_clv: record.predictedClv,
    monetary_total: new Decimal4(record.monetaryTotal),
    kafka_partition: position.partition,
    kafka_offset: Number(position.offset),
    written_at: dateTimeSeconds(writtenAt),
  };
}

/** A risk change → a `risk_changes` row. */
export function riskChangeRow(record: RiskChangeRecord, position: KafkaPosition, writtenAt: number): Row {
  return {
    change_id: record.changeId,
    customer_id: record.customerId,
    version: record.version,
    from_level: record.fromLevel,
    to_level: record.toLevel,
    stage: record.stage,
    reason: record.reasonCode,
    gap_days: record.reasonNumbers.gapDays ?? 0,
    warn_after_days: record.reasonNumbers.warnAfterDays ?? 0,
    churn_after_days: record.reasonNumbers.churnAfterDays ?? 0,
    trigger: record.trigger,
    occurred_at: dateTimeSeconds(record.occurredAt),
    occurred_at_ms: record.occurredAt,
    event_id: record.eventId,
    last_purchase_at_ms: record.lastPurchaseAt,
    kafka_partition: position.partition,
    kafka_offset: Number(position.offset),
    written_at: dateTimeSeconds(writtenAt),
  };
}

/** An audience change → an `audience_changes` row. */
export function audienceChangeRow(record: AudienceChangeRecord, position: KafkaPosition, writtenAt: number): Row {
  return {
    change_id: record.changeId,
    customer_id: record.customerId,
    version: record.version,
    audience_id: record.audienceId,
    audience_version: record.audienceVersion,
    definitions_version: record.definitionsVersion,
    change: record.change,
    trigger: record.trigger,
    occurred_at: dateTimeSeconds(record.occurredAt),
    occurred_at_ms: record.occurredAt,
    event_id: record.eventId,
    kafka_partition: position.partition,
    kafka_offset: Number(position.offset),
    written_at: dateTimeSeconds(writtenAt),
  };
}

/** One JSONEachRow line (without the newline). Decimal4 cells are bare decimal text; non-finite floats become 0. */
export function serializeRow(row: Row): string {
  let out = "{";
  let first = true;
  for (const key in row) {
    const cell = row[key]!;
    out += (first ? '"' : ',"') + key + '":';
    first = false;
    if (cell === null) out += "null";
    else if (typeof cell === "string") out += JSON.stringify(cell);
    else if (typeof cell === "number") out += Number.isFinite(cell) ? String(cell) : "0";
    else if (cell instanceof Decimal4) out += formatE4(cell.e4);
    else out += JSON.stringify(cell);
  }
  return out + "}";
}
