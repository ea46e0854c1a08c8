import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouse, migrate, queryRows } from "@clm/clickhouse";
import type { Config } from "@clm/config";
import {
  AUDIENCE_CHANGE_SCHEMA_TEXT,
  RISK_CHANGE_SCHEMA_TEXT,
  STAGE_CHANGE_SCHEMA_TEXT,
  VALUE_TIER_CHANGE_SCHEMA_TEXT,
  type AudienceChangeRecord,
  type RiskChangeRecord,
  type StageChangeRecord,
  type ValueTierChangeRecord,
} from "@clm/contracts";
import { DEFAULT_LIFECYCLE_CONFIG, type ActiveAudiences, type ActiveValueModel, type AudienceDefinition, type CustomerEvent, type CustomerState, type Effect, type ValueModel } from "@clm/core";
import { audiencesActivationMessage, AvroSerde, clockAdvanceMessage, createIdempotentProducer, createRegistry, partitionForKey, valueModelActivationMessage } from "@clm/kafka";
import { createMetricsRegistry } from "@clm/observability";
import { createProcessorMetrics, Processor, rebuild } from "@clm/processor";
import { readAudienceDefinitions, readValueModel, RedisLayout, saveAudienceDefinitions, StateReader, type PartitionMeta } from "@clm/state-store";
import { grownMeta, storeValueModel, wipePrefix, type SourcePartition } from "@clm/state-store/admin";
import { createSinkMetrics, Sink } from "@clm/sink";
import { createRedis, type RedisClient } from "@clm/redis";
import type { Admin, Kafka, Message } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "./support/cdnow-events.ts";
import { envOf } from "./support/child-service.ts";
import { collectChanges, foldAsProcessor, mismatchedStates, mismatchedTimers, topicRecords, type CoreExpectation } from "./support/core-expectation.ts";
import { createTopics, deleteTopics, grownConfig, isolatedConfig, produceEvents, readTopic, tearDownRun, testKafka, testLogger, waitFor } from "./support/pipeline.ts";
import { waitCaughtUp } from "@clm/testkit";

/**
 * Growing a running pipeline's input partitions (docs/scaling.md): the CDNOW sample's first half on
 * 3 partitions, with a value model and audience definitions activated a quarter in, through the
 * real processor and sink; drained; `clm partitions grow --to 8` (a real CLI process) onto a new
 * topic and prefix, part of the second half already waiting on the new topic; the processor and
 * sink switched; the rest of the second half and a clock advance that fires every deadline. The
 * new prefix's states, timers and member sets, the four signal topics (every change exactly once)
 * and ClickHouse's stage transitions must equal the pure core's fold of the whole log — the old
 * partitions up to the cut, then the new ones from the grown state.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = `${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const config = isolatedConfig({
  TOPIC_PARTITIONS: "3",
  CLICKHOUSE_DATABASE: `test_${run}`,
  SINK_GROUP_ID: `test-${run}-sink`,
  // The growth refuses while a webhook service of the pipeline is in its group: this run's own name.
  WEBHOOKS_GROUP_ID: `test-${run}-webhooks`,
  SINK_FLUSH_INTERVAL_MS: "300",
  CLOCK_MODE: "event",
  PROCESSOR_REFIT_SCAN_COUNT: "200",
});
const grown = grownConfig(config, 8);
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const MODEL: ValueModel = {
  version: "m-1997-09-30-0badc0de",
  calibrationEnd: "1997-09-30",
  unit: "week",
  fittedAt: "2026-11-30T00:00:00.000Z",
  bgnbd: { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259, logLikelihood: -9582.43, customers: 2357 },
  gammaGamma: { p: 6.25, q: 3.74, v: 15.44, logLikelihood: -4055.92, customers: 946 },
  tierCuts: { highValueClv: 40, potentialClv: 12, warningMonetary: 25 },
};
const AUDIENCES: AudienceDefinition[] = [
  { id: "repeat-lapsed", version: 1, name: "Repeat buyers gone quiet", filter: { purchaseCount: { min: 2 }, daysSinceLastPurchase: { min: 120 } } },
  { id: "big-spenders", version: 1, name: "Big spenders", filter: { monetary: { min: 150 } } },
];
const CLOCK_ADVANCE_TO = Date.UTC(1999, 0, 1);

let kafka: Kafka;
let redis: RedisClient;
let admin: Admin;
let clickhouse: ClickHouseClient;
let processor: Processor | null = null;
let sink: Sink | null = null;
let events: CustomerEvent[];
let runs = 0;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}
/** `clm partitions …` as an operator runs it, against the pipeline's current config (and `env`). */
async function clm(env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  return promisify(execFile)("node_modules/.bin/clm", ["partitions", ...args], { cwd: ROOT, env: envOf(config, env) }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? "", stderr: error.stderr ?? "" }),
  );
}
const growArgs = ["grow", "--to", "8", "--topic", grown.TOPIC_EVENTS, "--prefix", grown.REDIS_KEY_PREFIX];

async function startPipeline(settings: Config): Promise<void> {
  runs++;
  const registry = createRegistry(settings.SCHEMA_REGISTRY_URL);
  processor = new Processor({ config: settings, lifecycle, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry(`growth-processor-${runs}`)), kafka, redis, registry });
  await processor.start();
  sink = new Sink({ config: settings, lifecycle, logger: testLogger, metrics: createSinkMetrics(createMetricsRegistry(`growth-sink-${runs}`)), kafka, registry, clickhouse });
  await sink.start();
}

async function stopPipeline(): Promise<void> {
  await sink?.stop();
  await processor?.stop();
  [sink, processor] = [null, null];
}

/** Every record of the settings' input topic applied in Redis, no sweep under way, every outbox published. */
async function drained(settings: Config): Promise<boolean> {
  const store = new StateReader(redis, new RedisLayout(settings.REDIS_KEY_PREFIX));
  for (const { partition, high } of await admin.fetchTopicOffsets(settings.TOPIC_EVENTS)) {
    const meta = await store.loadMeta(partition);
    if ((meta.offset ?? "0") !== high || meta.refitCursor !== null || meta.audienceCursor !== null || (await store.outboxLength(partition)) > 0) return false;
  }
  return true;
}

async function sendToEveryPartition(topic: string, partitions: number, message: (partition: number) => Message): Promise<void> {
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: partitions }, (_, partition) => message(partition)) });
  await producer.disconnect();
}

/** What the pure core says, and what the grown prefix's metas must be. */
interface Oracle extends Pick<CoreExpectation, "transitionIds" | "tierChangeIds" | "riskChangeIds" | "audienceChanges"> {
  /** Per customer: its new partition and final state. */
  states: Map<string, { partition: number; state: CustomerState }>;
  transitions: string[];
  grownMetas: ReturnType<typeof grownMeta>;
  oldStates: Map<string, { partition: number; state: CustomerState }>;
  values: Map<number, ActiveValueModel | null>;
  audiences: Map<number, ActiveAudiences | null>;
}

/** The whole log as it lies in Kafka: the old partitions folded up to the cut, the grown meta, then the new partitions from the copied states. */
async function oracle(): Promise<Oracle> {
  const models = (version: string) => readValueModel(redis, new RedisLayout(config.REDIS_KEY_PREFIX), version);
  const definitions = (version: string) => readAudienceDefinitions(redis, new RedisLayout(config.REDIS_KEY_PREFIX), version);
  const expected: Oracle = { states: new Map(), transitions: [], transitionIds: new Set(), tierChangeIds: new Set(), riskChangeIds: new Set(), audienceChanges: [], grownMetas: null as never, oldStates: new Map(), values: new Map(), audiences: new Map() };
  const changes: Effect[] = [];
  const sources: SourcePartition[] = [];
  const old = await topicRecords(kafka, config, lifecycle, models, definitions);
  for (const [partition, records] of old.records) {
    const folded = foldAsProcessor(new Map(), records, { watermark: null, latenessMs: config.EVENT_TIME_LATENESS_MS }, config, lifecycle);
    for (const [customerId, state] of folded.states) expected.oldStates.set(customerId, { partition, state });
    changes.push(...folded.effects);
    const { result } = folded;
    const activation = (active: { activatedAt: number } | null, version: string | undefined) => (active === null ? null : { version: version!, activatedAt: active.activatedAt });
    const meta: PartitionMeta = {
      offset: old.ends.get(partition)!,
      seq: 0,
      watermark: result.watermark,
      sweptThrough: result.sweptThrough,
      valueModel: activation(result.value, result.value?.model.version),
      audiences: result.audiences === null ? null : { ...activation(result.audiences, result.audiences.definitions.version)!, previous: [] },
      refitCursor: null,
      audienceCursor: null,
    };
    sources.push({ partition, meta, outboxLength: 0 });
  }
  expected.grownMetas = grownMeta(sources);
  const { valueModel, audiences, watermark } = expected.grownMetas;
  const value: ActiveValueModel | null = valueModel === null ? null : { model: (await models(valueModel.version))!, activatedAt: valueModel.activatedAt };
  const active: ActiveAudiences | null = audiences === null ? null : { definitions: (await definitions(audiences.version))!, activatedAt: audiences.activatedAt };
  const next = await topicRecords(kafka, grown, lifecycle, models, definitions);
  for (const [partition, records] of next.records) {
    const copied = new Map<string, CustomerState>();
    for (const [customerId, { state }] of expected.oldStates) if (partitionForKey(customerId, grown.TOPIC_PARTITIONS) === partition) copied.set(customerId, state);
    const folded = foldAsProcessor(copied, records, { watermark, latenessMs: grown.EVENT_TIME_LATENESS_MS }, grown, lifecycle, value, active);
    for (const [customerId, state] of new Map([...copied, ...folded.states])) expected.states.set(customerId, { partition, state });
    changes.push(...folded.effects);
    expected.values.set(partition, folded.result.value);
    expected.audiences.set(partition, folded.result.audiences);
  }
  collectChanges(expected, changes);
  for (const effect of changes) if (effect.kind === "stage_changed") expected.transitions.push(`${effect.transition.transitionId} ${effect.transition.from ?? "null"}→${effect.transition.to} ${effect.transition.occurredAt}`);
  return expected;
}

/** Every record of a signal topic, decoded, in topic order per partition. */
async function published<T>(topic: string, schema: string): Promise<T[]> {
  const serde = new AvroSerde<T>(createRegistry(config.SCHEMA_REGISTRY_URL), `${topic}-value`, schema);
  const records: T[] = [];
  for (const messages of (await readTopic(kafka, topic)).values()) {
    await serde.prepare(messages.map((message) => message.value));
    for (const message of messages) records.push(serde.decode(message.value));
  }
  return records;
}

const sorted = (values: Iterable<string>) => [...values].sort();

let refusedWhileRunning: CliRun;
let growth: CliRun;
let refusedSecondTime: CliRun;
let metasAfterGrowth: PartitionMeta[];
let expected: Oracle;

beforeAll(async () => {
  kafka = testKafka(config);
  redis = createRedis(config);
  admin = kafka.admin();
  await admin.connect();
  clickhouse = createClickHouse(config);
  await createTopics(kafka, config);
  await migrate(clickhouse, config.CLICKHOUSE_DATABASE);
  const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  await storeValueModel(redis, layout, MODEL);
  const definitions = (await saveAudienceDefinitions(redis, layout, "d-0", AUDIENCES, null))!;

  events = await cdnowEvents("sample");
  const [quarter, half, threeQuarters] = [0.25, 0.5, 0.75].map((share) => Math.floor(events.length * share)) as [number, number, number];
  await startPipeline(config);
  await produceEvents(kafka, config, events.slice(0, quarter));
  await sendToEveryPartition(config.TOPIC_EVENTS, config.TOPIC_PARTITIONS, (partition) => valueModelActivationMessage(MODEL.version, partition));
  await sendToEveryPartition(config.TOPIC_EVENTS, config.TOPIC_PARTITIONS, (partition) => audiencesActivationMessage(definitions.version, partition));
  await produceEvents(kafka, config, events.slice(quarter, half));
  refusedWhileRunning = await clm({}, ...growArgs);

  // Drain: every record applied, every outbox published, the sink through the old topic; then stop.
  await waitFor(() => drained(config), "the processor to apply the first half and publish every change", 180_000);
  await waitCaughtUp(kafka, config);
  await stopPipeline();
  // Ingest pointed at the new topic early: these wait there until the grown processors start.
  await createTopics(kafka, grown);
  await produceEvents(kafka, grown, events.slice(half, threeQuarters));

  growth = await clm({}, ...growArgs, "--json");
  const grownStore = new StateReader(redis, new RedisLayout(grown.REDIS_KEY_PREFIX));
  metasAfterGrowth = [];
  for (let partition = 0; partition < grown.TOPIC_PARTITIONS; partition++) metasAfterGrowth.push(await grownStore.loadMeta(partition));
  refusedSecondTime = await clm({}, ...growArgs);

  await startPipeline(grown);
  await produceEvents(kafka, grown, events.slice(threeQuarters));
  await sendToEveryPartition(grown.TOPIC_EVENTS, grown.TOPIC_PARTITIONS, (partition) => clockAdvanceMessage(CLOCK_ADVANCE_TO, partition));
  await waitFor(() => drained(grown), "the grown processor to apply the second half and the clock advance", 180_000);
  await waitCaughtUp(kafka, grown);
  expected = await oracle();
}, 600_000);

afterAll(async () => {
  await stopPipeline();
  await admin?.disconnect();
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await clickhouse?.close();
  await wipePrefix(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
  await deleteTopics(kafka, config);
  await tearDownRun(kafka, redis, grown);
});

describe("growing the input topic from 3 to 8 partitions under a running pipeline (real Kafka, Redis, processor, sink, ClickHouse, CLI)", () => {
  it("refuses while the processors run, grows once drained, and refuses to grow onto a prefix that holds keys", () => {
    expect(refusedWhileRunning.code).toBe(1);
    expect(refusedWhileRunning.stderr).toContain("the processors are running");
    expect(growth.stderr).toBe("");
    expect(growth.code).toBe(0);
    const report = JSON.parse(growth.stdout) as { customers: number; customersPerNewPartition: number[]; startOffsets: string[]; copySeconds: number; verifySeconds: number };
    expect(report.customers).toBe(expected.oldStates.size);
    expect(report.customersPerNewPartition).toHaveLength(8);
    expect(report.startOffsets).toEqual(Array.from({ length: 8 }, () => "0"));
    console.log(`copied ${report.customers} customers in ${report.copySeconds} s (${Math.round(report.customers / Math.max(report.copySeconds, 0.001))}/s), verified in ${report.verifySeconds} s`);
    expect(refusedSecondTime.code).toBe(1);
    expect(refusedSecondTime.stderr).toContain(`the new prefix ${grown.REDIS_KEY_PREFIX} holds keys already`);
  });

  it("starts every new partition at the new topic's first offset with the grown clock and activations", () => {
    const { watermark, sweptThrough, valueModel, audiences } = expected.grownMetas;
    expect(valueModel?.version).toBe(MODEL.version);
    expect(audiences?.version).toBe("d-1");
    for (const meta of metasAfterGrowth) {
      expect(meta).toEqual({ offset: "0", seq: 0, watermark, sweptThrough, valueModel, audiences: { ...audiences!, previous: [] }, refitCursor: null, audienceCursor: null });
    }
  });

  it("ends with exactly the pure core's state, timer and audience memberships for every customer, under the new partitions", async () => {
    const layout = new RedisLayout(grown.REDIS_KEY_PREFIX);
    expect(expected.states.size).toBe(2357);
    expect(await mismatchedStates(new StateReader(redis, layout), expected.states)).toEqual([]);
    expect(await mismatchedTimers(redis, layout, expected.states, lifecycle, expected.values, expected.audiences)).toEqual([]);
    for (const { id } of AUDIENCES) {
      const members: string[] = [];
      for (let partition = 0; partition < grown.TOPIC_PARTITIONS; partition++) {
        for (const member of await redis.zrange(layout.audienceMembers(partition, id), 0, -1)) {
          expect(partitionForKey(member, grown.TOPIC_PARTITIONS)).toBe(partition);
          members.push(member);
        }
      }
      const inCore = [...expected.states].filter(([, { state }]) => state.audienceIds.includes(id)).map(([customerId]) => customerId);
      expect(inCore.length).toBeGreaterThan(50);
      expect(sorted(members)).toEqual(sorted(inCore));
    }
  });

  it("publishes every stage, value-tier, risk and audience change exactly once: none lost, none twice", async () => {
    const stages = await published<StageChangeRecord>(config.TOPIC_STAGE_CHANGES, STAGE_CHANGE_SCHEMA_TEXT);
    const tiers = await published<ValueTierChangeRecord>(config.TOPIC_VALUE_TIER_CHANGES, VALUE_TIER_CHANGE_SCHEMA_TEXT);
    const risks = await published<RiskChangeRecord>(config.TOPIC_RISK_CHANGES, RISK_CHANGE_SCHEMA_TEXT);
    const memberships = await published<AudienceChangeRecord>(config.TOPIC_AUDIENCE_CHANGES, AUDIENCE_CHANGE_SCHEMA_TEXT);
    expect(expected.transitions).toHaveLength(expected.transitionIds.size);
    expect(sorted(stages.map((change) => change.transitionId))).toEqual(sorted(expected.transitionIds));
    expect(sorted(tiers.map((change) => change.changeId))).toEqual(sorted(expected.tierChangeIds));
    expect(sorted(risks.map((change) => change.changeId))).toEqual(sorted(expected.riskChangeIds));
    expect(sorted(memberships.map((change) => `${change.changeId} ${change.audienceId}`))).toEqual(sorted(expected.audienceChanges.map((change) => `${change.changeId} ${change.audienceId}`)));
    // Changes from both sides of the growth, timers among them.
    expect(stages.some((change) => change.trigger === "timer" && change.occurredAt >= CLOCK_ADVANCE_TO - 365 * 86_400_000)).toBe(true);
    expect(expected.tierChangeIds.size).toBeGreaterThan(1000);
    expect(expected.audienceChanges.length).toBeGreaterThan(500);
  });

  it("gives ClickHouse exactly the core's stage transitions", async () => {
    const db = config.CLICKHOUSE_DATABASE;
    type Row = { transition_id: string; from_stage: string | null; to_stage: string; occurred_at_ms: string };
    let rows: Row[] = [];
    await waitFor(
      async () => {
        rows = await queryRows<Row>(clickhouse, `SELECT transition_id, from_stage, to_stage, occurred_at_ms FROM ${db}.stage_transitions_unique`);
        return rows.length >= expected.transitions.length;
      },
      "ClickHouse to hold every stage transition",
      60_000,
    );
    expect(sorted(rows.map((row) => `${row.transition_id} ${row.from_stage ?? "null"}→${row.to_stage} ${row.occurred_at_ms}`))).toEqual(sorted(expected.transitions));
  });

  it("rebuilds across the growth: the old topic into a prefix, grown by the CLI, then the new topic on top, ends byte for byte as the live grown prefix", async () => {
    const rebuiltOld = new RedisLayout(`${config.REDIS_KEY_PREFIX}-r`);
    const rebuiltNew = new RedisLayout(`${grown.REDIS_KEY_PREFIX}-r`);
    const live = new RedisLayout(grown.REDIS_KEY_PREFIX);
    const options = (name: string) => ({ lifecycle, logger: testLogger, metrics: createProcessorMetrics(createMetricsRegistry(name)), kafka, redis, registry: createRegistry(config.SCHEMA_REGISTRY_URL) });
    try {
      // The new topic alone lacks everything before the cut: a plain rebuild of it is refused.
      await expect(rebuild({ ...options("growth-rebuild-refused"), config: grown, keyPrefix: rebuiltNew.prefix })).rejects.toThrow("starts where a partition growth cut");
      // The activation records name stored versions, which no topic holds: the rebuild prefix gets them first.
      const liveOld = new RedisLayout(config.REDIS_KEY_PREFIX);
      for (const [from, to] of [[liveOld.valueModelVersions(), rebuiltOld.valueModelVersions()], [liveOld.audienceVersions(), rebuiltOld.audienceVersions()]] as const) await redis.restore(to, 0, (await redis.dumpBuffer(from))!);
      await rebuild({ ...options("growth-rebuild-old"), config, keyPrefix: rebuiltOld.prefix });
      // The rebuild's own processors are gone (a fresh group each): name an idle group, not the live one.
      const grow = await clm({ REDIS_KEY_PREFIX: rebuiltOld.prefix, PROCESSOR_GROUP_ID: `${config.PROCESSOR_GROUP_ID}-rebuild` }, "grow", "--to", "8", "--topic", grown.TOPIC_EVENTS, "--prefix", rebuiltNew.prefix, "--no-sink");
      expect(grow.stderr).toBe("");
      expect(grow.code).toBe(0);
      await rebuild({ ...options("growth-rebuild-new"), config: grown, keyPrefix: rebuiltNew.prefix, continue: true });

      const differing: string[] = [];
      for (const [customerId, { partition }] of expected.states) {
        const [left, right] = await Promise.all([redis.getBuffer(live.customer(partition, customerId)), redis.getBuffer(rebuiltNew.customer(partition, customerId))]);
        if (left === null || right === null || !left.equals(right)) differing.push(customerId);
      }
      expect(differing).toEqual([]);
      const liveStore = new StateReader(redis, live);
      const rebuiltStore = new StateReader(redis, rebuiltNew);
      for (let partition = 0; partition < grown.TOPIC_PARTITIONS; partition++) {
        expect(await redis.zrange(rebuiltNew.timers(partition), 0, -1, "WITHSCORES")).toEqual(await redis.zrange(live.timers(partition), 0, -1, "WITHSCORES"));
        for (const { id } of AUDIENCES) expect(await redis.zrange(rebuiltNew.audienceMembers(partition, id), 0, -1)).toEqual(await redis.zrange(live.audienceMembers(partition, id), 0, -1));
        const [liveMeta, rebuiltMeta] = [await liveStore.loadMeta(partition), await rebuiltStore.loadMeta(partition)];
        expect({ ...rebuiltMeta, seq: 0 }).toEqual({ ...liveMeta, seq: 0 });
      }
    } finally {
      await wipePrefix(redis, rebuiltOld);
      await wipePrefix(redis, rebuiltNew);
    }
  }, 300_000);
});
