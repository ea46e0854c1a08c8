import { randomUUID } from "node:crypto";
import { RedisLayout } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { createClickHouse } from "@clm/clickhouse";
import { createRedis } from "@clm/redis";
import { afterAll, describe, expect, it } from "vitest";
import { envOf, startService, type RunningService } from "./support/child-service.ts";
import { kafkaWithFileTopics } from "./support/file-topics.ts";
import { isolatedConfig } from "./support/pipeline.ts";

/** Every service, as a real process, checks at start that the kafkajs it runs carries the project's patch, and says so on /metrics. */
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({
  INGEST_PORT: "0",
  PROCESSOR_HTTP_PORT: "0",
  SINK_HTTP_PORT: "0",
  CLICKHOUSE_DATABASE: `test_${run}`,
  SINK_GROUP_ID: `test-${run}-sink`,
  LOG_LEVEL: "info",
});
kafkaWithFileTopics(config);
const started: RunningService[] = [];

afterAll(async () => {
  for (const service of started) {
    if (service.child.exitCode === null) service.child.kill("SIGTERM");
    await service.exited;
  }
  const clickhouse = createClickHouse(config);
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse.close();
  const redis = createRedis(config);
  await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
  redis.disconnect();
}, 60_000);

describe("kafkajs patch check at service start", () => {
  it.each([
    ["ingest", "ingest listening"],
    ["processor", "processor running"],
    ["sink", "sink running"],
  ] as const)("%s reports the installed kafkajs patched (gauge 1) and logs no kafkajs error", async (name, ready) => {
    const service = startService(`services/${name}/src/main.ts`, envOf(config));
    started.push(service);
    const { port } = JSON.parse(await service.waitForLog(ready, 120_000)) as { port: number };
    const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(exposition).toContain(`clm_kafkajs_patched{service="${name}"} 1`);
    expect(service.output()).not.toContain("kafkajs is not patched");
    service.child.kill("SIGTERM");
    expect(await service.exited).toBe(0);
  });
});
