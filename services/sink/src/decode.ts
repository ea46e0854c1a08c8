import { audienceChangeRow, eventRow, riskChangeRow, serializeRow, snapshotRow, transitionRow, valueTierChangeRow } from "@clm/clickhouse";
import { recordToCustomerEvent, type AudienceChangeRecord, type CustomerEventRecord, type RiskChangeRecord, type StageChangeRecord, type ValueTierChangeRecord } from "@clm/contracts";
import { domainEventProblems, futureEventProblem } from "@clm/core";
import { AvroDecodeError, producedAt, readAudiencesActivation, readClockAdvance, readValueModelActivation, type AvroSerde } from "@clm/kafka";
import type { KafkaMessage } from "kafkajs";
import type { SinkTable } from "./buffer.ts";

export interface Skipped {
  offset: string;
  reason: string;
}

export interface DecodedBatch {
  /** Serialized JSONEachRow lines per table. */
  rows: Partial<Record<SinkTable, string[]>>;
  skipped: Skipped[];
}

/**
 * Input events → `events` rows. Records the processor dead-letters (not Avro, unknown schema,
 * values out of range, dated beyond `maxFutureSkewMs` after they were produced, key not the customerId,
 * a malformed clock advance or value-model activation) are skipped here, so ClickHouse holds exactly
 * the events the lifecycle state was folded from. Clock advances and value-model activations are
 * control records, not events: passed over without a row and without counting as skipped.
 */
export function decodeEvents(
  serde: AvroSerde<CustomerEventRecord>,
  messages: readonly KafkaMessage[],
  partition: number,
  reportingCurrency: string,
  maxFutureSkewMs: number,
  writtenAt: number,
): DecodedBatch {
  const rows: string[] = [];
  const skipped: Skipped[] = [];
  for (const message of messages) {
    const advance = readClockAdvance(message);
    if (advance.kind === "advance") continue;
    if (advance.kind === "invalid") {
      skipped.push({ offset: message.offset, reason: "INVALID_CLOCK_ADVANCE" });
      continue;
    }
    const activation = readValueModelActivation(message);
    if (activation.kind === "activate") continue;
    if (activation.kind === "invalid") {
      skipped.push({ offset: message.offset, reason: "INVALID_VALUE_MODEL_ACTIVATION" });
      continue;
    }
    const audiences = readAudiencesActivation(message);
    if (audiences.kind === "activate") continue;
    if (audiences.kind === "invalid") {
      skipped.push({ offset: message.offset, reason: "INVALID_AUDIENCES" });
      continue;
    }
    try {
      const record = serde.decode(message.value);
      if (domainEventProblems(recordToCustomerEvent(record), reportingCurrency).length > 0) {
        skipped.push({ offset: message.offset, reason: "INVALID_EVENT" });
        continue;
      }
      if (futureEventProblem(record.occurredAt, producedAt(message, writtenAt), maxFutureSkewMs) !== null) {
        skipped.push({ offset: message.offset, reason: "FUTURE_EVENT" });
        continue;
      }
      if (message.key?.toString("utf8") !== record.customerId) {
        skipped.push({ offset: message.offset, reason: "KEY_MISMATCH" });
        continue;
      }
      rows.push(serializeRow(eventRow(record, { partition, offset: message.offset }, writtenAt)));
    } catch (error) {
      skipped.push({ offset: message.offset, reason: error instanceof AvroDecodeError ? error.code : "DECODE_FAILED" });
    }
  }
  return { rows: { events: rows }, skipped };
}

/** Stage changes → `stage_transitions` and `customer_snapshots` rows. */
export function decodeStageChanges(serde: AvroSerde<StageChangeRecord>, messages: readonly KafkaMessage[], partition: number, writtenAt: number): DecodedBatch {
  const transitions: string[] = [];
  const snapshots: string[] = [];
  const skipped: Skipped[] = [];
  for (const message of messages) {
    try {
      const record = serde.decode(message.value);
      transitions.push(serializeRow(transitionRow(record, { partition, offset: message.offset }, writtenAt)));
      snapshots.push(serializeRow(snapshotRow(record, writtenAt)));
    } catch (error) {
      skipped.push({ offset: message.offset, reason: error instanceof AvroDecodeError ? error.code : "DECODE_FAILED" });
    }
  }
  return { rows: { stage_transitions: transitions, customer_snapshots: snapshots }, skipped };
}

/** Value-tier changes → `value_tier_changes` rows. */
export function decodeValueTierChanges(serde: AvroSerde<ValueTierChangeRecord>, messages: readonly KafkaMessage[], partition: number, writtenAt: number): DecodedBatch {
  const rows: string[] = [];
  const skipped: Skipped[] = [];
  for (const message of messages) {
    try {
      rows.push(serializeRow(valueTierChangeRow(serde.decode(message.value), { partition, offset: message.offset }, writtenAt)));
    } catch (error) {
      skipped.push({ offset: message.offset, reason: error instanceof AvroDecodeError ? error.code : "DECODE_FAILED" });
    }
  }
  return { rows: { value_tier_changes: rows }, skipped };
}

/** Risk changes → `risk_changes` rows. */
export function decodeRiskChanges(serde: AvroSerde<RiskChangeRecord>, messages: readonly KafkaMessage[], partition: number, writtenAt: number): DecodedBatch {
  const rows: string[] = [];
  const skipped: Skipped[] = [];
  for (const message of messages) {
    try {
      rows.push(serializeRow(riskChangeRow(serde.decode(message.value), { partition, offset: message.offset }, writtenAt)));
    } catch (error) {
      skipped.push({ offset: message.offset, reason: error instanceof AvroDecodeError ? error.code : "DECODE_FAILED" });
    }
  }
  return { rows: { risk_changes: rows }, skipped };
}

/** Audience changes → `audience_changes` rows. */
export function decodeAudienceChanges(serde: AvroSerde<AudienceChangeRecord>, messages: readonly KafkaMessage[], partition: number, writtenAt: number): DecodedBatch {
  const rows: string[] = [];
  const skipped: Skipped[] = [];
  for (const message of messages) {
    try {
      rows.push(serializeRow(audienceChangeRow(serde.decode(message.value), { partition, offset: message.offset }, writtenAt)));
    } catch (error) {
      skipped.push({ offset: message.offset, reason: error instanceof AvroDecodeError ? error.code : "DECODE_FAILED" });
    }
  }
  return { rows: { audience_changes: rows }, skipped };
}
