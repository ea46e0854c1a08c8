import type { Config } from "@clm/config";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll } from "vitest";
import { createTopics, deleteTopics, testKafka } from "./pipeline.ts";

/** A Kafka client for this test file, with the config's topics created before its tests and deleted after. */
export function kafkaWithFileTopics(config: Config): Kafka {
  const kafka = testKafka(config);
  beforeAll(() => createTopics(kafka, config));
  afterAll(() => deleteTopics(kafka, config));
  return kafka;
}
