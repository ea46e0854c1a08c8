import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CUSTOMER_EVENT_SCHEMA_TEXT, recordToCustomerEvent, type CustomerEventRecord } from "@clm/contracts";
import type { CustomerEvent } from "@clm/core";
import { syntheticEvents } from "@clm/datasets";
import { AvroSerde, createRegistry } from "@clm/kafka";
import { describe, expect, it } from "vitest";
import { envOf, startService } from "./support/child-service.ts";
import { kafkaWithFileTopics } from "./support/file-topics.ts";
import { isolatedConfig, readTopic } from "./support/pipeline.ts";

/** `clm generate` writing the synthetic population straight to Kafka and through the ingest API (real servers). */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const config = isolatedConfig({ TOPIC_PARTITIONS: "3", INGEST_PORT: "0" });
const KEY = "generate-test-key";
const kafka = kafkaWithFileTopics(config);

const clm = (...args: string[]) => promisify(execFile)("node_modules/.bin/clm", ["generate", ...args], { cwd: ROOT, env: envOf(config) });

/** Every event on the input topic, decoded, with its record's receivedAt, per customer in topic order. */
async function topicEvents(): Promise<Map<string, { event: CustomerEvent; receivedAt: number | null }[]>> {
  const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
  const byCustomer = new Map<string, { event: CustomerEvent; receivedAt: number | null }[]>();
  for (const messages of (await readTopic(kafka, config.TOPIC_EVENTS)).values()) {
    await serde.prepare(messages.map((message) => message.value));
    for (const message of messages) {
      const record = serde.decode(message.value);
      expect(message.key?.toString()).toBe(record.customerId);
      const list = byCustomer.get(record.customerId) ?? [];
      list.push({ event: recordToCustomerEvent(record), receivedAt: record.receivedAt });
      byCustomer.set(record.customerId, list);
    }
  }
  return byCustomer;
}

/** The generator's events of one seed, per customer in time order. */
function expectedByCustomer(seed: number, events: number): Map<string, CustomerEvent[]> {
  const byCustomer = new Map<string, CustomerEvent[]>();
  for (const event of syntheticEvents({ seed, events })) byCustomer.set(event.customerId, [...(byCustomer.get(event.customerId) ?? []), event]);
  return byCustomer;
}

describe("clm generate", () => {
  it("--to kafka puts exactly the seed's population on the input topic, keyed and in order per customer", async () => {
    const { stdout } = await clm("--events", "3000", "--seed", "9", "--to", "kafka");
    expect(stdout).toContain("sent 3,000 synthetic events (seed 9)");
    const onTopic = await topicEvents();
    const expected = expectedByCustomer(9, 3000);
    expect(onTopic.size).toBe(expected.size);
    for (const [customerId, events] of expected) {
      const seen = onTopic.get(customerId)!;
      expect(seen.map(({ event }) => event)).toEqual(events);
      expect(seen.every(({ receivedAt }) => receivedAt === null)).toBe(true);
    }
  }, 60_000);

  it("--to ingest sends the population through the API: every event accepted once, stamped by ingest", async () => {
    const service = startService("services/ingest/src/main.ts", envOf(config, { INGEST_API_KEYS: KEY, LOG_LEVEL: "info" }));
    try {
      const { port } = JSON.parse(await service.waitForLog("ingest listening")) as { port: number };
      const { stdout } = await clm("--events", "2000", "--seed", "10", "--to", "ingest", "--url", `http://127.0.0.1:${port}`, "--api-key", KEY, "--batch", "300");
      expect(stdout).toContain("sent 2,000 synthetic events (seed 10) through the ingest API");
    } finally {
      service.child.kill("SIGTERM");
      await service.exited;
    }
    const onTopic = await topicEvents();
    for (const [customerId, events] of expectedByCustomer(10, 2000)) {
      const seen = onTopic.get(customerId)!;
      // Requests overlap (4 in flight), so compare as sets; each event once.
      expect(seen.map(({ event }) => event.eventId).sort()).toEqual(events.map((event) => event.eventId).sort());
      expect(seen.every(({ receivedAt }) => receivedAt !== null)).toBe(true);
    }
  }, 90_000);

  it("refuses --out with another destination", async () => {
    await expect(clm("--to", "kafka", "--out", "x.ndjson")).rejects.toMatchObject({ stderr: expect.stringContaining("--out goes with --to file") });
  });
});
