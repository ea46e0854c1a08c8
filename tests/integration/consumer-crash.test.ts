import { randomUUID } from "node:crypto";
import { onConsumerStopped } from "@clm/kafka";
import { describe, expect, it } from "vitest";
import { kafkaWithFileTopics } from "./support/file-topics.ts";
import { isolatedConfig, testLogger } from "./support/pipeline.ts";

/** A consumer kafkajs gives up on must not stall silently: the services' onFatal hears of it (real Kafka). */
const config = isolatedConfig({ TOPIC_PARTITIONS: "1" });
const kafka = kafkaWithFileTopics(config);

describe("a consumer kafkajs stops for good", () => {
  it("reaches onFatal with the error that stopped it", async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: config.TOPIC_EVENTS, messages: [{ key: "k", value: "poison" }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `crash-${randomUUID()}`, maxWaitTimeInMs: 100, retry: { retries: 0 } });
    const fatal = new Promise<Error>((resolve) => onConsumerStopped(consumer, testLogger, resolve));
    await consumer.connect();
    await consumer.subscribe({ topic: config.TOPIC_EVENTS, fromBeginning: true });
    await consumer.run({
      eachBatch: async () => {
        throw new RangeError("Maximum call stack size exceeded"); // what a 200k-argument call threw
      },
    });
    const error = await fatal;
    expect(error.message).toContain("Maximum call stack size exceeded");
    await consumer.disconnect();
  }, 60_000);
});
