// Proves that each server of the local stack (infra/stack.sh, or docker-compose.yml) is real:
// every test talks to the server over its wire protocol and checks the values that come back.
//
//   npm run stack -- up
//   npx vitest run --project integration tests/integration/stack.test.ts
//
// Addresses and credentials come from the same configuration the services read (packages/config,
// from the variables in .stack/env), with the local stack's defaults.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kafka, Partitioners, logLevel } from "kafkajs";
import type { Admin, Consumer, Producer } from "kafkajs";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { createRedis } from "@clm/redis";
import { createClient } from "@clickhouse/client";
import type { ClickHouseClient } from "@clickhouse/client";
import { loadConfig } from "@clm/config";

const stackConfig = loadConfig(process.env);
const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE } = stackConfig;

// A suffix that keeps names unique per run (and valid as Kafka topic / ClickHouse identifiers).
const RUN = `${Date.now().toString(36)}_${randomUUID().slice(0, 8)}`;

describe("Kafka", () => {
  const kafka = new Kafka({
    clientId: `stack-test-${RUN}`,
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    retry: { retries: 5 },
  });
  const topic = `stack-test.${RUN}`;
  const groupId = `stack-test-${RUN}`;
  let admin: Admin;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    const topics = await admin.listTopics();
    if (topics.includes(topic)) await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    if (groups.includes(groupId)) await admin.deleteGroups([groupId]);
    await admin.disconnect();
  });

  it("creates a 3-partition topic, produces records and consumes them back", async () => {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    expect(created).toBe(true);

    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]?.partitions ?? [];
    expect(partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    for (const p of partitions) expect(p.leader).toBeGreaterThanOrEqual(0);

    producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const sent = [0, 1, 2].map((partition) => ({
      partition,
      key: `customer-${partition}-${RUN}`,
      value: JSON.stringify({ partition, run: RUN, at: new Date().toISOString() }),
      headers: { probe: "stack-test" },
    }));
    const acks = await producer.send({ topic, acks: -1, messages: sent });
    expect(acks).toHaveLength(3);
    for (const ack of acks) {
      expect(ack.errorCode).toBe(0);
      expect(ack.topicName).toBe(topic);
    }

    consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received: { partition: number; key: string; value: string; probe: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length}/3 records consumed`)), 45_000);
      void consumer!.run({
        eachMessage: async ({ partition, message }) => {
          received.push({
            partition,
            key: message.key?.toString() ?? "",
            value: message.value?.toString() ?? "",
            probe: message.headers?.["probe"]?.toString() ?? "",
          });
          if (received.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });

    received.sort((a, b) => a.partition - b.partition);
    expect(received).toEqual(sent.map((s) => ({ partition: s.partition, key: s.key, value: s.value, probe: "stack-test" })));

    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.map((o) => [o.partition, o.high]).sort()).toEqual([
      [0, "1"],
      [1, "1"],
      [2, "1"],
    ]);
  });

  it("refuses to auto-create a topic even when the client asks (auto.create.topics.enable=false)", async () => {
    const p = kafka.producer({
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 1 },
    });
    await p.connect();
    try {
      await expect(p.send({ topic: `${topic}.missing`, messages: [{ value: "x" }] })).rejects.toThrow();
    } finally {
      await p.disconnect();
    }
    expect(await admin.listTopics()).not.toContain(`${topic}.missing`);
  });
});

describe("schema registry (Confluent API)", () => {
  const registry = new SchemaRegistry({ host: SCHEMA_REGISTRY_URL });
  const subject = `stack-test-${RUN}-value`;
  const base = SCHEMA_REGISTRY_URL.replace(/\/+$/, "");
  const v1 = {
    type: "record",
    name: "StackProbe",
    namespace: "clm.test",
    fields: [
      { name: "customerId", type: "string" },
      { name: "amountMinor", type: "long" },
      { name: "stage", type: { type: "enum", name: "Stage", symbols: ["NEW", "ACTIVE", "CHURNED"] } },
    ],
  };

  afterAll(async () => {
    // Soft delete, then permanent delete (Confluent API semantics); both must leave no trace.
    await fetch(`${base}/subjects/${encodeURIComponent(subject)}`, { method: "DELETE" });
    await fetch(`${base}/subjects/${encodeURIComponent(subject)}?permanent=true`, { method: "DELETE" });
    const res = await fetch(`${base}/subjects`);
    const subjects = (await res.json()) as string[];
    expect(subjects).not.toContain(subject);
  });

  it("registers an Avro schema, fetches it by id and round-trips a record", async () => {
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    expect(Number.isInteger(id)).toBe(true);
    expect(id).toBeGreaterThan(0);

    // Same id for the same schema, found by subject.
    expect(await registry.getLatestSchemaId(subject)).toBe(id);
    const subjects = (await (await fetch(`${base}/subjects`)).json()) as string[];
    expect(subjects).toContain(subject);

    // Fetch back by id, as a consumer would.
    const raw = (await (await fetch(`${base}/schemas/ids/${id}`)).json()) as { schema: string };
    const fetched = JSON.parse(raw.schema) as { name: string; namespace?: string; fields: { name: string }[] };
    expect(fetched.name).toBe("StackProbe");
    expect(fetched.fields.map((f) => f.name)).toEqual(["customerId", "amountMinor", "stage"]);
    const schema = await registry.getSchema(id);
    expect(schema).toBeTruthy();

    const record = { customerId: `c-${RUN}`, amountMinor: 123_456, stage: "ACTIVE" };
    const encoded = await registry.encode(id, record);
    expect(encoded[0]).toBe(0); // Confluent wire format: magic byte, then the schema id
    expect(encoded.readInt32BE(1)).toBe(id);
    expect(await registry.decode(encoded)).toEqual(record);
  });

  it("has a global BACKWARD rule, so a new subject is protected from its first version", async () => {
    const headers = { "content-type": "application/vnd.schemaregistry.v1+json" };
    expect(await (await fetch(`${base}/config`)).json()).toEqual({ compatibilityLevel: "BACKWARD" });

    // Registered over the bare API: no client sets a rule for the subject first.
    const fresh = `stack-test-${RUN}-fresh-value`;
    const register = (schema: object) => fetch(`${base}/subjects/${encodeURIComponent(fresh)}/versions`, { method: "POST", headers, body: JSON.stringify({ schema: JSON.stringify(schema) }) });
    try {
      expect((await register(v1)).status).toBe(200);
      expect(await (await fetch(`${base}/config/${encodeURIComponent(fresh)}?defaultToGlobal=true`)).json()).toEqual({ compatibilityLevel: "BACKWARD" });
      expect((await register({ ...v1, fields: [...v1.fields, { name: "required", type: "string" }] })).status).toBe(409);
    } finally {
      await fetch(`${base}/subjects/${encodeURIComponent(fresh)}`, { method: "DELETE" });
      await fetch(`${base}/subjects/${encodeURIComponent(fresh)}?permanent=true`, { method: "DELETE" });
    }
  });

  it("enforces BACKWARD compatibility on the subject", async () => {
    const compatible = { ...v1, fields: [...v1.fields, { name: "note", type: "string", default: "" }] };
    const { id: id2 } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(compatible) },
      { subject },
    );
    expect(await registry.getLatestSchemaId(subject)).toBe(id2);

    const incompatible = { ...v1, fields: [...v1.fields, { name: "required", type: "string" }] };
    // A new field without a default cannot read old data: 409 from the registry.
    await expect(
      registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject }),
    ).rejects.toMatchObject({ status: 409 });
    expect(await registry.getLatestSchemaId(subject)).toBe(id2);
  });
});

describe("Redis", () => {
  const redis = createRedis(stackConfig, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const key = `stack-test:${RUN}`;

  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    await redis.del(key);
    await redis.quit();
  });

  it("stores and reads a value, with AOF persistence on", async () => {
    const value = JSON.stringify({ run: RUN, n: 42 });
    expect(await redis.set(key, value, "EX", 60)).toBe("OK");
    expect(await redis.get(key)).toBe(value);
    expect(await redis.ttl(key)).toBeGreaterThan(0);
    expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
    expect(await redis.config("GET", "appendfsync")).toEqual(["appendfsync", "everysec"]);
    expect(await redis.del(key)).toBe(1);
    expect(await redis.get(key)).toBeNull();
  });
});

describe("ClickHouse", () => {
  let ch: ClickHouseClient;
  const table = `${CLICKHOUSE_DATABASE}.stack_test_${RUN}`;

  beforeAll(() => {
    ch = createClient({ url: CLICKHOUSE_URL, username: CLICKHOUSE_USER, password: CLICKHOUSE_PASSWORD });
  });
  afterAll(async () => {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await ch.close();
  });

  it("answers, runs in UTC, and round-trips JSONEachRow rows through a MergeTree table", async () => {
    expect((await ch.ping()).success).toBe(true);
    const info = await ch.query({ query: "SELECT version() AS v, timezone() AS tz", format: "JSONEachRow" });
    const [server] = await info.json<{ v: string; tz: string }>();
    expect(server?.v).toMatch(/^\d+\.\d+/);
    expect(server?.tz).toMatch(/UTC/);

    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${CLICKHOUSE_DATABASE}` });
    await ch.command({
      query: `CREATE TABLE ${table} (
        customer_id String,
        amount Decimal(18, 4),
        amount_minor Int64,
        at DateTime,
        stage Enum8('NEW' = 1, 'ACTIVE' = 2, 'CHURNED' = 3)
      ) ENGINE = MergeTree() ORDER BY (customer_id, at)`,
    });

    // 18.16: a Decimal must arrive as a JSON number (a quoted string is rejected there).
    const rows = [
      { customer_id: "c-1", amount: 12.5, amount_minor: 125_000, at: "2026-01-02 03:04:05", stage: "NEW" },
      { customer_id: "c-2", amount: 0.0001, amount_minor: 1, at: "2026-02-03 04:05:06", stage: "ACTIVE" },
      { customer_id: "c-3", amount: 99999.9999, amount_minor: 999_999_999, at: "2026-03-04 05:06:07", stage: "CHURNED" },
    ];
    await ch.insert({ table, values: rows, format: "JSONEachRow" });

    const rs = await ch.query({
      query: `SELECT customer_id, toString(amount) AS amount, amount_minor, toString(at) AS at, stage
              FROM ${table} ORDER BY customer_id`,
      format: "JSONEachRow",
    });
    const back = await rs.json<{ customer_id: string; amount: string; amount_minor: string | number; at: string; stage: string }>();
    expect(back.map((r) => r.customer_id)).toEqual(["c-1", "c-2", "c-3"]);
    expect(back.map((r) => Number(r.amount))).toEqual([12.5, 0.0001, 99999.9999]);
    // Int64 comes back as a JSON string (output_format_json_quote_64bit_integers).
    expect(back.map((r) => String(r.amount_minor))).toEqual(["125000", "1", "999999999"]);
    expect(back.map((r) => r.at)).toEqual(["2026-01-02 03:04:05", "2026-02-03 04:05:06", "2026-03-04 05:06:07"]);
    expect(back.map((r) => r.stage)).toEqual(["NEW", "ACTIVE", "CHURNED"]);

    const agg = await ch.query({
      query: `SELECT count() AS n, sum(amount_minor) AS total, toUnixTimestamp(max(at)) AS last FROM ${table}`,
      format: "JSONEachRow",
    });
    const [sum] = await agg.json<{ n: string | number; total: string | number; last: string | number }>();
    expect(Number(sum?.n)).toBe(3);
    expect(Number(sum?.total)).toBe(125_000 + 1 + 999_999_999);
    expect(Number(sum?.last)).toBe(Date.UTC(2026, 2, 4, 5, 6, 7) / 1000); // server stores/reads in UTC
  });
});
