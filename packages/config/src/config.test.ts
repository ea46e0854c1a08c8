import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("defaults point at the local stack", () => {
    const config = loadConfig({});
    expect(config.KAFKA_BROKERS).toEqual(["127.0.0.1:19092"]);
    expect(config.SCHEMA_REGISTRY_URL).toBe("http://127.0.0.1:18081/apis/ccompat/v7");
    expect(config.REDIS_URL).toEqual(["redis://127.0.0.1:16379"]);
    expect([config.REDIS_CLUSTER, config.REDIS_WAIT_REPLICAS]).toEqual([false, 0]);
    expect(config.CLICKHOUSE_URL).toBe("http://127.0.0.1:18123");
    expect(config.CLICKHOUSE_DATABASE).toBe("clm");
    expect(config.TOPIC_PARTITIONS).toBe(6);
    expect(config.CLOCK_MODE).toBe("wall");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("parses lists and numbers", () => {
    const config = loadConfig({ KAFKA_BROKERS: "a:1, b:2", TOPIC_PARTITIONS: "12", INGEST_API_KEYS: "k1,k2" });
    expect(config.KAFKA_BROKERS).toEqual(["a:1", "b:2"]);
    expect(config.TOPIC_PARTITIONS).toBe(12);
    expect(config.INGEST_API_KEYS).toEqual(["k1", "k2"]);
  });

  it("holds events to at most one day ahead of the receiving clock unless told otherwise, and never more than 30 days", () => {
    expect(loadConfig({}).MAX_FUTURE_SKEW_MS).toBe(86_400_000);
    expect(loadConfig({ MAX_FUTURE_SKEW_MS: "0" }).MAX_FUTURE_SKEW_MS).toBe(0);
    expect(() => loadConfig({ MAX_FUTURE_SKEW_MS: String(31 * 86_400_000) })).toThrow(/MAX_FUTURE_SKEW_MS/);
    expect(() => loadConfig({ MAX_FUTURE_SKEW_MS: "-1" })).toThrow(/MAX_FUTURE_SKEW_MS/);
  });

  it("sets the ingest server's timeouts deliberately, the headers' never longer than the request's", () => {
    const config = loadConfig({});
    expect([config.INGEST_HEADERS_TIMEOUT_MS, config.INGEST_REQUEST_TIMEOUT_MS, config.INGEST_KEEP_ALIVE_TIMEOUT_MS]).toEqual([10_000, 30_000, 5_000]);
    expect(loadConfig({ INGEST_HEADERS_TIMEOUT_MS: "500", INGEST_REQUEST_TIMEOUT_MS: "500" }).INGEST_REQUEST_TIMEOUT_MS).toBe(500);
    expect(() => loadConfig({ INGEST_HEADERS_TIMEOUT_MS: "20000", INGEST_REQUEST_TIMEOUT_MS: "10000" })).toThrow(/INGEST_HEADERS_TIMEOUT_MS: must be at most INGEST_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ INGEST_KEEP_ALIVE_TIMEOUT_MS: "0" })).toThrow(/INGEST_KEEP_ALIVE_TIMEOUT_MS/);
    expect(() => loadConfig({ INGEST_REQUEST_TIMEOUT_MS: "x", TOPIC_PARTITIONS: "0" })).toThrow(ConfigError);
  });

  it("reads a sharded ClickHouse as a cluster name with every shard's URL, both or neither", () => {
    expect([loadConfig({}).CLICKHOUSE_CLUSTER, loadConfig({}).CLICKHOUSE_SHARD_URLS]).toEqual(["", []]);
    const sharded = loadConfig({ CLICKHOUSE_CLUSTER: "clm", CLICKHOUSE_SHARD_URLS: "http://127.0.0.1:28123, http://127.0.0.1:28124" });
    expect([sharded.CLICKHOUSE_CLUSTER, sharded.CLICKHOUSE_SHARD_URLS]).toEqual(["clm", ["http://127.0.0.1:28123", "http://127.0.0.1:28124"]]);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: "clm" })).toThrow(/CLICKHOUSE_SHARD_URLS: CLICKHOUSE_CLUSTER and CLICKHOUSE_SHARD_URLS go together/);
    expect(() => loadConfig({ CLICKHOUSE_SHARD_URLS: "http://127.0.0.1:28123" })).toThrow(/go together/);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: "clm; DROP", CLICKHOUSE_SHARD_URLS: "http://a:1" })).toThrow(/CLICKHOUSE_CLUSTER: expected an identifier/);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: "clm", CLICKHOUSE_SHARD_URLS: "redis://a:1" })).toThrow(/CLICKHOUSE_SHARD_URLS/);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: "clm", CLICKHOUSE_SHARD_URLS: "http://a:1,http://a:1" })).toThrow(/names a shard twice/);
  });

  it("replicates topics once on a single broker unless told otherwise, never asking for more in-sync replicas than replicas", () => {
    expect([loadConfig({}).KAFKA_REPLICATION_FACTOR, loadConfig({}).KAFKA_MIN_INSYNC_REPLICAS]).toEqual([1, 1]);
    const cluster = loadConfig({ KAFKA_REPLICATION_FACTOR: "3", KAFKA_MIN_INSYNC_REPLICAS: "2" });
    expect([cluster.KAFKA_REPLICATION_FACTOR, cluster.KAFKA_MIN_INSYNC_REPLICAS]).toEqual([3, 2]);
    expect(() => loadConfig({ KAFKA_REPLICATION_FACTOR: "2", KAFKA_MIN_INSYNC_REPLICAS: "3" })).toThrow(/KAFKA_MIN_INSYNC_REPLICAS: must be at most KAFKA_REPLICATION_FACTOR/);
    expect(() => loadConfig({ KAFKA_REPLICATION_FACTOR: "0" })).toThrow(/KAFKA_REPLICATION_FACTOR/);
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ REDIS_URL: "" }).REDIS_URL).toEqual(["redis://127.0.0.1:16379"]);
  });

  it("reads a Redis Cluster as a list of node URLs, and refuses a list without REDIS_CLUSTER", () => {
    const config = loadConfig({ REDIS_URL: "redis://127.0.0.1:27001, redis://127.0.0.1:27002", REDIS_CLUSTER: "true", REDIS_WAIT_REPLICAS: "1" });
    expect(config.REDIS_URL).toEqual(["redis://127.0.0.1:27001", "redis://127.0.0.1:27002"]);
    expect([config.REDIS_CLUSTER, config.REDIS_WAIT_REPLICAS, config.REDIS_WAIT_TIMEOUT_MS]).toEqual([true, 1, 2000]);
    expect(loadConfig({ REDIS_CLUSTER: "false" }).REDIS_CLUSTER).toBe(false);
    expect(() => loadConfig({ REDIS_URL: "redis://a:1,redis://b:2" })).toThrow(/REDIS_URL: lists several URLs: set REDIS_CLUSTER=true/);
    expect(() => loadConfig({ REDIS_URL: "redis://a:1,http://b:2", REDIS_CLUSTER: "true" })).toThrow(/REDIS_URL: expected a redis:\/\//);
    expect(() => loadConfig({ REDIS_CLUSTER: "sometimes" })).toThrow(/REDIS_CLUSTER: expected true or false/);
    expect(() => loadConfig({ REDIS_WAIT_REPLICAS: "-1" })).toThrow(/REDIS_WAIT_REPLICAS/);
  });

  it("names every wrong variable and what is wrong", () => {
    let error: unknown;
    try {
      loadConfig({ KAFKA_BROKERS: "nohost", REDIS_URL: "http://x", TOPIC_PARTITIONS: "0", CLOCK_MODE: "sometimes" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((problem) => problem.variable).sort();
    expect(problems).toEqual(["CLOCK_MODE", "KAFKA_BROKERS", "REDIS_URL", "TOPIC_PARTITIONS"]);
    expect((error as ConfigError).message).toMatch(/KAFKA_BROKERS: .*host:port.*"nohost"/);
    expect((error as ConfigError).message).toMatch(/REDIS_URL: .*redis:\/\//);
  });

  it("never echoes secrets in errors", () => {
    try {
      loadConfig({ INGEST_API_KEYS: "secret-key", TOPIC_PARTITIONS: "x" });
    } catch (caught) {
      expect((caught as Error).message).not.toContain("secret-key");
    }
    expect(() => loadConfig({ INGEST_API_KEYS: "secret-key", TOPIC_PARTITIONS: "x" })).toThrow(ConfigError);
  });
});
