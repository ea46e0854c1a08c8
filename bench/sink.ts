/**
 * Sink throughput against the raw limit, on the local stack:
 *   npm run bench -- sink [--events 1000000] [--seed 42] [--batch-rows 50000]
 * Produces a synthetic population (deterministic) to a fresh topic, then in the same run:
 *   1. raw ceiling: the very rows the sink would write, inserted by a bare @clickhouse/client
 *      JSONEachRow insert (batches of --batch-rows) into a copy of the events table;
 *   2. the sink: Kafka → decode → rows → ClickHouse, from offset 0 until every row is written.
 * Prints rows/s of both and the ratio; writes bench-results/sink-<time>.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { customerEventToRecord } from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG } from "@clm/core";
import { syntheticEvents } from "@clm/datasets";
import { createRegistry } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createClickHouse, createSinkMetrics, eventRow, migrate, serializeRow, Sink } from "@clm/sink";
import { createTopics, deleteTopics, isolatedConfig, produceEvents, testKafka, testLogger } from "../tests/integration/support/pipeline.ts";
import { machine, resourceSampler } from "./support.ts";

const { values } = parseArgs({
  options: { events: { type: "string", default: "1000000" }, seed: { type: "string", default: "42" }, "batch-rows": { type: "string", default: "50000" }, keep: { type: "boolean", default: false } },
});
const total = Number(values.events);
const batchRows = Number(values["batch-rows"]);
const run = Date.now().toString(36);
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `bench_${run}`, SINK_GROUP_ID: `bench-${run}-sink`, SINK_BATCH_ROWS: String(batchRows), SINK_FLUSH_INTERVAL_MS: "1000" });
const db = config.CLICKHOUSE_DATABASE;
const kafka = testKafka(config);
const clickhouse = createClickHouse(config, { stringifyRow: serializeRow, requestTimeoutMs: 300_000 });
await createTopics(kafka, config);
await migrate(clickhouse, db);

let started = performance.now();
const events = syntheticEvents({ seed: Number(values.seed), events: total });
await produceEvents(kafka, config, events);
console.log(`generated and produced ${total.toLocaleString("en-US")} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);

// 1. The raw ceiling: the same rows, prepared in memory beforehand, inserted with nothing else in the way.
await clickhouse.command({ query: `CREATE TABLE ${db}.events_raw_ceiling AS ${db}.events` });
const rows = events.map((event, index) => eventRow(customerEventToRecord(event, 0), { partition: index % config.TOPIC_PARTITIONS, offset: String(index) }, Date.now()));
started = performance.now();
for (let start = 0; start < rows.length; start += batchRows) {
  await clickhouse.insert({ table: `${db}.events_raw_ceiling`, values: rows.slice(start, start + batchRows), format: "JSONEachRow" });
}
const rawSeconds = (performance.now() - started) / 1000;
const rawRate = total / rawSeconds;
console.log(`raw @clickhouse/client JSONEachRow insert (batches of ${batchRows.toLocaleString("en-US")}): ${Math.round(rawRate).toLocaleString("en-US")} rows/s (${rawSeconds.toFixed(1)} s)`);
rows.length = 0;

// 2. The sink, from offset 0.
const metrics = createSinkMetrics(createMetricsRegistry("bench"));
const sink = new Sink({ config, lifecycle: DEFAULT_LIFECYCLE_CONFIG, logger: testLogger, metrics, kafka, registry: createRegistry(config.SCHEMA_REGISTRY_URL), clickhouse });
const written = async () => (await metrics.rows.get()).values.find((value) => value.labels.table === "events")?.value ?? 0;
const sampler = resourceSampler();
started = performance.now();
await sink.start();
while ((await written()) < total) await new Promise((resolve) => setTimeout(resolve, 100));
const sinkSeconds = (performance.now() - started) / 1000;
const resources = sampler.stop();
await sink.stop();
const sinkRate = total / sinkSeconds;
const flushes = (await metrics.flushes.get()).values.find((value) => value.labels.outcome === "ok")?.value ?? 0;
console.log(`sink (Kafka → Avro decode → rows → ClickHouse): ${Math.round(sinkRate).toLocaleString("en-US")} rows/s (${sinkSeconds.toFixed(1)} s, ${flushes} inserts)`);
console.log(`ratio sink / raw insert: ${(sinkRate / rawRate).toFixed(2)}; sink process CPU ${resources.cpuCores} cores, peak RSS ${resources.peakRssMiB} MiB (bench process, includes the generated events)`);

const result = {
  benchmark: "sink",
  at: new Date().toISOString(),
  machine: machine(),
  events: total,
  batchRows,
  rawInsertRowsPerSecond: Math.round(rawRate),
  sinkRowsPerSecond: Math.round(sinkRate),
  ratio: Number((sinkRate / rawRate).toFixed(3)),
  inserts: flushes,
  resources,
};
mkdirSync("bench-results", { recursive: true });
writeFileSync(`bench-results/sink-${result.at.replace(/[:.]/g, "-")}.json`, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
if (!values.keep) {
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await deleteTopics(kafka, config);
}
await clickhouse.close();
