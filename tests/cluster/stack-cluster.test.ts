// Proves the cluster profile of the local stack (infra/stack-cluster.sh) is the cluster the pipeline's
// cluster tests assume: 3 Kafka brokers replicating the project's topics 3 times with min.insync.replicas
// 2, a Redis Cluster of 3 masters with a replica each that survives a master's crash, and 2 ClickHouse
// shards of the cluster `clm`. It also exercises the testkit's clusterMember helpers, which other
// cluster tests use to crash and restart members.
//
//   npm run stack -- up --profile cluster
//   npx vitest run --project cluster tests/cluster/stack-cluster.test.ts
//
// Addresses come from the cluster profile's env file (the `cluster` project loads it).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigResourceTypes, type Admin, type Kafka } from "kafkajs";
import { Cluster, Redis } from "ioredis";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { loadConfig } from "@clm/config";
import { createIdempotentProducer, createKafka, ensureProjectTopics, ensureTopics, projectTopics } from "@clm/kafka";
import { clusterMember, redisMasterMemberFor, testLogger, waitFor } from "@clm/testkit";

const RUN = `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
const list = (name: string): string[] => (process.env[name] ?? "").split(",").filter(Boolean);

describe("Kafka: 3 brokers, topics with RF 3 and min.insync.replicas 2", () => {
  // Only the Kafka part of the cluster env, with topics of this run.
  const config = loadConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    KAFKA_REPLICATION_FACTOR: process.env.KAFKA_REPLICATION_FACTOR,
    KAFKA_MIN_INSYNC_REPLICAS: process.env.KAFKA_MIN_INSYNC_REPLICAS,
    TOPIC_EVENTS: `cluster-test.${RUN}.events`,
    TOPIC_STAGE_CHANGES: `cluster-test.${RUN}.stage-changes`,
    TOPIC_VALUE_TIER_CHANGES: `cluster-test.${RUN}.value-tier-changes`,
    TOPIC_RISK_CHANGES: `cluster-test.${RUN}.risk-changes`,
    TOPIC_AUDIENCE_CHANGES: `cluster-test.${RUN}.audience-changes`,
    TOPIC_DEAD_LETTER: `cluster-test.${RUN}.dead-letter`,
    TOPIC_PARTITIONS: "6",
  });
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `cluster-test-${RUN}`, logger: testLogger });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: projectTopics(config), timeout: 10_000 }).catch(() => undefined);
    await admin.disconnect();
  });

  it("has three brokers, each defaulting to RF 3, min.insync.replicas 2 and no unclean leader election", async () => {
    expect(config.KAFKA_BROKERS).toHaveLength(3);
    expect([config.KAFKA_REPLICATION_FACTOR, config.KAFKA_MIN_INSYNC_REPLICAS]).toEqual([3, 2]);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((broker) => `${broker.host}:${broker.port}`).sort()).toEqual([...config.KAFKA_BROKERS].sort());
    expect(cluster.brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2, 3]);

    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [1, 2, 3].map((id) => ({
        type: ConfigResourceTypes.BROKER,
        name: String(id),
        configNames: ["default.replication.factor", "min.insync.replicas", "unclean.leader.election.enable", "offsets.topic.replication.factor", "transaction.state.log.min.isr"],
      })),
    });
    for (const resource of described.resources) {
      const values = Object.fromEntries(resource.configEntries.map((entry) => [entry.configName, entry.configValue]));
      expect(values).toEqual({
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "unclean.leader.election.enable": "false",
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
      });
    }
  });

  it("creates the project's topics with ensureProjectTopics: 3 replicas in sync and min.insync.replicas 2 on each", async () => {
    await ensureProjectTopics(admin, config);
    const metadata = await admin.fetchTopicMetadata({ topics: projectTopics(config) });
    for (const topic of metadata.topics) {
      expect(topic.partitions).toHaveLength(6);
      for (const partition of topic.partitions) {
        expect(partition.replicas.sort()).toEqual([1, 2, 3]);
        expect(partition.isr.sort()).toEqual([1, 2, 3]);
      }
    }
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: projectTopics(config).map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ["min.insync.replicas"] })),
    });
    expect(described.resources.map((resource) => resource.configEntries.map((entry) => [entry.configName, entry.configValue, entry.configSource]))).toEqual(
      // configSource 1: set on the topic itself (TOPIC_CONFIG), not inherited from the broker.
      projectTopics(config).map(() => [["min.insync.replicas", "2", 1]]),
    );
    // A second call finds them as configured and changes nothing.
    await expect(ensureProjectTopics(admin, config)).resolves.toBeUndefined();
  });

  it("refuses a topic with fewer replicas than KAFKA_REPLICATION_FACTOR", async () => {
    const topic = `cluster-test.${RUN}.one-replica`;
    await ensureTopics(admin, [{ topic, numPartitions: 6, replicationFactor: 1 }]);
    try {
      await expect(ensureProjectTopics(admin, { ...config, TOPIC_DEAD_LETTER: topic })).rejects.toThrow(
        `topic ${topic} has 1 replica(s) per partition, expected 3 (KAFKA_REPLICATION_FACTOR)`,
      );
    } finally {
      await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    }
  });

  it("keeps taking acks=all writes while a broker is killed, and the restarted broker catches up", async () => {
    await ensureProjectTopics(admin, config);
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const broker = clusterMember("kafka-3");
    try {
      await broker.kill9();
      expect(broker.process()).toBeUndefined();
      // Two replicas stay in sync (= min.insync.replicas): every partition still takes acks=all writes;
      // a leader on the dead broker moves once the controller fences it.
      const acks = await producer.send({
        topic: config.TOPIC_EVENTS,
        acks: -1,
        messages: Array.from({ length: 60 }, (_, index) => ({ key: `customer-${index}`, value: `while kafka-3 is down ${index}` })),
      });
      // One answer per partition, none an error, and every record written: a partition whose leader moved
      // to a broker that had answered already is sent again (patches/kafkajs: resend-per-partition).
      expect(acks.map((ack) => [ack.partition, ack.errorCode]).sort()).toEqual([0, 1, 2, 3, 4, 5].map((partition) => [partition, 0]));
      const written = await admin.fetchTopicOffsets(config.TOPIC_EVENTS);
      expect(written.filter((offset) => Number(offset.high) > 0)).toHaveLength(6);
      expect(written.reduce((sum, offset) => sum + Number(offset.high), 0)).toBe(60);
      const during = await admin.fetchTopicMetadata({ topics: [config.TOPIC_EVENTS] });
      for (const partition of during.topics[0]!.partitions) expect(partition.isr.sort()).toEqual([1, 2]);

      // `up` returns once the broker is back in the ISR of every partition it replicates.
      await broker.start();
      const after = await admin.fetchTopicMetadata({ topics: [config.TOPIC_EVENTS] });
      for (const partition of after.topics[0]!.partitions) expect(partition.isr.sort()).toEqual([1, 2, 3]);
      const offsets = await admin.fetchTopicOffsets(config.TOPIC_EVENTS);
      expect(offsets.reduce((sum, offset) => sum + Number(offset.high), 0)).toBe(60);
    } finally {
      await producer.disconnect();
      if (!broker.process()) await broker.start();
    }
  });
});

describe("Redis Cluster: 3 masters with a replica each", () => {
  const urls = list("REDIS_URL");
  const nodes = urls.map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) }));
  const prefix = `cluster-test:${RUN}`;
  let cluster: Cluster;

  // One node's answer to a command, on a connection of its own (the node may have just restarted).
  async function ask(port: number, ...command: string[]): Promise<string> {
    const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await redis.connect();
      return String(await redis.call(command[0]!, ...command.slice(1)));
    } finally {
      redis.disconnect();
    }
  }
  const field = (text: string, name: string): string | undefined => new RegExp(`^${name}:(.*)$`, "m").exec(text)?.[1]?.trim();

  interface Shape {
    masters: { id: string; port: number; slots: number }[];
    replicas: { port: number; masterId: string; connected: boolean }[];
  }
  async function shape(port: number): Promise<Shape> {
    const lines = (await ask(port, "CLUSTER", "NODES")).trim().split("\n");
    const masters: Shape["masters"] = [];
    const replicas: Shape["replicas"] = [];
    for (const line of lines) {
      const [id, address, flags, masterId, , , , link, ...slots] = line.split(" ");
      if (flags!.includes("fail")) continue;
      const nodePort = Number(address!.split("@")[0]!.split(":")[1]);
      if (flags!.includes("master") && slots.length > 0) {
        const count = slots.reduce((sum, range) => {
          const [from, to = from] = range.split("-").map(Number);
          return sum + (to! - from! + 1);
        }, 0);
        masters.push({ id: id!, port: nodePort, slots: count });
      } else if (flags!.includes("slave")) {
        replicas.push({ port: nodePort, masterId: masterId!, connected: link === "connected" });
      }
    }
    return { masters, replicas };
  }

  beforeAll(() => {
    expect(process.env.REDIS_CLUSTER).toBe("true");
    cluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 3 } });
  });

  afterAll(async () => {
    const keys = [`${prefix}:{a}`, `${prefix}:{b}`, `${prefix}:{c}`, `${prefix}:failover:{p0}`];
    for (const key of keys) await cluster.del(key).catch(() => undefined);
    cluster.disconnect();
  });

  it("has six nodes in cluster_state:ok: 3 masters covering every slot, each with a connected replica", async () => {
    expect(nodes.map((node) => node.port)).toEqual([27001, 27002, 27003, 27004, 27005, 27006]);
    for (const node of nodes) {
      const info = await ask(node.port, "CLUSTER", "INFO");
      expect(field(info, "cluster_state")).toBe("ok");
      expect(field(info, "cluster_known_nodes")).toBe("6");
      expect(field(info, "cluster_slots_assigned")).toBe("16384");
    }
    const { masters, replicas } = await shape(nodes[0]!.port);
    expect(masters).toHaveLength(3);
    expect(masters.reduce((sum, master) => sum + master.slots, 0)).toBe(16384);
    expect(replicas).toHaveLength(3);
    expect(new Set(replicas.map((replica) => replica.masterId))).toEqual(new Set(masters.map((master) => master.id)));
    expect(replicas.every((replica) => replica.connected)).toBe(true);
    // AOF on every node (`appendfsync everysec`), as in the single-node stack.
    for (const node of nodes) {
      expect(await ask(node.port, "CONFIG", "GET", "appendonly")).toBe("appendonly,yes");
    }
  });

  it("serves keys of every slot through the ioredis Cluster client", async () => {
    for (const tag of ["a", "b", "c"]) await cluster.set(`${prefix}:{${tag}}`, tag);
    expect(await Promise.all(["a", "b", "c"].map((tag) => cluster.get(`${prefix}:{${tag}}`)))).toEqual(["a", "b", "c"]);
  });

  it("promotes a replica when a master is killed, and the restarted node rejoins as a replica of it", async () => {
    const key = `${prefix}:failover:{p0}`;
    const victim = clusterMember(await redisMasterMemberFor(key, urls));
    const victimPort = nodes[Number(victim.name.split("-")[1]) - 1]!.port;
    const before = await shape(victimPort);
    const victimId = before.masters.find((master) => master.port === victimPort)!.id;
    const replicaPort = before.replicas.find((replica) => replica.masterId === victimId)!.port;
    await cluster.set(key, "written before the crash");
    // The replica has it before the crash (what REDIS_WAIT_REPLICAS=1 asks of the pipeline's writes).
    expect(await cluster.nodes("master").find((node) => node.options.port === victimPort)!.call("WAIT", "1", "5000")).toBe(1);

    try {
      const killedAt = Date.now();
      await victim.kill9();
      await waitFor(
        async () => {
          const info = await ask(replicaPort, "INFO", "replication").catch(() => "");
          const state = await ask(replicaPort, "CLUSTER", "INFO").catch(() => "");
          return field(info, "role") === "master" && field(state, "cluster_state") === "ok";
        },
        `the replica on ${replicaPort} to take over from ${victim.name}`,
        30_000,
        250,
      );
      const failoverMs = Date.now() - killedAt;
      expect(failoverMs).toBeLessThan(20_000);
      expect(await redisMasterMemberFor(key, urls)).toBe(`redis-${nodes.findIndex((node) => node.port === replicaPort) + 1}`);
      expect(await cluster.get(key)).toBe("written before the crash");

      await victim.start();
      const info = await ask(victimPort, "INFO", "replication");
      expect([field(info, "role"), field(info, "master_port"), field(info, "master_link_status")]).toEqual(["slave", String(replicaPort), "up"]);
      const after = await shape(nodes[0]!.port);
      expect(after.masters).toHaveLength(3);
      expect(after.masters.map((master) => master.port)).toContain(replicaPort);
      expect(after.replicas.filter((replica) => replica.connected)).toHaveLength(3);
      expect(await cluster.get(key)).toBe("written before the crash");
    } finally {
      if (!victim.process()) await victim.start();
    }
  });
});

describe("ClickHouse: two shards of the cluster clm", () => {
  const shardUrls = list("CLICKHOUSE_SHARD_URLS");
  const clients = shardUrls.map((url) =>
    // Silent: the stopped shard's refusals are expected, and asserted.
    createClient({ url, username: process.env.CLICKHOUSE_USER ?? "default", password: process.env.CLICKHOUSE_PASSWORD ?? "", request_timeout: 30_000, log: { level: ClickHouseLogLevel.OFF } }),
  );
  const database = process.env.CLICKHOUSE_DATABASE ?? "clm";
  const probe = `cluster_probe_${RUN}`;

  const rows = async <T>(shard: number, query: string): Promise<T[]> => (await clients[shard]!.query({ query, format: "JSONEachRow" })).json<T>();

  afterAll(async () => {
    await clients[0]?.command({ query: `DROP TABLE IF EXISTS ${database}.${probe}` });
    await Promise.all(clients.map((client) => client.close()));
  });

  it("has both shards answering, each with the database, its shard macro and the cluster clm of 2 shards", async () => {
    expect(process.env.CLICKHOUSE_CLUSTER).toBe("clm");
    expect(shardUrls).toEqual(["http://127.0.0.1:28123", "http://127.0.0.1:28124"]);
    expect(process.env.CLICKHOUSE_URL).toBe(shardUrls[0]);
    for (const [index] of shardUrls.entries()) {
      expect(await rows<{ shard: string }>(index, "SELECT substitution AS shard FROM system.macros WHERE macro = 'shard'")).toEqual([{ shard: String(index + 1) }]);
      expect(await rows(index, `SELECT name FROM system.databases WHERE name = '${database}'`)).toEqual([{ name: database }]);
      const shards = await rows<{ shard_num: number; host_address: string; port: number; is_local: number }>(
        index,
        "SELECT shard_num, host_address, port, is_local FROM system.clusters WHERE cluster = 'clm' ORDER BY shard_num",
      );
      expect(shards).toEqual([
        { shard_num: 1, host_address: "127.0.0.1", port: 29000, is_local: index === 0 ? 1 : 0 },
        { shard_num: 2, host_address: "127.0.0.1", port: 29001, is_local: index === 1 ? 1 : 0 },
      ]);
    }
  });

  it("reads both shards through a Distributed table (the cluster's credentials work), and a stopped shard comes back", async () => {
    await clients[0]!.command({ query: `CREATE TABLE ${database}.${probe} AS system.one ENGINE = Distributed(clm, system, one)` });
    expect(await rows(0, `SELECT count() AS rows FROM ${database}.${probe}`)).toEqual([{ rows: "2" }]);

    const shard2 = clusterMember("clickhouse-2");
    try {
      await shard2.stop();
      expect(shard2.process()).toBeUndefined();
      await expect(clients[1]!.query({ query: "SELECT 1" })).rejects.toThrow();
      await expect(rows(0, `SELECT count() AS rows FROM ${database}.${probe}`)).rejects.toThrow();
    } finally {
      await shard2.start();
    }
    expect(await rows(1, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
    expect(await rows(0, `SELECT count() AS rows FROM ${database}.${probe}`)).toEqual([{ rows: "2" }]);
  });
});
