import { randomUUID } from "node:crypto";
import type { Config } from "@clm/config";
import { customerEventToRecord, CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import type { CustomerEvent } from "@clm/core";
import { AvroSerde, createIdempotentProducer, createKafka, createRegistry, ensureProjectTopics, projectTopics } from "@clm/kafka";
import type { Kafka, KafkaMessage, Message } from "kafkajs";
import { testLogger } from "./test-logger.ts";

/** A kafkajs client on the config's brokers, logging through the silent test logger. */
export function testKafka(config: Config): Kafka {
  return createKafka({ brokers: config.KAFKA_BROKERS, clientId: "test", logger: testLogger });
}

/** Creates the config's topics as the services expect them (partitions, settings); existing ones are kept. */
export async function createTopics(kafka: Kafka, config: Config): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureProjectTopics(admin, config);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the config's topics and their schema subjects (tests and benches make thousands of throwaway topics). */
export async function deleteTopics(kafka: Kafka, config: Config): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: projectTopics(config), timeout: 10_000 }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  await deleteSubjects(config.SCHEMA_REGISTRY_URL, [`${config.TOPIC_EVENTS}-value`, `${config.TOPIC_STAGE_CHANGES}-value`, `${config.TOPIC_VALUE_TIER_CHANGES}-value`, `${config.TOPIC_RISK_CHANGES}-value`, `${config.TOPIC_AUDIENCE_CHANGES}-value`]);
}

/** Deletes schema subjects for good (soft, then permanent, as the Confluent API asks); a missing subject is fine. */
export async function deleteSubjects(registryUrl: string, subjects: readonly string[]): Promise<void> {
  for (const subject of subjects) {
    for (const query of ["", "?permanent=true"]) {
      const response = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}${query}`, { method: "DELETE" }).catch(() => null);
      await response?.body?.cancel();
    }
  }
}

/**
 * Produces events as a data engineer's producer would: Avro via the registry, key customerId, in order
 * (acks=all), 5,000 per send; any iterable, so a generator streams millions. Extra raw messages go as they are.
 */
export async function produceEvents(kafka: Kafka, config: Config, events: Iterable<CustomerEvent>, raw: readonly Message[] = []): Promise<void> {
  const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
  await serde.register();
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    let messages: Message[] = [];
    for (const event of events) {
      messages.push({ key: event.customerId, value: serde.encode(customerEventToRecord(event, 0)) });
      if (messages.length === 5000) {
        await producer.send({ topic: config.TOPIC_EVENTS, acks: -1, messages });
        messages = [];
      }
    }
    if (messages.length > 0) await producer.send({ topic: config.TOPIC_EVENTS, acks: -1, messages });
    if (raw.length > 0) await producer.send({ topic: config.TOPIC_EVENTS, acks: -1, messages: [...raw] });
  } finally {
    await producer.disconnect();
  }
}

/** Reads a whole topic (up to the end offsets at call time), per partition in order. */
export async function readTopic(kafka: Kafka, topic: string): Promise<Map<number, KafkaMessage[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const byPartition = new Map<number, KafkaMessage[]>(ends.map((end) => [end.partition, []]));
  const remaining = new Set(ends.filter((end) => BigInt(end.high) > BigInt(end.low)).map((end) => end.partition));
  if (remaining.size === 0) return byPartition;
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const highOf = new Map(ends.map((end) => [end.partition, BigInt(end.high)]));
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          const list = byPartition.get(batch.partition)!;
          for (const message of batch.messages) if (BigInt(message.offset) < highOf.get(batch.partition)!) list.push(message);
          if (list.length > 0 && BigInt(list[list.length - 1]!.offset) + 1n >= highOf.get(batch.partition)!) remaining.delete(batch.partition);
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return byPartition;
}
