/**
 * Sink throughput against the raw limit, on the local stack:
 *   npm run bench -- sink [--events 1000000] [--seed 42] [--batch-rows 50000]
 * Produces a synthetic population (deterministic) to a fresh topic, then in the same run:
 *   1. raw ceiling: the very rows the sink would write, inserted by a bare @clickhouse/client
 *      JSONEachRow insert (batches of --batch-rows) into a copy of the events table;
 *   2. the sink as its own process: Kafka → decode → rows → ClickHouse, from offset 0 until every
 *      row is written; its CPU time and peak RSS from /proc.
 * Prints rows/s of both and the ratio; writes bench-results/sink-<time>.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { customerEventToRecord } from "@clm/contracts";
import { syntheticEvents } from "@clm/datasets";
import { createClickHouse, eventRow, insertLines, migrate, queryRows, serializeRow } from "@clm/clickhouse";
import { createTopics, deleteTopics, envOf, isolatedConfig, produceEvents, testKafka } from "@clm/testkit";
import { machine, processResources, startBenchService } from "./support.ts";

const { values } = parseArgs({
  options: { events: { type: "string", default: "1000000" }, seed: { type: "string", default: "42" }, "batch-rows": { type: "string", default: "50000" }, keep: { type: "boolean", default: false } },
});
const total = Number(values.events);
const batchRows = Number(values["batch-rows"]);
const run = Date.now().toString(36);
const config = isolatedConfig({ CLICKHOUSE_DATABASE: `bench_${run}`, SINK_GROUP_ID: `bench-${run}-sink`, SINK_BATCH_ROWS: String(batchRows), SINK_FLUSH_INTERVAL_MS: "1000" });
const db = config.CLICKHOUSE_DATABASE;
const kafka = testKafka(config);
const clickhouse = createClickHouse(config, { requestTimeoutMs: 300_000 });
await createTopics(kafka, config);
await migrate(clickhouse, db);

let started = performance.now();
const events = syntheticEvents({ seed: Number(values.seed), events: total });
await produceEvents(kafka, config, events);
console.log(`generated and produced ${total.toLocaleString("en-US")} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);

// 1. The raw ceiling: the same rows, serialized in memory beforehand, inserted with nothing else in the way.
await clickhouse.command({ query: `CREATE TABLE ${db}.events_raw_ceiling AS ${db}.events` });
const rows = events.map((event, index) => serializeRow(eventRow(customerEventToRecord(event, 0), { partition: index % config.TOPIC_PARTITIONS, offset: String(index) }, Date.now())));
started = performance.now();
for (let start = 0; start < rows.length; start += batchRows) {
  await insertLines(clickhouse, `${db}.events_raw_ceiling`, rows.slice(start, start + batchRows));
}
const rawSeconds = (performance.now() - started) / 1000;
const rawRate = total / rawSeconds;
console.log(`raw @clickhouse/client JSONEachRow insert of ready lines (batches of ${batchRows.toLocaleString("en-US")}): ${Math.round(rawRate).toLocaleString("en-US")} rows/s (${rawSeconds.toFixed(1)} s)`);
rows.length = 0;

// 2. The sink as its own process (as deployed), from offset 0. No copies are written here, so the row count is the progress.
const service = startBenchService("services/sink/src/main.ts", envOf(config, { SINK_HTTP_PORT: "0", LOG_LEVEL: "info" }));
await service.waitForLog("sink running", 120_000);
const written = async () => Number((await queryRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${db}.events`))[0]!.n);
started = performance.now();
while ((await written()) < total) await new Promise((resolve) => setTimeout(resolve, 200));
const sinkSeconds = (performance.now() - started) / 1000;
const sinkProcess = processResources(service.child.pid!);
await service.stop();
const sinkRate = total / sinkSeconds;
console.log(`sink process (Kafka → Avro decode → rows → ClickHouse): ${Math.round(sinkRate).toLocaleString("en-US")} rows/s (${sinkSeconds.toFixed(1)} s, from its group join)`);
console.log(`ratio sink / raw insert: ${(sinkRate / rawRate).toFixed(2)}; sink process ${sinkProcess.cpuSeconds} CPU s (${(sinkProcess.cpuSeconds / sinkSeconds).toFixed(2)} cores), peak RSS ${sinkProcess.peakRssMiB} MiB`);

const result = {
  benchmark: "sink",
  at: new Date().toISOString(),
  machine: machine(),
  events: total,
  batchRows,
  rawInsertRowsPerSecond: Math.round(rawRate),
  sinkRowsPerSecond: Math.round(sinkRate),
  ratio: Number((sinkRate / rawRate).toFixed(3)),
  sinkProcess: { ...sinkProcess, cpuCores: Number((sinkProcess.cpuSeconds / sinkSeconds).toFixed(2)) },
};
mkdirSync("bench-results", { recursive: true });
writeFileSync(`bench-results/sink-${result.at.replace(/[:.]/g, "-")}.json`, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
if (!values.keep) {
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await deleteTopics(kafka, config);
}
await clickhouse.close();
