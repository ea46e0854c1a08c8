import type { Config } from "@clm/config";
import { RedisLayout } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import type { RedisClient } from "@clm/redis";
import type { Kafka } from "kafkajs";
import { deleteTopics } from "./kafka.ts";

/** The end of a test run: deletes its Redis prefix, its topics and schema subjects, and closes its Redis connection. */
export async function tearDownRun(kafka: Kafka, redis: RedisClient, config: Config): Promise<void> {
  await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
  await deleteTopics(kafka, config);
  redis.disconnect();
}
