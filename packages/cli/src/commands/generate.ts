import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { IngestClient, type InputEvent } from "@clm/client";
import type { Config } from "@clm/config";
import { CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, type CustomerEventRecord } from "@clm/contracts";
import type { CustomerEvent } from "@clm/core";
import { syntheticEventStream, toInputEventJson } from "@clm/datasets";
import { AvroSerde, createIdempotentProducer, createKafka, createRegistry } from "@clm/kafka";
import type { Message } from "kafkajs";
import { choiceOption, intOption, parseCommandArgs, UsageError } from "../args.ts";
import { sendConcurrently } from "../concurrent-send.ts";
import { apiKey, commandConfig, commandEnv, commandLogger, ingestUrl } from "../context.ts";
import { ProgressReporter, rate } from "../progress.ts";
import { ensureProjectTopics, withAdmin } from "../kafka-admin.ts";
import { formatCount } from "../table.ts";

export const usage = `clm generate [--events 100000] [--seed 42] [--per-customer 10] [--to file|kafka|ingest] [--out FILE]
                [--batch 500] [--concurrency 4] [--api-key KEY] [--url URL]
  A deterministic synthetic population (same seed, same events): acquisition waves, purchase
  cadences per customer, logins and support tickets, churners and won-back customers, in time
  order. Streams, so 10M events need about 1 GB of memory whatever the destination:
    --to file    NDJSON in the JSON form ingest takes, to FILE or standard output (default);
    --to kafka   straight onto TOPIC_EVENTS (Avro, idempotent producer, acks=all), as the benchmarks do;
    --to ingest  through the ingest API, in batches of --batch with --concurrency requests in flight
                 (a write key: --api-key, else CLM_API_KEY, else the development key).`;

/** Events handed to the ingest API per window: bounded memory, nearly in order (sendConcurrently). */
const INGEST_WINDOW = 20_000;
const KAFKA_SEND = 5_000;

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      events: { type: "string" },
      seed: { type: "string" },
      "per-customer": { type: "string" },
      to: { type: "string" },
      out: { type: "string" },
      batch: { type: "string" },
      concurrency: { type: "string" },
      "api-key": { type: "string" },
      url: { type: "string" },
    },
    { min: 0, max: 0 },
  );
  const events = intOption("events", values.events, 100_000, { min: 1, max: 100_000_000 });
  const seed = intOption("seed", values.seed, 42, { min: 0, max: 2 ** 31 - 1 });
  const perCustomer = intOption("per-customer", values["per-customer"], 10, { min: 1, max: 10_000 });
  const to = choiceOption("to", values.to, ["file", "kafka", "ingest"], "file");
  if (to !== "file" && values.out !== undefined) throw new UsageError("--out goes with --to file");
  const population = syntheticEventStream({ seed, events, eventsPerCustomer: perCustomer });
  if (to === "file") return toFile(population, values.out, seed);
  const env = commandEnv();
  const config = commandConfig(env);
  const progress = new ProgressReporter(events);
  const sent = to === "kafka" ? await toKafka(population, config, progress) : await toIngest(population, config, values, env, progress);
  const state = progress.finish();
  if (sent === null) return 1;
  console.log(
    `sent ${formatCount(sent)} synthetic events (seed ${seed}) ${to === "kafka" ? `to ${config.TOPIC_EVENTS}` : "through the ingest API"}; ` +
      `${formatCount(Math.round(rate({ ...state, done: sent })))} events/s, ${(state.elapsedMs / 1000).toFixed(1)} s`,
  );
  return 0;
}

async function toFile(population: Iterable<CustomerEvent>, path: string | undefined, seed: number): Promise<number> {
  const out = path === undefined ? process.stdout : createWriteStream(path);
  // Chunks of lines, waiting for the stream to drain: millions of lines without holding them all as text.
  const customers = new Set<string>();
  let written = 0;
  let lines: string[] = [];
  const flush = async () => {
    if (lines.length > 0 && !out.write(lines.join("\n") + "\n")) await once(out, "drain");
    lines = [];
  };
  for (const event of population) {
    customers.add(event.customerId);
    lines.push(JSON.stringify(toInputEventJson(event)));
    written++;
    if (lines.length === 10_000) await flush();
  }
  await flush();
  if (out !== process.stdout) {
    out.end();
    await once(out, "finish");
    console.error(`wrote ${written.toLocaleString("en-US")} events of ${customers.size.toLocaleString("en-US")} customers (seed ${seed}) to ${path}`);
  }
  return 0;
}

/** Produces the events keyed by customer, in order; returns how many. */
async function toKafka(population: Iterable<CustomerEvent>, config: Config, progress: ProgressReporter): Promise<number> {
  await withAdmin(config, (admin) => ensureProjectTopics(admin, config));
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-generate`, logger: commandLogger() });
  const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
  await serde.register();
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  let sent = 0;
  try {
    let messages: Message[] = [];
    const send = async () => {
      await producer.send({ topic: config.TOPIC_EVENTS, acks: -1, messages });
      sent += messages.length;
      messages = [];
      progress.update(sent);
    };
    for (const event of population) {
      // receivedAt stays null: these events did not come through ingest.
      messages.push({ key: event.customerId, value: serde.encode(customerEventToRecord(event, null)) });
      if (messages.length === KAFKA_SEND) await send();
    }
    if (messages.length > 0) await send();
  } finally {
    await producer.disconnect();
  }
  return sent;
}

/** Sends the events through the ingest API window by window; null when a request failed for good or events were rejected. */
async function toIngest(
  population: Iterable<CustomerEvent>,
  config: Config,
  options: { batch?: string; concurrency?: string; "api-key"?: string; url?: string },
  env: NodeJS.ProcessEnv,
  progress: ProgressReporter,
): Promise<number | null> {
  const batch = intOption("batch", options.batch, 500, { min: 1, max: 100_000 });
  const concurrency = intOption("concurrency", options.concurrency, 4, { min: 1, max: 64 });
  const client = new IngestClient({ baseUrl: options.url ?? ingestUrl(config), apiKey: apiKey("write", options["api-key"], env), batchSize: batch });
  let sent = 0;
  let window: InputEvent[] = [];
  const sendWindow = async () => {
    const before = sent;
    const result = await sendConcurrently(window, { batch, concurrency, send: (slice) => client.send(slice), onProgress: (done) => progress.update(before + done) });
    if (result.rejected.length > 0) {
      const first = result.rejected[0]!;
      throw new Error(`the ingest API rejected ${result.rejected.length} generated event(s), e.g. ${first.eventId}: ${first.errors.map((error) => `${error.path}: ${error.message}`).join("; ")}`);
    }
    sent += result.accepted;
    window = [];
  };
  try {
    for (const event of population) {
      window.push(toInputEventJson(event) as InputEvent); // the same JSON, typed by the client per event type
      if (window.length === INGEST_WINDOW) await sendWindow();
    }
    if (window.length > 0) await sendWindow();
  } catch (error) {
    progress.finish();
    console.error(`clm generate: ${(error as Error).message}`);
    return null;
  }
  return sent;
}
