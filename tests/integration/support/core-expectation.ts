import { CUSTOMER_EVENT_SCHEMA_TEXT, recordToCustomerEvent, STAGE_CHANGE_SCHEMA_TEXT, type CustomerEventRecord, type StageChangeRecord } from "@clm/contracts";
import {
  domainEventProblems,
  foldPartitionBatch,
  type BatchResult,
  type Effect,
  type PartitionClock,
  futureEventProblem,
  nextDeadline,
  refitCustomer,
  type ActiveAudiences,
  type ActiveValueModel,
  type AudienceDefinitions,
  type CustomerState,
  type LifecycleConfig,
  type PartitionRecord,
  type ValueModel,
  type AudienceChange,
} from "@clm/core";
import type { Config } from "@clm/config";
import { AvroSerde, createRegistry, producedAt, readAudiencesActivation, readClockAdvance, readValueModelActivation, receivedAtOf } from "@clm/kafka";
import type { RedisLayout, StateReader } from "@clm/state-store";
import type { RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { readTopic } from "./pipeline.ts";

export interface CoreExpectation {
  /** Per customer: the partition and the state the pure core ends with. */
  states: Map<string, { partition: number; state: CustomerState }>;
  transitionIds: Set<string>;
  /** Value-tier change ids (with value models on the topic). */
  tierChangeIds: Set<string>;
  /** Churn-risk change ids (changes of level within a stage). */
  riskChangeIds: Set<string>;
  /** Audience changes, in effect order (with audience definitions on the topic). */
  audienceChanges: AudienceChange[];
  /** Per partition: the audience definitions active at its end. */
  audiences: Map<number, ActiveAudiences | null>;
  /** Per partition: the value model active at its end. */
  values: Map<number, ActiveValueModel | null>;
  /** Distinct (customerId, eventId) of the valid records on the topic. */
  uniqueValidEvents: number;
  /** Per partition: the offset after its last record. */
  ends: Map<number, string>;
}

/** The input topic's records as the processor folds them, per partition in offset order. */
export interface TopicRecords {
  records: Map<number, PartitionRecord[]>;
  /** Per partition: the offset after its last record. */
  ends: Map<number, string>;
  /** Distinct (customerId, eventId) of the valid records on the topic. */
  uniqueValidEvents: number;
}

/**
 * Every partition's records of the config's input topic that the processor's contract folds:
 * events that pass its checks (duplicates included), clock advances on the event clock, and
 * activations of the value models and audience definitions the given readers hold; invalid,
 * far-future and mis-keyed records are left out (they are dead letters).
 */
export async function topicRecords(
  kafka: Kafka,
  config: Config,
  lifecycle: LifecycleConfig,
  valueModel: (version: string) => Promise<ValueModel | null> = async () => null,
  audienceDefinitions: (version: string) => Promise<AudienceDefinitions | null> = async () => null,
): Promise<TopicRecords> {
  const byPartition = await readTopic(kafka, config.TOPIC_EVENTS);
  const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
  const topic: TopicRecords = { records: new Map(), ends: new Map(), uniqueValidEvents: 0 };
  const unique = new Set<string>();
  for (const [partition, messages] of byPartition) {
    await serde.prepare(messages.map((message) => message.value));
    const records: PartitionRecord[] = [];
    for (const message of messages) {
      const advance = readClockAdvance(message);
      if (advance.kind === "advance" && config.CLOCK_MODE === "event") records.push({ offset: message.offset, clockAdvanceTo: advance.to });
      if (advance.kind !== "none") continue;
      const activation = readValueModelActivation(message);
      if (activation.kind === "activate") {
        const model = await valueModel(activation.version);
        if (model !== null) records.push({ offset: message.offset, activateValueModel: model, activatedAt: config.CLOCK_MODE === "wall" ? receivedAtOf(message) : null });
      }
      if (activation.kind !== "none") continue;
      const audiences = readAudiencesActivation(message);
      if (audiences.kind === "activate") {
        const definitions = await audienceDefinitions(audiences.version);
        if (definitions !== null) records.push({ offset: message.offset, activateAudiences: definitions, activatedAt: config.CLOCK_MODE === "wall" ? receivedAtOf(message) : null });
      }
      if (audiences.kind !== "none") continue;
      let event;
      try {
        event = recordToCustomerEvent(serde.decode(message.value));
      } catch {
        continue; // not decodable: a dead letter
      }
      if (domainEventProblems(event, lifecycle.reportingCurrency).length > 0 || message.key?.toString() !== event.customerId) continue;
      if (futureEventProblem(event.occurredAt, producedAt(message, Date.now()), config.MAX_FUTURE_SKEW_MS) !== null) continue;
      records.push({ offset: message.offset, event, receivedAt: receivedAtOf(message) });
      unique.add(`${event.customerId}\u0000${event.eventId}`);
    }
    topic.records.set(partition, records);
    topic.ends.set(partition, messages.length === 0 ? "0" : (BigInt(messages.at(-1)!.offset) + 1n).toString());
  }
  topic.uniqueValidEvents = unique.size;
  return topic;
}

/** One partition folded as the processor does it: its records from `states` and `clock`, then the refit and audience sweeps' catch-up. */
export interface FoldedPartition {
  /** The customers the fold changed, as they end. */
  states: Map<string, CustomerState>;
  /** Every change, in order (the sweeps' last). */
  effects: Effect[];
  result: BatchResult;
}

export function foldAsProcessor(
  states: ReadonlyMap<string, CustomerState>,
  records: readonly PartitionRecord[],
  clock: PartitionClock,
  config: Config,
  lifecycle: LifecycleConfig,
  value: ActiveValueModel | null = null,
  audiences: ActiveAudiences | null = null,
): FoldedPartition {
  const result = foldPartitionBatch(states, records, clock, lifecycle, value, audiences);
  const effects = [...result.effects.map((entry) => entry.effect)];
  const ended = new Map<string, CustomerState>();
  for (const [customerId, folded] of result.changed) {
    // The processor's refit and audience sweeps reach every customer after an activation.
    let state = folded;
    if (result.value !== null || result.audiences !== null) {
      const refit = refitCustomer(folded, result.value, lifecycle, config.CLOCK_MODE === "event" ? result.sweptThrough : null, result.audiences);
      state = refit.state;
      effects.push(...refit.effects);
    }
    ended.set(customerId, state);
  }
  return { states: ended, effects, result };
}

/** Adds the ids of `effects` to an expectation's sets (and audience changes to its list). */
export function collectChanges(expectation: Pick<CoreExpectation, "transitionIds" | "tierChangeIds" | "riskChangeIds" | "audienceChanges">, effects: readonly Effect[]): void {
  for (const effect of effects) {
    if (effect.kind === "stage_changed") expectation.transitionIds.add(effect.transition.transitionId);
    else if (effect.kind === "value_tier_changed") expectation.tierChangeIds.add(effect.change.changeId);
    else if (effect.kind === "risk_changed") expectation.riskChangeIds.add(effect.change.changeId);
    else if (effect.kind === "audience_changed") expectation.audienceChanges.push(effect.change);
  }
}

/**
 * What the pure core says about the input topic as it is: every partition's records, in offset
 * order, folded by foldPartitionBatch exactly as the processor's contract defines (duplicates,
 * invalid, far-future and mis-keyed records included, since they are on the topic; clock advances
 * applied on the event clock). The processor, whatever it went through, must end with exactly this.
 */
export async function coreExpectation(
  kafka: Kafka,
  config: Config,
  lifecycle: LifecycleConfig,
  valueModel: (version: string) => Promise<ValueModel | null> = async () => null,
  audienceDefinitions: (version: string) => Promise<AudienceDefinitions | null> = async () => null,
): Promise<CoreExpectation> {
  const topic = await topicRecords(kafka, config, lifecycle, valueModel, audienceDefinitions);
  const expectation: CoreExpectation = { states: new Map(), transitionIds: new Set(), tierChangeIds: new Set(), riskChangeIds: new Set(), audienceChanges: [], audiences: new Map(), values: new Map(), uniqueValidEvents: topic.uniqueValidEvents, ends: topic.ends };
  for (const [partition, records] of topic.records) {
    const folded = foldAsProcessor(new Map(), records, { watermark: null, latenessMs: config.EVENT_TIME_LATENESS_MS }, config, lifecycle);
    for (const [customerId, state] of folded.states) expectation.states.set(customerId, { partition, state });
    collectChanges(expectation, folded.effects);
    expectation.values.set(partition, folded.result.value);
    expectation.audiences.set(partition, folded.result.audiences);
  }
  return expectation;
}

/** Customers whose Redis state differs from the expected one (empty when the processor agrees with the core). */
export async function mismatchedStates(store: StateReader, expected: ReadonlyMap<string, { partition: number; state: CustomerState }>): Promise<string[]> {
  const mismatched: string[] = [];
  for (const [customerId, { partition, state }] of expected) {
    const actual = (await store.loadStates(partition, [customerId])).get(customerId);
    if (JSON.stringify(actual) !== JSON.stringify(state)) mismatched.push(customerId);
  }
  return mismatched;
}

/** Customers whose timer-index score is not the next deadline of their expected state (empty when every timer is exact). */
export async function mismatchedTimers(
  redis: RedisClient,
  layout: RedisLayout,
  expected: ReadonlyMap<string, { partition: number; state: CustomerState }>,
  lifecycle: LifecycleConfig,
  values: ReadonlyMap<number, ActiveValueModel | null> = new Map(),
  audiences: ReadonlyMap<number, ActiveAudiences | null> = new Map(),
): Promise<string[]> {
  const mismatched: string[] = [];
  for (const [customerId, { partition, state }] of expected) {
    const score = await redis.zscore(layout.timers(partition), customerId);
    if ((score === null ? null : Number(score)) !== nextDeadline(state, lifecycle, values.get(partition) ?? null, audiences.get(partition) ?? null)) mismatched.push(customerId);
  }
  return mismatched;
}

/** The stage-change ids on the stage-change topic, and how many records carry them (repeats are allowed: consumers drop them by id). */
export async function publishedStageChanges(kafka: Kafka, config: Config): Promise<{ ids: Set<string>; publishes: number }> {
  const changes = new AvroSerde<StageChangeRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
  const ids = new Set<string>();
  let publishes = 0;
  for (const messages of (await readTopic(kafka, config.TOPIC_STAGE_CHANGES)).values()) {
    await changes.prepare(messages.map((message) => message.value));
    for (const message of messages) {
      ids.add(changes.decode(message.value).transitionId);
      publishes++;
    }
  }
  return { ids, publishes };
}
