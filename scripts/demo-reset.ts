/**
 * Resets the pipeline namespace the environment names (topics, consumer groups, Redis key
 * prefix, ClickHouse database), so every demo run starts from nothing. Services must be stopped.
 */
import { createClickHouse, createShardClients } from "@clm/clickhouse";
import { loadConfig } from "@clm/config";
import { createKafka } from "@clm/kafka";
import { createLogger } from "@clm/observability";
import { RedisLayout } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { createRedis } from "@clm/redis";

// kafkajs logs retried start-up hiccups (e.g. "group coordinator not available" on a new broker) as errors; real failures throw.
const config = loadConfig({ ...process.env, LOG_LEVEL: "fatal" });
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "clm-demo-reset", logger: createLogger({ service: "demo", level: config.LOG_LEVEL }) });
const admin = kafka.admin();
await admin.connect();
const topics = [config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_VALUE_TIER_CHANGES, config.TOPIC_RISK_CHANGES, config.TOPIC_AUDIENCE_CHANGES, config.TOPIC_DEAD_LETTER];
const existing = (await admin.listTopics()).filter((topic) => topics.includes(topic));
if (existing.length > 0) await admin.deleteTopics({ topics: existing, timeout: 30_000 });
await admin.deleteGroups([config.PROCESSOR_GROUP_ID, config.SINK_GROUP_ID]).catch(() => undefined);
// Topic deletion completes asynchronously in Kafka; wait until the names are free.
for (let tries = 0; tries < 150 && (await admin.listTopics()).some((topic) => existing.includes(topic)); tries++) await new Promise((resolve) => setTimeout(resolve, 200));
await admin.disconnect();

const redis = createRedis(config);
await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
redis.disconnect();

// A sharded database (CLICKHOUSE_CLUSTER) is one database on every shard.
for (const clickhouse of config.CLICKHOUSE_CLUSTER ? createShardClients(config) : [createClickHouse(config)]) {
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse.close();
}
console.log(`  reset: topics ${topics.join(", ")}; groups ${config.PROCESSOR_GROUP_ID}, ${config.SINK_GROUP_ID}; Redis prefix ${config.REDIS_KEY_PREFIX}; ClickHouse database ${config.CLICKHOUSE_DATABASE}`);
