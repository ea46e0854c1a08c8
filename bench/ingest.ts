/**
 * Ingest throughput against the raw limit, on the local stack:
 *   npm run bench -- ingest [--events 200000] [--batch 500] [--concurrency 4]
 * The ingest service runs as its own process; this process sends synthetic events
 * through the typed client in batches. In the same run, the raw ceiling: kafkajs
 * producing the same events, already Avro-encoded, in the same batch size with acks=all.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { IngestClient, type InputEvent } from "@clm/client";
import { customerEventToRecord, CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import { syntheticEvents, toInputEventJson } from "@clm/datasets";
import { AvroSerde, createRegistry, JavaCompatiblePartitioner } from "@clm/kafka";
import { createTopics, deleteTopics, envOf, isolatedConfig, testKafka } from "@clm/testkit";
import { machine, processResources, startBenchService } from "./support.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "200000" }, batch: { type: "string", default: "500" }, concurrency: { type: "string", default: "4" }, seed: { type: "string", default: "42" } } });
const total = Number(values.events);
const batchSize = Number(values.batch);
const concurrency = Number(values.concurrency);
const rawConfig = isolatedConfig({ TOPIC_PARTITIONS: "6" });
const ingestConfig = isolatedConfig({ TOPIC_PARTITIONS: "6", INGEST_PORT: "0", LOG_LEVEL: "info", INGEST_MAX_BATCH_EVENTS: String(batchSize) });
const kafka = testKafka(rawConfig);
await createTopics(kafka, rawConfig);
await createTopics(kafka, ingestConfig);

const events = syntheticEvents({ seed: Number(values.seed), events: total });
const json = events.map((event) => toInputEventJson(event) as InputEvent);

// Raw ceiling: the same events, pre-encoded, produced in the same batch size by `concurrency` senders.
const serde = new AvroSerde<CustomerEventRecord>(createRegistry(rawConfig.SCHEMA_REGISTRY_URL), `${rawConfig.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
await serde.register();
const encoded = events.map((event) => ({ key: event.customerId, value: serde.encode(customerEventToRecord(event, 0)) }));
const producer = kafka.producer({ createPartitioner: JavaCompatiblePartitioner });
await producer.connect();
let started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    for (let start = (next += batchSize) - batchSize; start < total; start = (next += batchSize) - batchSize) {
      await producer.send({ topic: rawConfig.TOPIC_EVENTS, acks: -1, messages: encoded.slice(start, start + batchSize) });
    }
  }),
);
const rawSeconds = (performance.now() - started) / 1000;
await producer.disconnect();
console.log(`raw kafkajs produce (batches of ${batchSize}, ${concurrency} in flight): ${Math.round(total / rawSeconds).toLocaleString("en-US")} events/s`);

// Ingest: a real service process, the typed client, the same batches.
const service = startBenchService("services/ingest/src/main.ts", envOf(ingestConfig, { INGEST_API_KEYS: "bench-key" }));
const { port } = JSON.parse(await service.waitForLog("ingest listening")) as { port: number };
started = performance.now();
next = 0;
let accepted = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    const client = new IngestClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: "bench-key", batchSize });
    for (let start = (next += batchSize) - batchSize; start < total; start = (next += batchSize) - batchSize) {
      // Not `accepted += await …`: that reads `accepted` before the await, and the workers overwrite each other.
      const sent = await client.send(json.slice(start, start + batchSize));
      accepted += sent.accepted;
    }
  }),
);
const ingestSeconds = (performance.now() - started) / 1000;
if (accepted !== total) throw new Error(`ingest accepted ${accepted} of ${total} valid events`);
const serviceResources = processResources(service.child.pid!);
await service.stop();

const result = {
  benchmark: "ingest",
  machine: machine(),
  events: total,
  batchSize,
  concurrency,
  accepted,
  raw: { produceEventsPerSecond: Math.round(total / rawSeconds), seconds: Number(rawSeconds.toFixed(2)) },
  ingest: { eventsPerSecond: Math.round(total / ingestSeconds), seconds: Number(ingestSeconds.toFixed(2)) },
  // The ingest process over its whole life (start-up included): CPU seconds, cores while sending, peak RSS.
  ingestProcess: { ...serviceResources, cpuCores: Number((serviceResources.cpuSeconds / ingestSeconds).toFixed(2)) },
  ratio: Number((rawSeconds / ingestSeconds).toFixed(3)),
};
console.log(JSON.stringify(result, null, 2));
mkdirSync("bench-results", { recursive: true });
writeFileSync(`bench-results/ingest-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, JSON.stringify(result, null, 2));
console.log(`\ningest: ${result.ingest.eventsPerSecond.toLocaleString("en-US")} events/s vs raw produce ${result.raw.produceEventsPerSecond.toLocaleString("en-US")} events/s → ratio ${result.ratio}`);
await deleteTopics(kafka, rawConfig);
await deleteTopics(kafka, ingestConfig);
