import { randomUUID } from "node:crypto";
import { runSupervised } from "@clm/kafka";
import { Kafka, KafkaJSGroupCoordinatorNotFound, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { kafkaWithFileTopics } from "./support/file-topics.ts";
import { isolatedConfig, stack, testLogger, waitFor } from "./support/pipeline.ts";

/** How the services' consumers live through errors, on real Kafka: a broker outage is waited out, a poison error is fatal. */
const config = isolatedConfig({ TOPIC_PARTITIONS: "1" });
const kafka = kafkaWithFileTopics(config);

afterAll(() => {
  stack("up"); // whatever happened, leave the broker running for the next suite
}, 180_000);

async function produce(value: string): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: config.TOPIC_EVENTS, messages: [{ key: "k", value }] });
  await producer.disconnect();
}

describe("a supervised consumer", () => {
  it("reaches onFatal with the error when kafkajs stops it for a poison error", async () => {
    await produce("poison");
    const consumer = kafka.consumer({ groupId: `crash-${randomUUID()}`, maxWaitTimeInMs: 100, retry: { retries: 0 } });
    let reportFatal: (error: Error) => void = () => undefined;
    const fatal = new Promise<Error>((resolve) => (reportFatal = resolve));
    await consumer.connect();
    await consumer.subscribe({ topic: config.TOPIC_EVENTS, fromBeginning: true });
    await runSupervised(
      consumer,
      {
        eachBatch: async () => {
          throw new RangeError("Maximum call stack size exceeded"); // what a 200k-argument call threw
        },
      },
      { logger: testLogger, onFatal: (error) => reportFatal(error) },
    );
    const error = await fatal;
    expect(error.message).toContain("Maximum call stack size exceeded");
    await consumer.disconnect();
  }, 60_000);

  it("restarts a consumer kafkajs stopped for good because the group coordinator could not be found", async () => {
    // The error kafkajs raised in the pipeline fault test when a rejoin met a restarting broker: it
    // marks it not retriable and stops the consumer for good. It depends on the broker's timing, so
    // it is raised here once from the handler, where kafkajs treats it the same way.
    await produce("first");
    const consumed: string[] = [];
    const fatal: Error[] = [];
    const stops: boolean[] = [];
    const consumer = kafka.consumer({ groupId: `coordinator-${randomUUID()}`, maxWaitTimeInMs: 100 });
    consumer.on(consumer.events.CRASH, ({ payload }) => stops.push(payload.restart));
    await consumer.connect();
    await consumer.subscribe({ topic: config.TOPIC_EVENTS, fromBeginning: true });
    let raised = false;
    const supervision = await runSupervised(
      consumer,
      {
        eachMessage: async ({ message }) => {
          if (!raised) {
            raised = true;
            // kafkajs's declarations omit the message its constructor takes.
            throw new (KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error)("Failed to find group coordinator");
          }
          consumed.push(message.value!.toString());
        },
      },
      { logger: testLogger, onFatal: (error) => fatal.push(error), initialBackoffMs: 200 },
    );
    await waitFor(async () => consumed.includes("first"), "the record to be consumed after the restart", 30_000);
    supervision.cancel();
    await consumer.disconnect();
    expect(stops).toEqual([false]); // kafkajs did not restart it; the supervision did
    expect(fatal).toEqual([]);
  }, 60_000);

  it("consumes again after a broker restart, without calling onFatal", async () => {
    const consumed: string[] = [];
    const fatal: Error[] = [];
    const stops: { error: string; restart: boolean }[] = [];
    // Few retries: kafkajs stops the consumer within a second of refused connections, as it does after its retries on a longer outage.
    const impatient = new Kafka({ clientId: "outage-test", brokers: [...config.KAFKA_BROKERS], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100 } });
    const consumer = impatient.consumer({ groupId: `outage-${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 500, retry: { retries: 0, initialRetryTime: 100 } });
    consumer.on(consumer.events.CRASH, ({ payload }) => stops.push({ error: `${payload.error.name}: ${payload.error.message}`, restart: payload.restart }));
    await consumer.connect();
    await consumer.subscribe({ topic: config.TOPIC_EVENTS, fromBeginning: true });
    const supervision = await runSupervised(
      consumer,
      {
        eachMessage: async ({ message }) => {
          consumed.push(message.value!.toString());
        },
      },
      { logger: testLogger, onFatal: (error) => fatal.push(error), initialBackoffMs: 200, maxBackoffMs: 2000 },
    );
    await produce("before");
    await waitFor(async () => consumed.includes("before"), "the record sent before the outage", 30_000);

    stack("down", "kafka");
    await waitFor(async () => stops.length > 0, "kafkajs to stop the consumer while the broker is down", 60_000, 200);
    stack("up");
    await produce("after");
    await waitFor(async () => consumed.includes("after"), "the record sent after the broker came back", 120_000, 200);

    supervision.cancel();
    await consumer.disconnect();
    console.log(`consumer stops during the outage: ${stops.map((stop) => `${stop.error} (kafkajs restart: ${stop.restart})`).join("; ")}`);
    expect(fatal).toEqual([]);
  }, 300_000);
});
