import { domainEventProblems, futureEventProblem, type AudienceDefinitions, type EpochMs, type LifecycleConfig, type PartitionRecord, type ValueModel } from "@clm/core";
import { recordToCustomerEvent, type CustomerEventRecord } from "@clm/contracts";
import { AvroDecodeError, deadLetterMessage, producedAt, readAudiencesActivation, readClockAdvance, readValueModelActivation, receivedAtOf, type AvroSerde } from "@clm/kafka";
import type { Logger } from "@clm/observability";
import type { KafkaMessage, Message } from "kafkajs";
import type { ProcessorMetrics } from "./metrics.ts";

/** What reading a partition's records needs besides the records. */
export interface BatchReadingContext {
  partition: number;
  /** Prepared for the records' writer schemas (AvroSerde.prepare) before reading. */
  events: AvroSerde<CustomerEventRecord>;
  lifecycle: LifecycleConfig;
  clockMode: "wall" | "event";
  maxFutureSkewMs: number;
  service: string;
  topic: string;
  metrics: ProcessorMetrics;
  logger: Logger;
  /** A clock advance met in wall clock mode, where the wall clock is the only time: it changes nothing. */
  clockAdvanceIgnored: (partition: number, to: EpochMs) => void;
  /** The models the batch's activation records name, loaded before reading (null: Redis does not hold it). */
  valueModels: ReadonlyMap<string, ValueModel | null>;
  /** The audience definitions the batch's activation records name, loaded likewise. */
  audienceDefinitions: ReadonlyMap<string, AudienceDefinitions | null>;
}

/** The audience definitions versions a batch's activation records name (to load before reading the batch). */
export function activatedAudienceVersions(messages: readonly KafkaMessage[]): Set<string> {
  const versions = new Set<string>();
  for (const message of messages) {
    const activation = readAudiencesActivation(message);
    if (activation.kind === "activate") versions.add(activation.version);
  }
  return versions;
}

/** The model versions a batch's activation records name (to load before reading the batch). */
export function activatedVersions(messages: readonly KafkaMessage[]): Set<string> {
  const versions = new Set<string>();
  for (const message of messages) {
    const activation = readValueModelActivation(message);
    if (activation.kind === "activate") versions.add(activation.version);
  }
  return versions;
}

/** Dead-letter records of one batch, each with its code and reason, counted as they are made. */
export class DeadLetters {
  readonly messages: Message[] = [];

  constructor(
    private readonly context: Pick<BatchReadingContext, "partition" | "service" | "topic" | "metrics">,
    private readonly now: Date,
  ) {}

  add(message: KafkaMessage, code: string, reason: string, errors?: readonly { path: string; message: string }[]): void {
    const { context } = this;
    context.metrics.deadLetters.inc({ code });
    this.messages.push(
      deadLetterMessage(
        {
          code,
          reason,
          service: context.service,
          source: { topic: context.topic, partition: context.partition, offset: message.offset, key: message.key?.toString("utf8") ?? null },
          ...(errors ? { errors: [...errors] } : {}),
          valueBase64: message.value?.toString("base64") ?? null,
        },
        this.now,
      ),
    );
  }
}

export interface BatchReading {
  /** The records the fold takes, in offset order: events and (on the event clock) clock advances. */
  records: PartitionRecord[];
  /** The customers of the events among them. */
  customers: Set<string>;
  /** How many of the records are events. */
  events: number;
}

/**
 * A partition's records as the fold takes them. Each record that is not a valid event of its
 * key's customer becomes a dead letter with its reason (not Avro, unknown schema, a value out of
 * range, dated too far ahead, keyed by another id, a malformed clock advance); a clock advance
 * is a record of its own on the event clock and is passed over on the wall clock.
 */
export function readBatchRecords(messages: readonly KafkaMessage[], context: BatchReadingContext, letters: DeadLetters, now: EpochMs): BatchReading {
  const reading: BatchReading = { records: [], customers: new Set(), events: 0 };
  for (const message of messages) {
    // A control record (null value, a header) is recognised before anything tries to decode it.
    const advance = readClockAdvance(message);
    if (advance.kind === "invalid") {
      letters.add(message, "INVALID_CLOCK_ADVANCE", advance.reason);
      continue;
    }
    if (advance.kind === "advance") {
      takeClockAdvance(message, advance.to, context, reading);
      continue;
    }
    const activation = readValueModelActivation(message);
    if (activation.kind === "invalid") {
      letters.add(message, "INVALID_VALUE_MODEL", activation.reason);
      continue;
    }
    if (activation.kind === "activate") {
      const model = context.valueModels.get(activation.version) ?? null;
      if (model === null) letters.add(message, "INVALID_VALUE_MODEL", `value model ${activation.version} is not stored in Redis (clm model fit stores a model before activating it)`);
      // On the wall clock the model is active from the record's time; on the event clock from the watermark there.
      else reading.records.push({ offset: message.offset, activateValueModel: model, activatedAt: context.clockMode === "wall" ? receivedAtOf(message) : null });
      continue;
    }
    const audiences = readAudiencesActivation(message);
    if (audiences.kind === "invalid") {
      letters.add(message, "INVALID_AUDIENCES", audiences.reason);
      continue;
    }
    if (audiences.kind === "activate") {
      const definitions = context.audienceDefinitions.get(audiences.version) ?? null;
      if (definitions === null) letters.add(message, "INVALID_AUDIENCES", `audience definitions ${audiences.version} are not stored in Redis (the audience API stores them before activating them)`);
      else reading.records.push({ offset: message.offset, activateAudiences: definitions, activatedAt: context.clockMode === "wall" ? receivedAtOf(message) : null });
      continue;
    }
    let event;
    try {
      event = recordToCustomerEvent(context.events.decode(message.value));
    } catch (error) {
      if (error instanceof AvroDecodeError) letters.add(message, error.code, error.message);
      else letters.add(message, "DECODE_FAILED", (error as Error).message);
      continue;
    }
    const problems = domainEventProblems(event, context.lifecycle.reportingCurrency);
    if (problems.length > 0) {
      letters.add(message, "INVALID_EVENT", problems.map((problem) => `${problem.path}: ${problem.message}`).join("; "), problems);
      continue;
    }
    // Before the fold: in event-clock mode a far-future event would move the watermark and fire every deadline before it.
    const future = futureEventProblem(event.occurredAt, producedAt(message, now), context.maxFutureSkewMs);
    if (future !== null) {
      letters.add(message, "FUTURE_EVENT", `${future.path}: ${future.message}`, [future]);
      continue;
    }
    // State lives with the partition: a record keyed by another id would split a customer.
    if (message.key?.toString("utf8") !== event.customerId) {
      letters.add(message, "KEY_MISMATCH", `record key ${JSON.stringify(message.key?.toString("utf8") ?? null)} is not the customerId ${JSON.stringify(event.customerId)}`);
      continue;
    }
    reading.records.push({ offset: message.offset, event, receivedAt: receivedAtOf(message) });
    reading.customers.add(event.customerId);
    reading.events++;
  }
  return reading;
}

function takeClockAdvance(message: KafkaMessage, to: EpochMs, context: BatchReadingContext, reading: BatchReading): void {
  if (context.clockMode === "event") {
    reading.records.push({ offset: message.offset, clockAdvanceTo: to });
    context.metrics.clockAdvances.inc({ outcome: "applied" });
    context.logger.info({ partition: context.partition, offset: message.offset, to: new Date(to).toISOString() }, "event clock advanced");
  } else {
    context.metrics.clockAdvances.inc({ outcome: "ignored" });
    context.clockAdvanceIgnored(context.partition, to);
  }
}
