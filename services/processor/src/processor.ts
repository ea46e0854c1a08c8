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
import type { AudienceDefinitions, LifecycleConfig, RfmBoundaries, ValueModel } from "@clm/core";
import { AvroSerde, createIdempotentProducer, ensureProjectTopics, runSupervised, type SupervisedConsumer } from "@clm/kafka";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import type { Logger } from "@clm/observability";
import type { RedisClient } from "@clm/redis";
import { readAudienceDefinitions, readValueModel, RedisLayout, renameLegacyAudienceKeys, RfmBoundaryReader } from "@clm/state-store";
import type { Admin, Consumer, Kafka, Producer } from "kafkajs";
import type { ProcessorMetrics } from "./metrics.ts";
import { PartitionWorker, type BatchOutcome } from "./partition-worker.ts";
import { StateStore } from "./state-store.ts";
import { warmUp, warmUpClients } from "./warm-up.ts";

/** Time per partition per tick the refit sweep may take (it goes on at the next tick). */
const REFIT_SLICE_MS = 200;

export interface ProcessorOptions {
  config: Config;
  lifecycle: LifecycleConfig;
  logger: Logger;
  metrics: ProcessorMetrics;
  kafka: Kafka;
  redis: RedisClient;
  registry: SchemaRegistry;
  /** Default: config.PROCESSOR_GROUP_ID. */
  groupId?: string;
  /** Default: config.REDIS_KEY_PREFIX. */
  keyPrefix?: string;
  /** false for a rebuild: rebuild state without publishing stage changes again. */
  publish?: boolean;
  /** Name in dead letters and logs. Default: "processor". */
  service?: string;
  /** Called when the Kafka consumer stops for good (main.ts exits). Default: only logged. */
  onFatal?: (error: Error) => void;
}

/**
 * The stream processor: a kafkajs consumer group over the input topic. Each batch
 * of a partition is folded by the pure core and written to Redis in one fenced
 * atomic script; stage changes leave through a per-partition outbox. Scale out by
 * starting more processes with the same group id.
 */
export class Processor {
  readonly store: StateStore;
  private readonly workers = new Map<number, PartitionWorker>();
  private owned = new Set<number>();
  private admin: Admin | null = null;
  /** One idempotent producer per partition: an idempotent kafkajs producer has one request in flight, so a shared one would queue every partition's publishes behind each other. */
  private readonly producers = new Map<number, Promise<Producer>>();
  private consumer: Consumer | null = null;
  private supervision: SupervisedConsumer | null = null;
  private tick: NodeJS.Timeout | null = null;
  private ticking = false;
  private readonly eventsSerde: AvroSerde<CustomerEventRecord>;
  private readonly stageSerde: AvroSerde<StageChangeRecord>;
  private readonly tierSerde: AvroSerde<ValueTierChangeRecord>;
  private readonly riskSerde: AvroSerde<RiskChangeRecord>;
  private readonly audienceSerde: AvroSerde<AudienceChangeRecord>;
  private readonly audienceDefinitionSets = new Map<string, AudienceDefinitions>();
  /** Stored value models by version (a version never changes, so they are kept). */
  private readonly valueModels = new Map<string, ValueModel>();
  private readonly earliest = new Map<number, string>();
  private readonly rfm: RfmBoundaryReader;
  private boundaries: RfmBoundaries | null = null;
  private boundariesReadAt = 0;
  private clockAdvanceIgnoredLogged = false;

  private readonly options: Required<ProcessorOptions>;

  constructor(options: ProcessorOptions) {
    this.options = {
      groupId: options.config.PROCESSOR_GROUP_ID,
      keyPrefix: options.config.REDIS_KEY_PREFIX,
      publish: true,
      service: "processor",
      onFatal: () => undefined,
      ...options,
    };
    this.store = new StateStore(options.redis, new RedisLayout(this.options.keyPrefix), options.config.TRANSITION_HISTORY_PER_CUSTOMER, (error) => {
      options.metrics.redisReplicaShortfalls.inc();
      options.logger.warn({ err: error }, "Redis replicas did not confirm a write in time; retried");
    });
    this.eventsSerde = new AvroSerde(options.registry, `${options.config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
    this.stageSerde = new AvroSerde(options.registry, `${options.config.TOPIC_STAGE_CHANGES}-value`, STAGE_CHANGE_SCHEMA_TEXT);
    this.tierSerde = new AvroSerde(options.registry, `${options.config.TOPIC_VALUE_TIER_CHANGES}-value`, VALUE_TIER_CHANGE_SCHEMA_TEXT);
    this.riskSerde = new AvroSerde(options.registry, `${options.config.TOPIC_RISK_CHANGES}-value`, RISK_CHANGE_SCHEMA_TEXT);
    this.audienceSerde = new AvroSerde(options.registry, `${options.config.TOPIC_AUDIENCE_CHANGES}-value`, AUDIENCE_CHANGE_SCHEMA_TEXT);
    this.rfm = new RfmBoundaryReader(options.redis, this.store.layout);
  }

  /** Re-reads the stored RFM boundaries at most every 30 s (they move slowly). */
  private async refreshBoundaries(): Promise<void> {
    if (performance.now() - this.boundariesReadAt < 30_000 && this.boundariesReadAt !== 0) return;
    this.boundariesReadAt = performance.now();
    this.boundaries = await this.rfm.load();
  }

  private async audienceDefinitions(version: string): Promise<AudienceDefinitions | null> {
    const known = this.audienceDefinitionSets.get(version);
    if (known !== undefined) return known;
    const definitions = await readAudienceDefinitions(this.options.redis, this.store.layout, version);
    if (definitions !== null) this.audienceDefinitionSets.set(version, definitions);
    return definitions;
  }

  private async valueModel(version: string): Promise<ValueModel | null> {
    const known = this.valueModels.get(version);
    if (known !== undefined) return known;
    const model = await readValueModel(this.options.redis, this.store.layout, version);
    if (model !== null) this.valueModels.set(version, model);
    return model;
  }

  get ownedPartitions(): readonly number[] {
    return [...this.owned].sort((left, right) => left - right);
  }

  async start(options: { fromBeginning?: boolean } = {}): Promise<void> {
    const { config, kafka, logger } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    await ensureProjectTopics(this.admin, config);
    await this.eventsSerde.register();
    await this.stageSerde.register();
    await this.tierSerde.register();
    await this.riskSerde.register();
    await this.audienceSerde.register();
    await this.store.loadScripts();
    const renamed = await renameLegacyAudienceKeys(this.options.redis, this.store.layout);
    if (renamed > 0) logger.info({ renamed }, "audience keys renamed to their hash-tagged names");
    await this.refreshBoundaries();
    const warmUpStarted = performance.now();
    // Warm code and clients keep the first seconds' latency down beside a busy core (docs/performance.md).
    for (let pass = 0; pass < config.PROCESSOR_WARM_UP_PASSES; pass++) {
      await warmUpClients(this.store, warmUp(this.eventsSerde, this.stageSerde, this.options.lifecycle));
    }
    logger.info({ ms: Math.round(performance.now() - warmUpStarted), passes: config.PROCESSOR_WARM_UP_PASSES }, "code paths warmed up");

    const consumer = kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: config.PROCESSOR_SESSION_TIMEOUT_MS,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.floor(config.PROCESSOR_SESSION_TIMEOUT_MS / 5),
      maxBytesPerPartition: config.PROCESSOR_FETCH_BYTES_PER_PARTITION,
      maxBytes: Math.max(10 * 1024 * 1024, 2 * config.PROCESSOR_FETCH_BYTES_PER_PARTITION),
      maxWaitTimeInMs: 100,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assigned = event.payload.memberAssignment[config.TOPIC_EVENTS] ?? [];
      // A partition's gauges change only with its own batches and drains: drop those of partitions
      // that went to another process, or a stale lag would stay behind (and read as a stall).
      for (const partition of this.workers.keys()) {
        if (assigned.includes(partition)) continue;
        this.options.metrics.lag.remove({ partition: String(partition) });
        this.options.metrics.outboxPending.remove({ partition: String(partition) });
      }
      this.owned = new Set(assigned);
      for (const worker of this.workers.values()) worker.invalidate();
      // Connect the partitions' producers now: an idempotent producer's first send otherwise pays
      // connect and InitProducerId, which showed up as ~1 s latency on the first stage changes.
      if (this.options.publish) for (const partition of assigned) void this.producerFor(partition).catch(() => undefined);
      // Likewise what the first batch of each partition reads before it can fold: its applied offset and fence.
      for (const partition of assigned) void this.worker(partition).resumeOffset().catch(() => undefined);
      logger.info({ partitions: this.ownedPartitions }, "partitions assigned");
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.owned = new Set();
    });
    // A crashed consumer has left its group: another process may own its partitions now.
    consumer.on(consumer.events.CRASH, () => {
      this.owned = new Set();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [config.TOPIC_EVENTS], fromBeginning: options.fromBeginning ?? true });
    this.supervision = await runSupervised(consumer, {
      eachBatchAutoResolve: false,
      autoCommitInterval: 1000,
      // The process is CPU-bound on one thread: two batches in flight overlap one's Redis round trip
      // with the other's folding; more only holds more batches in memory at once (docs/performance.md).
      partitionsConsumedConcurrently: Math.min(config.TOPIC_PARTITIONS, 2),
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        // kafkajs heartbeats only when asked: a batch whose Redis commands wait out a failover (up to
        // ~15 s of retries, then WAITs) would otherwise lose the group membership and move partitions.
        const beating = setInterval(() => void heartbeat().catch(() => undefined), Math.floor(config.PROCESSOR_SESSION_TIMEOUT_MS / 5));
        let outcome: BatchOutcome;
        try {
          outcome = await this.worker(batch.partition).processBatch(batch.messages, batch.highWatermark, { heartbeat, active: () => isRunning() && !isStale() });
        } finally {
          clearInterval(beating);
        }
        // Stopped while waiting for the schema registry: nothing applied, nothing to resolve.
        if (outcome.kind === "stopped") return;
        if (outcome.kind === "seek") {
          logger.info({ partition: batch.partition, offset: outcome.offset }, "resuming from the offset applied in Redis");
          consumer.seek({ topic: batch.topic, partition: batch.partition, offset: outcome.offset });
          return;
        }
        if (outcome.lastOffset !== null) resolveOffset(outcome.lastOffset);
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    }, { logger, onFatal: this.options.onFatal });
    this.tick = setInterval(() => void this.onTick(), config.CLOCK_MODE === "wall" ? config.TIMER_SWEEP_INTERVAL_MS : 1000);
  }

  private worker(partition: number): PartitionWorker {
    let worker = this.workers.get(partition);
    if (!worker) {
      const { config } = this.options;
      worker = new PartitionWorker(partition, {
        store: this.store,
        events: this.eventsSerde,
        stageChanges: this.stageSerde,
        valueTierChanges: this.tierSerde,
        riskChanges: this.riskSerde,
        audienceChanges: this.audienceSerde,
        audienceDefinitions: (version) => this.audienceDefinitions(version),
        valueModel: (version) => this.valueModel(version),
        refitScanCount: config.PROCESSOR_REFIT_SCAN_COUNT,
        producer: () => this.producerFor(partition),
        lifecycle: this.options.lifecycle,
        logger: this.options.logger,
        metrics: this.options.metrics,
        topics: { events: config.TOPIC_EVENTS, stageChanges: config.TOPIC_STAGE_CHANGES, valueTierChanges: config.TOPIC_VALUE_TIER_CHANGES, riskChanges: config.TOPIC_RISK_CHANGES, audienceChanges: config.TOPIC_AUDIENCE_CHANGES, deadLetter: config.TOPIC_DEAD_LETTER },
        clockMode: config.CLOCK_MODE,
        latenessMs: config.EVENT_TIME_LATENESS_MS,
        maxFutureSkewMs: config.MAX_FUTURE_SKEW_MS,
        maxCustomersPerWrite: config.PROCESSOR_MAX_CUSTOMERS_PER_WRITE,
        cachedCustomers: config.PROCESSOR_CACHED_CUSTOMERS_PER_PARTITION,
        publish: this.options.publish,
        service: this.options.service,
        earliestOffset: (p) => this.earliestOffset(p),
        rfmBoundaries: () => this.boundaries,
        owned: () => this.owned.has(partition),
        clockAdvanceIgnored: (partition, to) => {
          if (this.clockAdvanceIgnoredLogged) return;
          this.clockAdvanceIgnoredLogged = true;
          this.options.logger.warn(
            { partition, to: new Date(to).toISOString() },
            "clock advance ignored: CLOCK_MODE=wall follows the machine clock (counted in clm_processor_clock_advances_total; logged once)",
          );
        },
      });
      this.workers.set(partition, worker);
    }
    return worker;
  }

  private producerFor(partition: number): Promise<Producer> {
    let producer = this.producers.get(partition);
    if (!producer) {
      const created = createIdempotentProducer(this.options.kafka);
      const { config } = this.options;
      // An empty send loads the topics' metadata (and runs the send path once) before the first real
      // stage change has to wait for it; it produces nothing, and if it fails the first send loads it.
      const topicMessages = [config.TOPIC_STAGE_CHANGES, config.TOPIC_VALUE_TIER_CHANGES, config.TOPIC_RISK_CHANGES, config.TOPIC_AUDIENCE_CHANGES, config.TOPIC_DEAD_LETTER].map((topic) => ({ topic, messages: [] }));
      producer = created
        .connect()
        .then(() => created.sendBatch({ topicMessages, acks: -1 }).catch(() => undefined))
        .then(() => created);
      // A failed connect is not cached (the next publish tries again) and leaves no socket behind.
      producer.catch(() => {
        this.producers.delete(partition);
        void created.disconnect().catch(() => undefined);
      });
      this.producers.set(partition, producer);
    }
    return producer;
  }

  private async earliestOffset(partition: number): Promise<string> {
    const known = this.earliest.get(partition);
    if (known !== undefined) return known;
    const low = await this.admin!.fetchTopicOffsets(this.options.config.TOPIC_EVENTS);
    for (const entry of low) this.earliest.set(entry.partition, entry.low);
    return this.earliest.get(partition) ?? "0";
  }

  /** Maintenance of owned partitions: fire due timers (wall clock) and publish what outboxes still hold. */
  private async onTick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    const now = Date.now();
    this.options.metrics.outboxOldestAge.reset();
    for (const partition of this.owned) this.options.metrics.outboxOldestAge.set({ partition: String(partition) }, this.worker(partition).outboxOldestAgeSeconds(now));
    try {
      await this.refreshBoundaries();
      for (const partition of this.owned) {
        const worker = this.worker(partition);
        const resume = await worker.verifyMeta();
        if (resume !== null && this.consumer !== null && this.owned.has(partition)) {
          this.options.logger.warn({ partition, offset: resume }, "resuming from the offset applied in Redis, which went back");
          this.consumer.seek({ topic: this.options.config.TOPIC_EVENTS, partition, offset: resume });
        }
        if (this.options.config.CLOCK_MODE === "wall") await worker.sweep(Date.now());
        await this.refitSome(partition, worker);
        // Retries publishes that failed, and publishes what a crashed owner left behind.
        worker.requestDrain();
      }
    } catch (error) {
      this.options.logger.error({ err: error }, "timer sweep failed; retrying on the next tick");
    } finally {
      this.ticking = false;
    }
  }

  /** Refit sweep steps of one partition for at most REFIT_SLICE_MS per tick, so batches and timers keep their turn. */
  private async refitSome(partition: number, worker: PartitionWorker): Promise<void> {
    const started = performance.now();
    let more = await worker.refitStep();
    while (more && performance.now() - started < REFIT_SLICE_MS && this.owned.has(partition)) more = await worker.refitStep();
    this.options.metrics.refitPending.set({ partition: String(partition) }, more ? 1 : 0);
  }

  /** Graceful stop: finish the running batch, commit, leave the group, publish what is pending. */
  async stop(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    this.supervision?.cancel();
    await this.consumer?.disconnect();
    this.owned = new Set();
    // Publish what any partition this process worked on still holds (a new owner may race: duplicates, never loss).
    for (const worker of this.workers.values()) await worker.flushOutbox();
    for (const producer of this.producers.values()) await producer.then((connected) => connected.disconnect()).catch(() => undefined);
    this.producers.clear();
    await this.admin?.disconnect();
  }
}
