import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import {
  createClickHouse,
  createShardClients,
  holdoutActualsFromClickHouse,
  insertLines,
  insertValueModelFit,
  insertValuePredictions,
  localTable,
  migrate,
  migrateCluster,
  queryRows,
  readValueModelFits,
  readValuePredictions,
  SHARDING_KEYS,
  valueSummaries,
} from "@clm/clickhouse";
import type { Config } from "@clm/config";
import { ViewReader } from "@clm/console";
import {
  AUDIENCE_CHANGE_SCHEMA_TEXT,
  RISK_CHANGE_SCHEMA_TEXT,
  STAGE_CHANGE_SCHEMA_TEXT,
  VALUE_TIER_CHANGE_SCHEMA_TEXT,
  recordToCustomerEvent,
} from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type CustomerEvent } from "@clm/core";
import { CDNOW_SAMPLE_PATH, readCdnowCustomerEvents } from "@clm/datasets";
import { AvroSerde, createIdempotentProducer, createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createSinkMetrics, Sink } from "@clm/sink";
import { createTopics, deleteTopics, envOf, isolatedConfig, produceEvents, testKafka, testLogger, waitFor } from "@clm/testkit";
import { fitFromClickHouse, type ValueFit } from "@clm/value-model";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectSameRows, timedRows, viewNames } from "./support/compare.ts";
import { coreRecords, sinkLines, type CoreRecords, type TableLines } from "./support/core-data.ts";
import { controlShard, shardPlace, type ShardPlace } from "./support/shards.ts";

/**
 * Sharded ClickHouse (CLICKHOUSE_CLUSTER, CLICKHOUSE_SHARD_URLS: the cluster profile) against one
 * server. The CDNOW sample and what the pure core makes of it (stage changes and snapshots, value-
 * tier, risk and audience changes under a value model and two audiences), in the rows the sink
 * writes, with copies as at-least-once delivery writes them, go into a sharded database and into a
 * single-node database (plain tables, created by the single-node migrations on the first shard's
 * server: same server version, no second stack needed); then every view, and every query of the
 * console, the value model and `clm cohort`, must answer the same, row for row. The rows must sit on
 * the shard their customer hashes to. Then the sink writes the same records from Kafka into another
 * sharded database while a shard is down (10 s; 60 s with CLM_LONG_FAULTS=1): it retries, and the
 * end state equals the single-node database built from the core.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUTAGE_MS = process.env.CLM_LONG_FAULTS === "1" ? 60_000 : 10_000;
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({ SINK_GROUP_ID: `test-${run}-sink`, SINK_FLUSH_INTERVAL_MS: "200", SINK_RETRY_MAX_MS: "2000" });
const cluster = config.CLICKHOUSE_CLUSTER;
const single = `single_${run}`;
const sharded = `shards_${run}`;
const sinkDb = `shards_sink_${run}`;
/** Written at the same instant everywhere, so data versions and written_at agree. */
const WRITTEN_AT = Date.UTC(2026, 11, 1);
/** The core's timers run to three months past the last purchase (churn and risk changes fire). */
const UNTIL = Date.UTC(1998, 8, 30);
const CALIBRATION_END = "1997-09-30";

/** Writes to the sharded databases: CLICKHOUSE_CLUSTER set, so inserts are synchronous over every shard. */
let writer: ClickHouseClient;
/** Writes to the single-node database: a client as on one server. */
let plain: ClickHouseClient;
/**
 * Every read: a readonly = 1 session with no other setting, as the analysts' read-only user has (the
 * console's), which may change none — so the views and queries are proven to need none on shards.
 */
let reader: ClickHouseClient;
let shards: ClickHouseClient[];
let places: ShardPlace[];
let events: CustomerEvent[];
let records: CoreRecords;
let lines: TableLines;
let fit: ValueFit;

async function insertAll(client: ClickHouseClient, database: string, tables: TableLines): Promise<void> {
  for (const [table, rows] of Object.entries(tables)) {
    for (let start = 0; start < rows.length; start += 20_000) await insertLines(client, `${database}.${table}`, rows.slice(start, start + 20_000));
    // At-least-once delivery: every 50th row written again, in its own insert, as a redelivery would.
    await insertLines(client, `${database}.${table}`, rows.filter((_, index) => index % 50 === 0));
  }
}

async function publishFit(client: ClickHouseClient, database: string): Promise<void> {
  for (let copy = 0; copy < 2; copy++) {
    await insertValueModelFit(client, database, fit.model, fit.settings);
    await insertValuePredictions(client, database, fit.model, fit.predictions);
  }
}

const count = async (client: ClickHouseClient, sql: string) => Number((await queryRows<{ n: string }>(client, sql))[0]!.n);

beforeAll(async () => {
  if (!cluster) throw new Error("tests/cluster needs the cluster profile's environment (CLICKHOUSE_CLUSTER, CLICKHOUSE_SHARD_URLS): npm run stack -- up --profile cluster");
  writer = createClickHouse(config);
  plain = createClickHouse({ ...config, CLICKHOUSE_CLUSTER: "" });
  reader = createClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    keep_alive: { idle_socket_ttl: 1500, eagerly_destroy_stale_sockets: true },
    clickhouse_settings: { readonly: "1" },
  });
  shards = createShardClients(config);
  places = await Promise.all(shards.map((shard) => shardPlace(shard, cluster)));
  events = await readCdnowCustomerEvents(CDNOW_SAMPLE_PATH);
  records = coreRecords(events, UNTIL);
  lines = sinkLines(records, WRITTEN_AT);
}, 120_000);

afterAll(async () => {
  for (const shard of shards ?? []) for (const database of [single, sharded, sinkDb]) await shard.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await Promise.all([writer?.close(), plain?.close(), reader?.close(), ...(shards ?? []).map((shard) => shard.close())]);
});

describe("sharded ClickHouse", () => {
  it("migrates every shard, completes a run cut off half-way, and refuses shard URLs that are not exactly the cluster's shards", async () => {
    const labels = (await migrateCluster({ cluster, shards }, sharded)).applied;
    expect(labels).toHaveLength(7);
    for (const shard of shards) {
      const tables = await queryRows<{ name: string; engine: string }>(shard, `SELECT name, engine FROM system.tables WHERE database = '${sharded}'`);
      const engine = new Map(tables.map((table) => [table.name, table.engine]));
      for (const table of Object.keys(SHARDING_KEYS)) {
        expect(engine.get(table), table).toBe("Distributed");
        expect(engine.get(localTable(table)), localTable(table)).toMatch(/MergeTree$/);
      }
      expect(engine.get("purchase_days_mv")).toBe("MaterializedView");
      expect(engine.get("cohort_retention_monthly")).toBe("View");
      expect(await count(shard, `SELECT count() AS n FROM ${sharded}.migrations`)).toBe(7);
    }

    // A run that stopped with the last migrations done on the first shard only: the next run does the rest there.
    const last = shards.at(-1)!;
    await last.command({ query: `ALTER TABLE ${sharded}.migrations DELETE WHERE version >= 6` });
    await waitFor(async () => (await count(last, `SELECT count() AS n FROM ${sharded}.migrations`)) === 5, "the record's rows deleted");
    for (const table of ["risk_changes_unique", "risk_changes", "risk_changes_local", "audience_changes_unique", "audience_changes", "audience_changes_local"]) {
      await last.command({ query: `DROP TABLE ${sharded}.${table}` });
    }
    const again = await migrateCluster({ cluster, shards: [...shards].reverse() }, sharded);
    expect(again.applied).toEqual(["0006_risk_changes", "0007_audience_changes"]);
    expect(await count(last, `SELECT count() AS n FROM system.tables WHERE database = '${sharded}' AND name LIKE 'audience_changes%'`)).toBe(3);
    expect(await count(shards[0]!, `SELECT count() AS n FROM ${sharded}.migrations`)).toBe(7);
    expect((await migrateCluster({ cluster, shards }, sharded)).applied).toEqual([]);

    await expect(migrateCluster({ cluster, shards: [shards[0]!, shards[0]!] }, sharded)).rejects.toThrow(/reach the same shard/);
    await expect(migrateCluster({ cluster, shards: [shards[0]!] }, sharded)).rejects.toThrow(/has 2 shards there, but 1 shard URLs are given/);
    await expect(migrateCluster({ cluster: "no_such_cluster", shards }, sharded)).rejects.toThrow(/no cluster no_such_cluster in its remote_servers/);

    // A statement without a cluster form stops the run before any DDL, on any shard.
    const dir = mkdtempSync(join(tmpdir(), "clm-migrations-"));
    writeFileSync(join(dir, "0001_unsharded.sql"), "CREATE TABLE IF NOT EXISTS {{db}}.unsharded (a String) ENGINE = MergeTree ORDER BY a;\n");
    await expect(migrateCluster({ cluster, shards }, `unsharded_${run}`, { dir: `${dir}/` })).rejects.toThrow(/unsharded has no sharding key/);
    rmSync(dir, { recursive: true });
    for (const shard of shards) expect(await count(shard, `SELECT count() AS n FROM system.databases WHERE name = 'unsharded_${run}'`)).toBe(0);

    await migrate(plain, single);
  }, 120_000);

  it("puts every row on the shard its customer hashes to, through the Distributed tables; the shards' counts add up", async () => {
    await insertAll(writer, sharded, lines);
    await insertAll(plain, single, lines);
    fit = await fitFromClickHouse({ client: reader, database: single }, { calibrationEnd: CALIBRATION_END, unit: "week", config: DEFAULT_LIFECYCLE_CONFIG, now: WRITTEN_AT });
    await publishFit(writer, sharded);
    await publishFit(plain, single);

    const ids: Record<string, string> = {
      events: "event_id",
      stage_transitions: "transition_id",
      customer_snapshots: "(customer_id, version)",
      purchase_days_agg: "(customer_id, day)",
      value_predictions: "(model_version, customer_id)",
      value_tier_changes: "change_id",
      risk_changes: "change_id",
      audience_changes: "change_id",
      value_model_fits: "model_version",
    };
    expect(Object.keys(ids).sort()).toEqual(Object.keys(SHARDING_KEYS).sort());
    const spread: string[] = [];
    for (const [table, id] of Object.entries(ids)) {
      const perCustomer = table !== "value_model_fits";
      const summary = (from: string, where = "1") =>
        `SELECT toString(uniqExact(${id})) AS ids, toString(${perCustomer ? "uniqExact(customer_id)" : "0"}) AS customers, toString(countIf(NOT (${where}))) AS misplaced FROM ${from}`;
      const [whole] = await queryRows<{ ids: string; customers: string }>(reader, summary(`${single}.${table}`));
      const [distributed] = await queryRows<{ ids: string; customers: string }>(reader, summary(`${sharded}.${table}`));
      expect(distributed, table).toEqual(whole);
      let ids = 0;
      let customers = 0;
      for (const [index, shard] of shards.entries()) {
        const place = places[index]!;
        const owned = `${SHARDING_KEYS[table]} % ${place.totalWeight} IN (${place.slots.join(", ")})`;
        const [local] = await queryRows<{ ids: string; customers: string; misplaced: string }>(shard, summary(`${sharded}.${localTable(table)}`, owned));
        expect(local!.misplaced, `${table} rows on shard ${place.shardNum} that hash to another shard`).toBe("0");
        if (perCustomer) expect(Number(local!.ids), `${table} rows on shard ${place.shardNum}`).toBeGreaterThan(0);
        ids += Number(local!.ids);
        customers += Number(local!.customers);
        spread.push(`${table}@${place.shardNum}=${local!.ids}`);
      }
      // A customer's rows are on one shard only, so the shards' distinct ids and customers add up to the whole.
      expect(ids, table).toBe(Number(whole!.ids));
      expect(customers, table).toBe(Number(whole!.customers));
    }
    console.log(`rows by shard (distinct ids): ${spread.join(" ")}`);
    // The copies reach the views' copy check: customer_purchase_days recomputes these (customer, day) pairs from the raw rows (GLOBAL IN on shards).
    const copied = (database: string) =>
      count(reader, `SELECT count() AS n FROM (SELECT customer_id, day FROM ${database}.purchase_days_agg GROUP BY customer_id, day HAVING countMerge(rows_written) != uniqExactMerge(event_ids))`);
    expect(await copied(sharded)).toBeGreaterThan(0);
    expect(await copied(sharded)).toBe(await copied(single));
  }, 300_000);

  it("answers every view row for row as one server does", async () => {
    const views = await viewNames(reader, single);
    expect(await viewNames(reader, sharded)).toEqual(views);
    expect(views.length).toBeGreaterThanOrEqual(22);
    const timings: string[] = [];
    let [singleMs, shardedMs] = [0, 0];
    for (const view of views) {
      const expected = await timedRows(reader, `SELECT * FROM ${single}.${view}`);
      const actual = await timedRows(reader, `SELECT * FROM ${sharded}.${view}`);
      expect(expected.rows.length, `${view} is not empty`).toBeGreaterThan(0);
      expectSameRows(view, actual.rows, expected.rows);
      timings.push(`${view} ${expected.rows.length} rows: ${expected.ms.toFixed(0)} ms / ${actual.ms.toFixed(0)} ms`);
      [singleMs, shardedMs] = [singleMs + expected.ms, shardedMs + actual.ms];
    }
    console.log(`views, one server / ${shards.length} shards:\n  ${timings.join("\n  ")}\n  all ${views.length}: ${singleMs.toFixed(0)} ms / ${shardedMs.toFixed(0)} ms`);
  }, 300_000);

  it("answers the console's, the value model's and `clm cohort`'s queries as one server does", async () => {
    const [one, many] = [new ViewReader(reader, single), new ViewReader(reader, sharded)];
    expect(await many.refreshVersion()).toMatch(/^\d+\/.+\|\d+\/.+\|\d+\/.+\|\d+\|\d+$/);
    const ranges = await one.ranges();
    expect(await many.ranges()).toEqual(ranges);
    const [month, week, stages, tiers] = [ranges.month!, ranges.week!, ranges.stages!, ranges.tiers!];
    const asRows = (rows: readonly object[]) => rows as Record<string, unknown>[];
    const both = async (what: string, read: (views: ViewReader) => Promise<readonly object[]>) => {
      const expected = asRows(await read(one));
      expect(expected.length, `${what} is not empty`).toBeGreaterThan(0);
      expectSameRows(what, asRows(await read(many)), expected);
    };
    await both("retention by month", (views) => views.retention("month", month));
    await both("retention by week", (views) => views.retention("week", week));
    await both("ltv", (views) => views.ltv(month));
    await both("stage distribution", (views) => views.stageDistribution(stages));
    await both("transitions", (views) => views.transitions(stages));
    await both("churn", (views) => views.churn(stages));
    await both("activation", (views) => views.activation(month));
    await both("value models", (views) => views.valueModels());
    await both("tier shares", (views) => views.tierShares(tiers));
    await both("value cohorts", (views) => views.valueCohorts(fit.model.version));
    await both("tiers now", (views) => views.tiersNow());
    for (const customerId of [...new Set(events.map((event) => event.customerId))].filter((_, index) => index % 400 === 0)) {
      await both(`transitions of ${customerId}`, (views) => views.customerTransitions(customerId, 50));
      await both(`events of ${customerId}`, (views) => views.customerEvents(customerId, 50));
    }

    const summaries = { calibrationEnd: CALIBRATION_END, unit: "week" as const };
    expectSameRows("value summaries", asRows(await valueSummaries(reader, { database: sharded, ...summaries })), asRows(await valueSummaries(reader, { database: single, ...summaries })));
    const holdout = { calibrationEnd: CALIBRATION_END, holdoutEnd: "1998-06-30" };
    expect(await holdoutActualsFromClickHouse(reader, { database: sharded, ...holdout })).toEqual(await holdoutActualsFromClickHouse(reader, { database: single, ...holdout }));
    expect(await readValueModelFits(reader, sharded)).toEqual(await readValueModelFits(reader, single));
    expectSameRows("predictions", asRows(await readValuePredictions(reader, sharded, fit.model.version)), asRows(await readValuePredictions(reader, single, fit.model.version)));
    const refit = await fitFromClickHouse({ client: reader, database: sharded }, { calibrationEnd: CALIBRATION_END, unit: "week", config: DEFAULT_LIFECYCLE_CONFIG, now: WRITTEN_AT });
    expect(refit.model).toEqual(fit.model);

    const clm = async (database: Config, ...args: string[]) =>
      (await promisify(execFile)("node_modules/.bin/clm", ["cohort", ...args], { cwd: ROOT, env: envOf(database) })).stdout.replaceAll(database.CLICKHOUSE_DATABASE, "DB");
    const singleConfig = { ...config, CLICKHOUSE_CLUSTER: "", CLICKHOUSE_SHARD_URLS: [], CLICKHOUSE_DATABASE: single };
    const shardedConfig = { ...config, CLICKHOUSE_DATABASE: sharded };
    for (const args of [[], ["--weekly", "--revenue"]]) {
      const expected = await clm(singleConfig, ...args);
      expect(expected).toMatch(/^1997-0\d/m);
      expect(await clm(shardedConfig, ...args)).toBe(expected);
    }
  }, 300_000);
});

describe("the sink on sharded ClickHouse with a shard down", () => {
  let kafka: Kafka;
  let sink: Sink | null = null;
  let stopped: number | null = null;
  const sinkConfig = { ...config, CLICKHOUSE_DATABASE: sinkDb };
  const metrics = createSinkMetrics(createMetricsRegistry("shards-sink"));
  const total = async (metric: { get(): Promise<{ values: { labels: Record<string, string | number>; value: number }[] }> }, labels: Record<string, string> = {}) =>
    (await metric.get()).values.filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);

  /** Publishes the core's change records as the processor does: Avro via the registry, key customerId. */
  async function produceChanges(part: CoreRecords): Promise<void> {
    const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    try {
      const topics = [
        [config.TOPIC_STAGE_CHANGES, STAGE_CHANGE_SCHEMA_TEXT, part.stageChanges],
        [config.TOPIC_VALUE_TIER_CHANGES, VALUE_TIER_CHANGE_SCHEMA_TEXT, part.tierChanges],
        [config.TOPIC_RISK_CHANGES, RISK_CHANGE_SCHEMA_TEXT, part.riskChanges],
        [config.TOPIC_AUDIENCE_CHANGES, AUDIENCE_CHANGE_SCHEMA_TEXT, part.audienceChanges],
      ] as const;
      for (const [topic, schema, list] of topics) {
        const serde = new AvroSerde<(typeof list)[number]>(registry, `${topic}-value`, schema);
        await serde.register();
        for (let start = 0; start < list.length; start += 5000) {
          const messages = list.slice(start, start + 5000).map((record) => ({ key: record.customerId, value: serde.encode(record) }));
          await producer.send({ topic, acks: -1, messages });
        }
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** The records of the customers `keep` selects. */
  const part = (keep: (customerId: string) => boolean): CoreRecords => ({
    events: records.events.filter((record) => keep(record.customerId)),
    stageChanges: records.stageChanges.filter((record) => keep(record.customerId)),
    tierChanges: records.tierChanges.filter((record) => keep(record.customerId)),
    riskChanges: records.riskChanges.filter((record) => keep(record.customerId)),
    audienceChanges: records.audienceChanges.filter((record) => keep(record.customerId)),
  });

  beforeAll(async () => {
    kafka = testKafka(sinkConfig);
    await createTopics(kafka, sinkConfig);
    await migrateCluster({ cluster, shards }, sinkDb);
    sink = new Sink({ config: sinkConfig, lifecycle: DEFAULT_LIFECYCLE_CONFIG, logger: testLogger, metrics, kafka, registry: createRegistry(config.SCHEMA_REGISTRY_URL), clickhouse: writer });
    await sink.start();
  }, 120_000);

  afterAll(async () => {
    if (stopped !== null) await controlShard("up", stopped); // whatever happened, leave the shard running
    await sink?.stop();
    if (kafka) await deleteTopics(kafka, sinkConfig);
  }, 240_000);

  it(`retries while a shard is down ${OUTAGE_MS / 1000} s, dead-letters nothing, then catches up: every view as the core's single-node database`, async () => {
    const firstWave = part((customerId) => Number(customerId) % 2 === 0);
    const secondWave = part((customerId) => Number(customerId) % 2 === 1);
    const all = `SELECT count() AS n FROM ${sinkDb}.events_unique`;
    await produceEvents(kafka, sinkConfig, firstWave.events.map(recordToCustomerEvent));
    await produceChanges(firstWave);
    await waitFor(async () => (await count(reader, all)) === firstWave.events.length, "the first wave in ClickHouse", 60_000, 250);

    // A shard the sink does not talk to itself: its rows reach it only through the Distributed tables.
    const entry = await shardPlace(writer, cluster);
    stopped = places.find((place) => place.shardNum !== entry.shardNum)!.shardNum;
    await controlShard("down", stopped);
    const outageStarted = Date.now();
    await produceEvents(kafka, sinkConfig, secondWave.events.map(recordToCustomerEvent));
    await produceChanges(secondWave);
    await waitFor(async () => (await total(metrics.flushes, { outcome: "failed" })) >= 2, "the sink to meet the stopped shard", 30_000, 250);
    const remaining = OUTAGE_MS - (Date.now() - outageStarted);
    if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
    expect((await metrics.bufferedRows.get()).values[0]!.value).toBeGreaterThan(0);
    expect(await total(metrics.skipped)).toBe(0);
    await controlShard("up", stopped);
    stopped = null;

    await waitFor(async () => (await count(reader, all).catch(() => 0)) === records.events.length, "the sink to catch up", 120_000, 500);
    await waitFor(async () => (await metrics.bufferedRows.get()).values[0]!.value === 0, "the buffer to drain", 60_000, 250);
    expect(await total(metrics.flushes, { outcome: "failed" })).toBeGreaterThanOrEqual(2);
    expect(await total(metrics.skipped)).toBe(0);
    // The modeler's share of the database (not the sink's), as in the single-node one.
    await publishFit(writer, sinkDb);

    for (const view of await viewNames(reader, single)) {
      expectSameRows(`${view} (written by the sink)`, (await timedRows(reader, `SELECT * FROM ${sinkDb}.${view}`)).rows, (await timedRows(reader, `SELECT * FROM ${single}.${view}`)).rows);
    }
    console.log(`sink: ${await total(metrics.flushes, { outcome: "failed" })} failed writes while shard ${places.find((place) => place.shardNum !== entry.shardNum)!.shardNum} was down ${OUTAGE_MS / 1000} s, then every view equal`);
  }, 300_000);
});
