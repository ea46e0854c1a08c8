import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { loadConfig, type Config } from "@clm/config";
import { customerEventToRecord, CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import type { CustomerEvent } from "@clm/core";
import { AvroSerde, createIdempotentProducer, createKafka, createRegistry, ensureProjectTopics } from "@clm/kafka";
import { createLogger } from "@clm/observability";
import { RedisLayout, wipePrefix } from "@clm/processor";
import type { Redis } from "ioredis";
import type { Kafka, KafkaMessage, Message } from "kafkajs";

/** Helpers for integration tests against the real servers of the local stack. */

export const testLogger = createLogger({ service: "test", level: process.env.TEST_LOG_LEVEL ?? "silent" });

/** A config whose topics, group and key prefix are unique to this run, so tests never see each other's data. */
export function isolatedConfig(overrides: Record<string, string> = {}): Config {
  const run = `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
  return loadConfig({
    ...process.env,
    TOPIC_EVENTS: `test.${run}.events`,
    TOPIC_STAGE_CHANGES: `test.${run}.stage-changes`,
    TOPIC_DEAD_LETTER: `test.${run}.dead-letter`,
    TOPIC_PARTITIONS: "4",
    PROCESSOR_GROUP_ID: `test-${run}-processor`,
    REDIS_KEY_PREFIX: `test-${run}`,
    CLOCK_MODE: "event",
    LOG_LEVEL: "silent",
    ...overrides,
  });
}

/** Runs `infra/stack.sh` with these arguments (fault tests stop and start servers of the local stack). */
export function stack(...args: string[]): void {
  execFileSync("bash", ["infra/stack.sh", ...args], { stdio: "pipe", timeout: 180_000 });
}

export function testKafka(config: Config): Kafka {
  return createKafka({ brokers: config.KAFKA_BROKERS, clientId: "test", logger: testLogger });
}

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
    await admin.deleteTopics({ topics: [config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_DEAD_LETTER], timeout: 10_000 }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  await deleteSubjects(config.SCHEMA_REGISTRY_URL, [`${config.TOPIC_EVENTS}-value`, `${config.TOPIC_STAGE_CHANGES}-value`]);
}

/** The end of a test run: deletes its Redis prefix, its topics and schema subjects, and closes its Redis connection. */
export async function tearDownRun(kafka: Kafka, redis: Redis, config: Config): Promise<void> {
  await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
  await deleteTopics(kafka, config);
  redis.disconnect();
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

export async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
