import type { Config } from "@clm/config";
import type { CustomerEvent } from "@clm/core";
import { IngestClient, type InputEvent } from "@clm/client";
import { toInputEventJson } from "@clm/datasets";
import type { Kafka } from "kafkajs";
import { freePort } from "./free-port.ts";
import { envOf, startService, type RunningService } from "./service-process.ts";
import { waitFor } from "./wait-for.ts";

/** Ingest, processor and sink as real processes on free ports, one key for every scope. */
export interface PipelineProcesses {
  config: Config;
  ingestUrl: string;
  key: string;
  services: Record<"ingest" | "processor" | "sink", RunningService>;
  stop(): Promise<void>;
}

const READY = { ingest: "ingest listening", processor: "processor running", sink: "sink running" } as const;

/**
 * Starts the three services from their sources with `config` (its topics, key prefix, database and
 * groups), each on a free port, with `key` as their write, read and admin key; resolves once each has
 * logged that it runs. The topics must exist.
 */
export async function startPipeline(base: Config, key: string): Promise<PipelineProcesses> {
  const config: Config = Object.freeze({
    ...base,
    INGEST_PORT: await freePort(),
    PROCESSOR_HTTP_PORT: await freePort(),
    SINK_HTTP_PORT: await freePort(),
    INGEST_API_KEYS: [key],
    INGEST_READ_API_KEYS: [key],
    INGEST_ADMIN_API_KEYS: [key],
    // Readiness is read from the services' log lines.
    LOG_LEVEL: base.LOG_LEVEL === "silent" ? "info" : base.LOG_LEVEL,
  });
  const services = {} as PipelineProcesses["services"];
  const stop = async () => {
    for (const service of Object.values(services)) {
      if (service.child.exitCode === null) service.child.kill("SIGTERM");
      await service.exited;
    }
  };
  try {
    for (const name of ["sink", "processor", "ingest"] as const) {
      services[name] = startService(`services/${name}/src/main.ts`, envOf(config));
      await services[name].waitForLog(READY[name], 120_000);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { config, ingestUrl: `http://127.0.0.1:${config.INGEST_PORT}`, key, services, stop };
}

/** Sends the events through the ingest API (batches of 500, the client's retries) and fails on any rejection. */
export async function sendThroughIngest(ingestUrl: string, key: string, events: readonly CustomerEvent[]): Promise<void> {
  const result = await new IngestClient({ baseUrl: ingestUrl, apiKey: key, batchSize: 1000 }).send(events.map((event) => toInputEventJson(event) as InputEvent));
  if (result.rejected.length > 0 || result.accepted !== events.length) throw new Error(`ingest took ${result.accepted} of ${events.length} events: ${JSON.stringify(result.rejected.slice(0, 3))}`);
}

/** POST /v1/clock/advance (an event-clock pipeline): every deadline up to `to` fires. */
export async function advanceClock(ingestUrl: string, key: string, to: string): Promise<void> {
  const response = await fetch(`${ingestUrl}/v1/clock/advance`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ to }) });
  if (response.status !== 202) throw new Error(`clock advance answered ${response.status}: ${await response.text()}`);
}

/**
 * Waits until the processor and the sink have consumed everything (their groups' committed offsets at
 * the topics' ends) and the stage-change and tier-change topics have not grown for `quietMs` (the
 * processor publishes both from its outbox after it commits its input, and timers fire a few after the
 * last event).
 */
export async function waitCaughtUp(kafka: Kafka, config: Config, timeoutMs = 180_000, quietMs = 2000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = async (topic: string) => new Map((await admin.fetchTopicOffsets(topic)).map((partition) => [partition.partition, BigInt(partition.high)]));
    const lag = async (groupId: string, topics: string[]) => {
      let total = 0n;
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
        const high = await ends(topic);
        for (const { partition, offset } of partitions) total += (high.get(partition) ?? 0n) - (offset === "-1" ? 0n : BigInt(offset));
      }
      return total;
    };
    let lastEnd = -1n;
    let since = Date.now();
    await waitFor(async () => {
      // Every topic the processor publishes to, and every one the sink reads.
      const signals = [config.TOPIC_STAGE_CHANGES, config.TOPIC_VALUE_TIER_CHANGES, config.TOPIC_RISK_CHANGES, config.TOPIC_AUDIENCE_CHANGES];
      let end = 0n;
      for (const topic of signals) for (const high of (await ends(topic)).values()) end += high;
      if (end !== lastEnd) [lastEnd, since] = [end, Date.now()];
      const behind = (await lag(config.PROCESSOR_GROUP_ID, [config.TOPIC_EVENTS])) + (await lag(config.SINK_GROUP_ID, [config.TOPIC_EVENTS, ...signals]));
      return behind === 0n && Date.now() - since >= quietMs;
    }, "processor and sink caught up, stage changes quiet", timeoutMs, 500);
  } finally {
    await admin.disconnect();
  }
}
