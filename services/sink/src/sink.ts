import { Backoff } from "@clm/backoff";
import type { ClickHouseClient } from "@clickhouse/client";
import { insertLines } from "@clm/clickhouse";
import type { Config } from "@clm/config";
import {
  CUSTOMER_EVENT_SCHEMA_TEXT,
  STAGE_CHANGE_SCHEMA_TEXT,
  VALUE_TIER_CHANGE_SCHEMA_TEXT,
  RISK_CHANGE_SCHEMA_TEXT,
  AUDIENCE_CHANGE_SCHEMA_TEXT,
  type AudienceChangeRecord,
  type RiskChangeRecord,
  type CustomerEventRecord,
  type StageChangeRecord,
  type ValueTierChangeRecord,
} from "@clm/contracts";
import type { LifecycleConfig } from "@clm/core";
import { AvroSerde, ensureProjectTopics, prepareWhileRegistryAway, runSupervised, type SupervisedConsumer } from "@clm/kafka";
import type { Logger } from "@clm/observability";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { SINK_TABLES, SinkBuffer, type Pending, type SinkTable } from "./buffer.ts";
import { decodeAudienceChanges, decodeEvents, decodeRiskChanges, decodeStageChanges, decodeValueTierChanges } from "./decode.ts";
import type { SinkMetrics } from "./metrics.ts";

export interface SinkOptions {
  config: Config;
  lifecycle: LifecycleConfig;
  logger: Logger;
  metrics: SinkMetrics;
  kafka: Kafka;
  registry: SchemaRegistry;
  clickhouse: ClickHouseClient;
  /** Default: config.SINK_GROUP_ID. */
  groupId?: string;
  /** Default: config.CLICKHOUSE_DATABASE. */
  database?: string;
  /** Called when the Kafka consumer stops for good (main.ts exits). Default: only logged. */
  onFatal?: (error: Error) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Kafka → ClickHouse. One consumer group over the input-event, stage-change, value-tier-change, risk-change and audience-change topics; rows
 * are buffered across partitions and written in large inserts, bounded by SINK_BATCH_ROWS and
 * SINK_FLUSH_INTERVAL_MS. Offsets are committed only after every table of a write succeeded, so
 * a crash redelivers and never loses; the tables and views dedupe by business id (docs/sink.md).
 * While ClickHouse refuses writes the sink keeps its rows, retries with backoff and stops
 * consuming once the buffer is full; the rest of the pipeline is unaffected.
 */
export class Sink {
  private readonly buffer = new SinkBuffer();
  private readonly eventsSerde: AvroSerde<CustomerEventRecord>;
  private readonly stageSerde: AvroSerde<StageChangeRecord>;
  private readonly tierSerde: AvroSerde<ValueTierChangeRecord>;
  private readonly riskSerde: AvroSerde<RiskChangeRecord>;
  private readonly audienceSerde: AvroSerde<AudienceChangeRecord>;
  private readonly options: Required<SinkOptions>;
  private consumer: Consumer | null = null;
  private supervision: SupervisedConsumer | null = null;
  private admin: Admin | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<boolean> | null = null;
  /** Pauses between ClickHouse write tries while it refuses them. */
  private readonly writeBackoff: Backoff;
  private retryAt = 0;
  private stopping = false;
  private owned = new Set<string>();

  constructor(options: SinkOptions) {
    this.options = { groupId: options.config.SINK_GROUP_ID, database: options.config.CLICKHOUSE_DATABASE, onFatal: () => undefined, ...options };
    this.eventsSerde = new AvroSerde(options.registry, `${options.config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
    this.stageSerde = new AvroSerde(options.registry, `${options.config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    this.tierSerde = new AvroSerde(options.registry, `${options.config.TOPIC_VALUE_TIER_CHANGES}-value`, VALUE_TIER_CHANGE_SCHEMA_TEXT);
    this.riskSerde = new AvroSerde(options.registry, `${options.config.TOPIC_RISK_CHANGES}-value`, RISK_CHANGE_SCHEMA_TEXT);
    this.audienceSerde = new AvroSerde(options.registry, `${options.config.TOPIC_AUDIENCE_CHANGES}-value`, AUDIENCE_CHANGE_SCHEMA_TEXT);
    this.writeBackoff = new Backoff({ initialMs: Math.min(200, options.config.SINK_RETRY_MAX_MS), maxMs: options.config.SINK_RETRY_MAX_MS });
    options.metrics.bufferLimit.set(options.config.SINK_BATCH_ROWS);
  }

  get bufferedRows(): number {
    return this.buffer.rowCount;
  }

  async start(options: { fromBeginning?: boolean } = {}): Promise<void> {
    const { config, kafka, logger } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    await ensureProjectTopics(this.admin, config);
    const consumer = kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: config.SINK_SESSION_TIMEOUT_MS,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.floor(config.SINK_SESSION_TIMEOUT_MS / 5),
      maxBytesPerPartition: 2 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: 200,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const owned = new Set<string>();
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) for (const partition of partitions) owned.add(`${topic}:${partition}`);
      this.owned = owned;
      this.buffer.retainOffsets((topic, partition) => owned.has(`${topic}:${partition}`));
      logger.info({ assignment: event.payload.memberAssignment }, "partitions assigned");
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [config.TOPIC_EVENTS, config.TOPIC_STAGE_CHANGES, config.TOPIC_VALUE_TIER_CHANGES, config.TOPIC_RISK_CHANGES, config.TOPIC_AUDIENCE_CHANGES], fromBeginning: options.fromBeginning ?? true });
    this.supervision = await runSupervised(
      consumer,
      { autoCommit: false, eachBatchAutoResolve: true, partitionsConsumedConcurrently: 1, eachBatch: (payload) => this.onBatch(payload) },
      { logger, onFatal: this.options.onFatal },
    );
    this.timer = setInterval(() => this.flushIfDue(), Math.min(100, config.SINK_FLUSH_INTERVAL_MS));
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    const { config, metrics, logger } = this.options;
    const events = batch.topic === config.TOPIC_EVENTS;
    const tiers = batch.topic === config.TOPIC_VALUE_TIER_CHANGES;
    const risks = batch.topic === config.TOPIC_RISK_CHANGES;
    const memberships = batch.topic === config.TOPIC_AUDIENCE_CHANGES;
    const serde = events ? this.eventsSerde : tiers ? this.tierSerde : risks ? this.riskSerde : memberships ? this.audienceSerde : this.stageSerde;
    const values = batch.messages.map((message) => message.value);
    // While the schema registry does not answer, the batch waits here, retrying with a backoff and
    // heartbeating: nothing of it is buffered, skipped or committed (a registry outage is not bad
    // input), and nothing later is consumed meanwhile (one batch at a time), so order holds.
    const prepared = await prepareWhileRegistryAway(() => serde.prepare(values), {
      heartbeat,
      active: () => !this.stopping && isRunning() && !isStale(),
      onUnavailable: (error, retryInMs) => {
        metrics.registryUnavailable.inc({ topic: batch.topic });
        logger.warn(
          { err: error, topic: batch.topic, partition: batch.partition, schemaId: error.schemaId, firstOffset: batch.firstOffset(), retryInMs },
          "the schema registry does not answer; the batch waits (nothing buffered, skipped or committed)",
        );
      },
      onRecovered: (failures, waitedMs) => logger.info({ topic: batch.topic, partition: batch.partition, failures, waitedMs }, "the schema registry answers again; the batch goes on"),
    });
    // Stopping: the batch's offsets are not in the buffer, so they are never committed; it is read again.
    if (!prepared) return;
    const now = Date.now();
    const decoded = events
      ? decodeEvents(this.eventsSerde, batch.messages, batch.partition, this.options.lifecycle.reportingCurrency, config.MAX_FUTURE_SKEW_MS, now)
      : tiers
        ? decodeValueTierChanges(this.tierSerde, batch.messages, batch.partition, now)
        : risks
          ? decodeRiskChanges(this.riskSerde, batch.messages, batch.partition, now)
          : memberships
            ? decodeAudienceChanges(this.audienceSerde, batch.messages, batch.partition, now)
            : decodeStageChanges(this.stageSerde, batch.messages, batch.partition, now);
    for (const skip of decoded.skipped) metrics.skipped.inc({ topic: batch.topic, reason: skip.reason });
    if (decoded.skipped.length > 0) {
      logger.warn({ topic: batch.topic, partition: batch.partition, skipped: decoded.skipped.slice(0, 5), count: decoded.skipped.length }, "records not written");
    }
    this.buffer.add(decoded.rows, batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n, now);
    metrics.bufferedRows.set(this.buffer.rowCount);

    // Backpressure: a full buffer holds the consumer (heartbeating, so the group keeps our partitions) until a write succeeds.
    while (this.buffer.rowCount >= config.SINK_BATCH_ROWS && !this.stopping && isRunning() && !isStale()) {
      const write = this.flushIfDue();
      await Promise.race([write ?? sleep(250), sleep(1000)]);
      await heartbeat();
    }
  }

  /** Starts a write when the buffer is full or old enough and no retry pause is running; returns the running write. */
  private flushIfDue(): Promise<boolean> | null {
    if (this.flushing) return this.flushing;
    const { config } = this.options;
    const now = Date.now();
    if (now < this.retryAt || this.buffer.isEmpty) return null;
    if (this.buffer.rowCount < config.SINK_BATCH_ROWS && this.buffer.age(now) < config.SINK_FLUSH_INTERVAL_MS) return null;
    return this.startFlush();
  }

  private startFlush(): Promise<boolean> {
    this.flushing = this.flush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Writes everything buffered; true when written (and committed or given up committing), false when given back for a retry. */
  private async flush(): Promise<boolean> {
    const { metrics, logger } = this.options;
    const taken = this.buffer.take();
    const timer = metrics.flushSeconds.startTimer();
    try {
      for (const table of SINK_TABLES) await this.insert(table, taken.rows[table]);
    } catch (error) {
      this.buffer.restore(taken);
      metrics.flushes.inc({ outcome: "failed" });
      const pauseMs = this.writeBackoff.next();
      metrics.consecutiveFailedWrites.set(this.writeBackoff.failures);
      this.retryAt = Date.now() + pauseMs;
      logger.warn({ err: error, rows: this.buffer.rowCount, retryInMs: pauseMs }, "ClickHouse write failed; rows kept, offsets not committed");
      return false;
    }
    timer();
    if (this.writeBackoff.failures > 0) logger.info({ rows: SINK_TABLES.reduce((sum, table) => sum + taken.rows[table].length, 0) }, "ClickHouse writes resumed");
    this.writeBackoff.reset();
    metrics.consecutiveFailedWrites.set(0);
    this.retryAt = 0;
    metrics.flushes.inc({ outcome: "ok" });
    for (const table of SINK_TABLES) metrics.rows.inc({ table }, taken.rows[table].length);
    metrics.bufferedRows.set(this.buffer.rowCount);
    await this.commit(taken);
    return true;
  }

  private async insert(table: SinkTable, rows: readonly string[]): Promise<void> {
    if (rows.length === 0) return;
    await insertLines(this.options.clickhouse, `${this.options.database}.${table}`, rows);
  }

  private async commit(written: Pending): Promise<void> {
    const offsets = [...written.offsets.values()]
      .filter((entry) => this.owned.has(`${entry.topic}:${entry.partition}`))
      .map((entry) => ({ topic: entry.topic, partition: entry.partition, offset: entry.offset.toString() }));
    if (offsets.length === 0 || !this.consumer) return;
    try {
      await this.consumer.commitOffsets(offsets);
    } catch (error) {
      // The rows are in ClickHouse; whoever owns the partition next reads them again and the views dedupe them.
      this.options.metrics.commitFailures.inc();
      this.options.logger.warn({ err: error }, "offset commit failed after a successful write");
    }
  }

  /** Graceful stop: stop consuming, write what is held (a few tries), commit, leave the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.supervision?.cancel();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.flushing) await this.flushing;
    for (let attempt = 0; attempt < 3 && !this.buffer.isEmpty; attempt++) {
      if (attempt > 0) await sleep(Math.min(this.writeBackoff.upcomingMs, 2000));
      await this.startFlush();
    }
    if (!this.buffer.isEmpty) this.options.logger.warn({ rows: this.buffer.rowCount }, "stopping with unwritten rows; their offsets are not committed, they will be read again");
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
  }
}
