import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { IngestClient, type InputEvent } from "@clm/client";
import { createClickHouse, queryRows } from "@clm/clickhouse";
import type { Config } from "@clm/config";
import { DEFAULT_LIFECYCLE_CONFIG } from "@clm/core";
import { readCdnowFile } from "@clm/datasets";
import { createRedis, type RedisClient } from "@clm/redis";
import { RedisLayout, StateReader } from "@clm/state-store";
import { clusterMember, redisMasterMemberFor, type ClusterMemberName } from "@clm/testkit";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { envOf, freePort, startService, type RunningService } from "../integration/support/child-service.ts";
import { viewSnapshot, type ViewSnapshot } from "../integration/support/cohort-checks.ts";
import { coreExpectation, mismatchedStates, publishedStageChanges, type CoreExpectation } from "../integration/support/core-expectation.ts";
import { createTopics, isolatedConfig, tearDownRun, testKafka, waitFor } from "../integration/support/pipeline.ts";
import { faultTestConfig, ServiceLogs } from "../integration/support/service-logs.ts";
import { readEnvFile } from "./support/env-file.ts";

/**
 * The CDNOW log (69,659 purchases, 23,570 customers) through the whole pipeline on the cluster
 * profile — 3 Kafka brokers (RF 3, min.insync 2, acks=all), a Redis Cluster of 3 masters with a
 * replica each, 2 ClickHouse shards — through the ingest API, while the group grows from two to three
 * processors and shrinks again, a broker is killed with -9, a Redis master is killed with -9 (its
 * replica takes over) and a ClickHouse shard is stopped for 60 s. After each server fault the
 * pipeline catches up and every customer's Redis state must equal the pure core's fold of the input
 * topic; at the end the stage-change ids on Kafka and in ClickHouse equal the core's, and every
 * cohort and stage view equals, row for row, the same views of a single-node run of the same log
 * (the local stack, in the same test).
 */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const KEY = "clm-dev-key";
type ServiceName = "ingest" | "sink" | "processor-1" | "processor-2" | "processor-3";
const ENTRIES: Record<ServiceName, string> = {
  ingest: "services/ingest/src/main.ts",
  sink: "services/sink/src/main.ts",
  "processor-1": "services/processor/src/main.ts",
  "processor-2": "services/processor/src/main.ts",
  "processor-3": "services/processor/src/main.ts",
};
const READY: Record<ServiceName, string> = { ingest: "ingest listening", sink: "sink running", "processor-1": "processor running", "processor-2": "processor running", "processor-3": "processor running" };

let config: Config;
let kafka: Kafka;
let redis: RedisClient;
let clickhouse: ClickHouseClient;
let events: InputEvent[];
let single: ViewSnapshot;
const services = new Map<ServiceName, RunningService>();
const logs = new ServiceLogs(`.run/pipeline-cluster-${run}`);

async function start(name: ServiceName): Promise<void> {
  const service = startService(ENTRIES[name], envOf(config));
  logs.add(name, service);
  await service.waitForLog(READY[name], 120_000);
  services.set(name, service);
}

/** Each running processor's partitions, from the last "partitions assigned" line it logged. */
function assignments(): Map<ServiceName, number[]> {
  const owned = new Map<ServiceName, number[]>();
  for (const [name, service] of services) {
    if (!name.startsWith("processor")) continue;
    const lines = service.output().split("\n").filter((line) => line.includes('"msg":"partitions assigned"'));
    owned.set(name, lines.length === 0 ? [] : (JSON.parse(lines.at(-1)!) as { partitions: number[] }).partitions);
  }
  return owned;
}

/** Until the running processors split the partitions among them: each some, none twice, all of them. */
async function eachOnItsOwnPartitions(processors: number): Promise<string> {
  let owned = assignments();
  await waitFor(async () => {
    owned = assignments();
    const all = [...owned.values()].flat().sort((a, b) => a - b);
    return owned.size === processors && [...owned.values()].every((list) => list.length > 0) && all.join() === [...Array(config.TOPIC_PARTITIONS).keys()].join();
  }, `${processors} processors each on partitions of their own`, 120_000, 250);
  return [...owned].map(([name, list]) => `${name} [${list.join(",")}]`).join(", ");
}

/** kill -9 of a member of the cluster profile, started again `downMs` later. */
async function crash(name: ClusterMemberName, downMs: number): Promise<void> {
  const member = clusterMember(name);
  await member.kill9();
  await new Promise((resolve) => setTimeout(resolve, downMs));
  await member.start();
}

async function stop(name: ServiceName): Promise<void> {
  const service = services.get(name)!;
  service.child.kill("SIGTERM");
  await service.exited;
  services.delete(name);
}

/** The config of a run on the local stack's single node: its env file, with the cluster settings at their single-node values. */
function singleNodeConfig(): Config {
  const file = process.env.CLM_SINGLE_STACK_ENV;
  if (file === undefined) throw new Error("CLM_SINGLE_STACK_ENV must name the local stack's env file (scripts/test.sh sets it)");
  return isolatedConfig({
    KAFKA_REPLICATION_FACTOR: "1",
    KAFKA_MIN_INSYNC_REPLICAS: "1",
    REDIS_CLUSTER: "false",
    REDIS_WAIT_REPLICAS: "0",
    CLICKHOUSE_CLUSTER: "",
    CLICKHOUSE_SHARD_URLS: "",
    ...readEnvFile(file),
    TOPIC_PARTITIONS: "6",
    CLICKHOUSE_DATABASE: `test_${run}_single`,
    SINK_GROUP_ID: `test-${run}-single-sink`,
    SINK_FLUSH_INTERVAL_MS: "300",
    INGEST_PORT: "0",
    PROCESSOR_HTTP_PORT: "0",
    SINK_HTTP_PORT: "0",
    LOG_LEVEL: "info",
  });
}

/** The same log on the local stack's single node, without faults: the views every cluster run must equal. */
async function singleNodeViews(): Promise<ViewSnapshot> {
  const singleConfig = singleNodeConfig();
  const singleKafka = testKafka(singleConfig);
  const singleRedis = createRedis(singleConfig);
  const singleClickHouse = createClickHouse(singleConfig);
  await createTopics(singleKafka, singleConfig);
  const env = envOf({ ...singleConfig, INGEST_PORT: await freePort() });
  const started: RunningService[] = [];
  try {
    for (const name of ["sink", "processor-1", "ingest"] as const) {
      const service = startService(ENTRIES[name], env);
      started.push(service);
      logs.add(`single-${name}`, service);
      await service.waitForLog(READY[name], 120_000);
    }
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${env.INGEST_PORT}`, apiKey: KEY, batchSize: 1000 });
    const sent = await client.send(events);
    expect(sent.accepted).toBe(events.length);
    const expected = await coreExpectation(singleKafka, singleConfig, lifecycle);
    await caughtUp(singleConfig, singleRedis, singleClickHouse, expected);
    return await viewSnapshot(async (sql) => queryRows(singleClickHouse, sql), singleConfig.CLICKHOUSE_DATABASE);
  } finally {
    for (const service of started) {
      service.child.kill("SIGTERM");
      await service.exited;
    }
    await singleClickHouse.command({ query: `DROP DATABASE IF EXISTS ${singleConfig.CLICKHOUSE_DATABASE}` });
    await singleClickHouse.close();
    await tearDownRun(singleKafka, singleRedis, singleConfig);
  }
}

/** Until the processors have applied every record of the input topic and emptied every outbox, and the sink has written every event and stage change. */
async function caughtUp(runConfig: Config, client: RedisClient, ch: ClickHouseClient, expected: CoreExpectation): Promise<void> {
  const store = new StateReader(client, new RedisLayout(runConfig.REDIS_KEY_PREFIX));
  await waitFor(async () => {
    for (const [partition, end] of expected.ends) if ((await store.loadMeta(partition)).offset !== end || (await store.outboxLength(partition)) > 0) return false;
    return true;
  }, "the processors to apply and publish everything", 300_000, 500);
  const db = runConfig.CLICKHOUSE_DATABASE;
  const count = async (query: string) => Number((await queryRows<{ n: string }>(ch, query))[0]!.n);
  await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.events_unique`)) === expected.uniqueValidEvents, "the sink to write every event", 300_000, 1000);
  await waitFor(async () => (await count(`SELECT count() AS n FROM ${db}.stage_transitions_unique`)) === expected.transitionIds.size, "the sink to write every stage change", 300_000, 1000);
}

/** Every customer's Redis state is the core's fold of the input topic as it is now. */
async function expectCoreState(): Promise<CoreExpectation> {
  const expected = await coreExpectation(kafka, config, lifecycle);
  await caughtUp(config, redis, clickhouse, expected);
  expect(await mismatchedStates(new StateReader(redis, new RedisLayout(config.REDIS_KEY_PREFIX)), expected.states)).toEqual([]);
  return expected;
}

beforeAll(async () => {
  events = (await readCdnowFile()).events as InputEvent[];
  single = await singleNodeViews();
  config = faultTestConfig(run, await freePort(), { TOPIC_PARTITIONS: "6", INGEST_PUBLISH_TIMEOUT_MS: "10000" });
  kafka = testKafka(config);
  redis = createRedis(config);
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  await start("sink");
  await start("processor-1");
  await start("processor-2");
  await start("ingest");
  await eachOnItsOwnPartitions(2);
}, 600_000);

afterAll(async () => {
  logs.write();
  // Whatever happened, every member runs again for the next suite.
  for (const name of ["kafka-1", "kafka-2", "kafka-3", "redis-1", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6", "clickhouse-1", "clickhouse-2"] as const) {
    if (clusterMember(name).process() === undefined) await clusterMember(name).start();
  }
  for (const name of [...services.keys()]) await stop(name);
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  if (redis) await tearDownRun(kafka, redis, config);
}, 300_000);

describe("the pipeline on the cluster profile", () => {
  it("equals the pure core and a single-node run through rebalances, a broker kill, a Redis failover and a ClickHouse shard stop", async () => {
    onTestFailed(() => logs.report());
    const landed: string[] = [];
    const faults: { name: string; server: boolean; inject: () => Promise<void> }[] = [
      {
        name: "a third processor joins (rebalance)",
        server: false,
        inject: async () => {
          await start("processor-3");
          landed.push(`three processors: ${await eachOnItsOwnPartitions(3)}`);
        },
      },
      { name: "kill -9 of a Kafka broker, restarted 10 s later", server: true, inject: () => crash("kafka-2", 10_000) },
      {
        name: "kill -9 of the Redis master of partition 0 (its replica takes over; the node comes back as a replica)",
        server: true,
        inject: async () => crash(await redisMasterMemberFor(new RedisLayout(config.REDIS_KEY_PREFIX).meta(0)), 0),
      },
      {
        name: "ClickHouse shard 2 stopped for 60 s",
        server: true,
        inject: async () => {
          const shard = clusterMember("clickhouse-2");
          await shard.stop();
          await new Promise((resolve) => setTimeout(resolve, 60_000));
          await shard.start();
        },
      },
      {
        name: "the first processor leaves (rebalance)",
        server: false,
        inject: async () => {
          await stop("processor-1");
          landed.push(`two processors: ${await eachOnItsOwnPartitions(2)}`);
        },
      },
    ];
    const chunkSize = Math.ceil(events.length / (faults.length + 1));
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${config.INGEST_PORT}`, apiKey: KEY, batchSize: 250, maxAttempts: 60, initialBackoffMs: 250 });
    for (let index = 0; index <= faults.length; index++) {
      const chunk = events.slice(index * chunkSize, (index + 1) * chunkSize);
      const sending = client.send(chunk);
      const fault = faults[index];
      if (fault) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const started = Date.now();
        await fault.inject();
        landed.push(`${fault.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }
      const result = await sending;
      expect(result.accepted).toBe(chunk.length);
      // After a server fault, the pipeline catches up to exactly the core's state before the load goes on.
      if (fault?.server) await expectCoreState();
    }

    const expected = await expectCoreState();
    expect(expected.states.size).toBe(23_570);

    // Kafka: the stage-change ids are exactly the core's (repeats allowed: consumers dedupe on the id; counted and printed).
    const { ids: published, publishes } = await publishedStageChanges(kafka, config);
    expect(published).toEqual(expected.transitionIds);

    // ClickHouse across both shards: every event and stage change once, and every view equals the single-node run's.
    const db = config.CLICKHOUSE_DATABASE;
    const written = await queryRows<{ transition_id: string }>(clickhouse, `SELECT transition_id FROM ${db}.stage_transitions_unique`);
    expect(new Set(written.map((row) => row.transition_id))).toEqual(expected.transitionIds);
    const views = await viewSnapshot(async (sql) => queryRows(clickhouse, sql), db);
    expect(views).toEqual(single);
    // Both shards hold events, each customer's on one shard only: the distinct events per shard add up to the log.
    const perShard: number[] = [];
    for (const url of config.CLICKHOUSE_SHARD_URLS) {
      const shard = createClickHouse({ ...config, CLICKHOUSE_URL: url });
      perShard.push(Number((await queryRows<{ n: string }>(shard, `SELECT uniqExact(event_id) AS n FROM ${db}.events_local`))[0]!.n));
      await shard.close();
    }
    expect(perShard.length).toBe(2);
    expect(perShard.every((n) => n > 0)).toBe(true);
    expect(perShard.reduce((sum, n) => sum + n, 0)).toBe(events.length);
    console.log(
      `cluster run: ${landed.join("; ")}; ${publishes - published.size} repeated stage-change publishes of ${published.size}; distinct events per shard ${perShard.join(" + ")}`,
    );
  }, 1_800_000);
});
