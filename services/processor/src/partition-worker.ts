import {
  advanceTo,
  decodeState,
  encodeState,
  encodeHistoryEntry,
  foldPartitionBatch,
  needsAudienceRefit,
  nextDeadline,
  refitCustomer,
  rfmScores,
  sweepHorizon,
  type CustomerState,
  type Effect,
  type EpochMs,
  type BatchResult,
  type LifecycleConfig,
  type PartitionClock,
  type RfmBoundaries,
  type StageTransition,
  type ActiveValueModel,
  type ValueModel,
  type ValueTierChange,
  type RiskChange,
  type ActiveAudiences,
  type AudienceChange,
  type AudienceDefinitions,
} from "@clm/core";
import {
  audienceChangeToRecord,
  riskChangeToRecord,
  stageChangeToRecord,
  valueTierChangeToRecord,
  type AudienceChangeRecord,
  type CustomerEventRecord,
  type RiskChangeRecord,
  type StageChangeRecord,
  type ValueTierChangeRecord,
} from "@clm/contracts";
import { prepareWhileRegistryAway, RegistryUnavailableError, type AvroSerde } from "@clm/kafka";
import type { Logger } from "@clm/observability";
import type { PartitionMeta } from "@clm/state-store";
import type { KafkaMessage, Message, Producer } from "kafkajs";
import { activatedAudienceVersions, activatedVersions, DeadLetters, readBatchRecords, type BatchReading } from "./batch-records.ts";
import type { ProcessorMetrics } from "./metrics.ts";
import { compareOffsets } from "./offsets.ts";
import { OutboxAge } from "./outbox-age.ts";
import { slicesByCustomers } from "./slices.ts";
import { StateCache } from "./state-cache.ts";
import { packOutboxEntry, unpackOutboxEntry, type CustomerWrite, type OutboxTopic, type StateStore } from "./state-store.ts";

export interface WorkerDeps {
  store: StateStore;
  events: AvroSerde<CustomerEventRecord>;
  stageChanges: AvroSerde<StageChangeRecord>;
  valueTierChanges: AvroSerde<ValueTierChangeRecord>;
  riskChanges: AvroSerde<RiskChangeRecord>;
  audienceChanges: AvroSerde<AudienceChangeRecord>;
  /** Stored audience definitions by version (cached: versions never change); null when Redis does not hold them. */
  audienceDefinitions: (version: string) => Promise<AudienceDefinitions | null>;
  /** A stored value model by version (cached: versions never change); null when Redis does not hold it. */
  valueModel: (version: string) => Promise<ValueModel | null>;
  /** Keys a refit sweep step asks Redis's SCAN for (PROCESSOR_REFIT_SCAN_COUNT). */
  refitScanCount: number;
  /** This partition's producer (stage changes and dead letters). */
  producer: () => Promise<Producer>;
  lifecycle: LifecycleConfig;
  logger: Logger;
  metrics: ProcessorMetrics;
  topics: { events: string; stageChanges: string; valueTierChanges: string; riskChanges: string; audienceChanges: string; deadLetter: string };
  clockMode: "wall" | "event";
  latenessMs: number;
  /** How far an event may be dated ahead of when its record was produced (MAX_FUTURE_SKEW_MS); later ones are dead letters. */
  maxFutureSkewMs: number;
  /** false for a rebuild: state is rebuilt, stage changes are not published again. */
  publish: boolean;
  service: string;
  /** The partition's first retained offset: where a partition with no applied offset starts. */
  earliestOffset: (partition: number) => Promise<string>;
  /** Current population RFM boundaries, if computed: stage-change snapshots then carry RFM scores. */
  rfmBoundaries: () => RfmBoundaries | null;
  /** Batches with more distinct customers are folded and committed in slices (PROCESSOR_MAX_CUSTOMERS_PER_WRITE). */
  maxCustomersPerWrite: number;
  /** Customers of the partition kept in memory between batches (PROCESSOR_CACHED_CUSTOMERS_PER_PARTITION; 0: none). */
  cachedCustomers: number;
  /** Whether this process is assigned the partition now: background publishing stops when it is not. */
  owned: () => boolean;
  /** A clock advance met in wall clock mode, where the wall clock is the only time: it changes nothing. */
  clockAdvanceIgnored: (partition: number, to: EpochMs) => void;
}

/** `stopped`: the consumer stopped (or the partition was sought) while the batch waited for the registry; nothing of it was applied. */
export type BatchOutcome = { kind: "applied"; lastOffset: string | null } | { kind: "seek"; offset: string } | { kind: "stopped" };

/** What processBatch needs of kafkajs's eachBatch payload besides the records. */
export interface BatchControl {
  /** Keeps the group membership during a long batch (kafkajs only heartbeats when asked). */
  heartbeat: () => Promise<void>;
  /** false once the consumer stops or the partition was sought: a batch waiting for the registry is given up. */
  active: () => boolean;
}

// Stage changes per outbox send: larger sends gain nothing (docs/performance.md), and smaller ones
// keep a drain's first publish early.
const OUTBOX_CHUNK = 500;

const PUBLISHED_KINDS: ReadonlySet<Effect["kind"]> = new Set(["stage_changed", "value_tier_changed", "risk_changed", "audience_changed"]);
const changesWritten = (effects: readonly { effect: Effect }[]) => effects.some((entry) => PUBLISHED_KINDS.has(entry.effect.kind));

/**
 * Everything the processor does for one Kafka partition. Work on a partition is
 * serialised (batches, timer sweeps and outbox drains never overlap); Redis holds
 * the truth — applied offset, states, timers, outbox — and every write is fenced.
 */
export class PartitionWorker {
  private meta: PartitionMeta | null = null;
  /**
   * The write sequence confirmed to be on REDIS_WAIT_REPLICAS replicas (StateStore.confirm): set by
   * each commit, unknown (null) after the meta is loaded, since another process may have written
   * what it holds without waiting for replicas (then crashed).
   */
  private confirmedSeq: number | null = null;
  /** The value model active on the partition (as its meta says), loaded with the meta. */
  private value: ActiveValueModel | null = null;
  /** The audience definitions active on the partition (as its meta says), loaded with the meta. */
  private audiences: ActiveAudiences | null = null;
  private readonly cache: StateCache;
  private queue: Promise<unknown> = Promise.resolve();
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  /** Set by a graceful stop: publish everything, owned or not. */
  private flushing = false;
  private readonly outboxAge = new OutboxAge();

  constructor(
    readonly partition: number,
    private readonly deps: WorkerDeps,
  ) {
    this.cache = new StateCache(deps.cachedCustomers);
  }

  /** Runs `task` after every earlier task of this partition has finished. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async currentMeta(): Promise<PartitionMeta> {
    if (this.meta === null) {
      const meta = await this.deps.store.loadMeta(this.partition);
      this.value = meta.valueModel === null ? null : { model: await this.storedModel(meta.valueModel.version), activatedAt: meta.valueModel.activatedAt };
      this.audiences = null;
      if (meta.audiences !== null) {
        for (const entry of [...meta.audiences.previous].reverse()) this.audiences = { definitions: await this.storedAudiences(entry.version), activatedAt: entry.activatedAt, previous: this.audiences };
        this.audiences = { definitions: await this.storedAudiences(meta.audiences.version), activatedAt: meta.audiences.activatedAt, previous: this.audiences };
      }
      this.meta = meta;
      this.confirmedSeq = null;
    }
    return this.meta;
  }

  /** A model the partition's meta names must be stored: it was stored before it was activated. */
  private async storedModel(version: string): Promise<ValueModel> {
    const model = await this.deps.valueModel(version);
    if (model === null) throw new Error(`partition ${this.partition}: the active value model ${version} is not in Redis's versions hash`);
    return model;
  }

  /** Definitions the partition's meta names must be stored: they were stored before they were activated. */
  private async storedAudiences(version: string): Promise<AudienceDefinitions> {
    const definitions = await this.deps.audienceDefinitions(version);
    if (definitions === null) throw new Error(`partition ${this.partition}: the active audience definitions ${version} are not in Redis's versions hash`);
    return definitions;
  }

  /**
   * Whether replicas hold the partition as `meta` says (at once when this process's last commit was
   * confirmed, or without REDIS_WAIT_REPLICAS); false when Redis holds another seq (the caller
   * reloads). Throws ReplicasBehindError while replicas fall short.
   */
  private async confirmed(meta: PartitionMeta): Promise<boolean> {
    if (this.confirmedSeq === meta.seq) return true;
    if (!(await this.deps.store.confirm(this.partition, meta.seq))) return false;
    this.confirmedSeq = meta.seq;
    return true;
  }

  /**
   * Compares the write sequence Redis holds with the one this process last wrote or read. Another
   * seq means the partition changed under it: a failover or a Redis restart took back writes (the
   * applied offset went back with them), or another process wrote. The cached meta and states are
   * dropped; returns the offset the consumer must go back to when Redis's applied offset is now
   * behind the one this process had (null otherwise). A partition that receives nothing more
   * would otherwise never write again — the write that meets the fence — and keep the loss.
   */
  verifyMeta(): Promise<string | null> {
    return this.serial(async () => {
      const cached = this.meta;
      if (cached === null) return null;
      const seq = await this.deps.store.loadSeq(this.partition);
      if (seq === cached.seq) return null;
      this.deps.metrics.stateChangedUnder.inc();
      this.invalidate();
      const meta = await this.currentMeta();
      this.deps.logger.warn({ partition: this.partition, seq, expectedSeq: cached.seq, offset: meta.offset, hadOffset: cached.offset }, "the partition's Redis state changed under this process; reloaded");
      if (cached.offset === null) return null;
      const resume = meta.offset ?? (await this.deps.earliestOffset(this.partition));
      return compareOffsets(resume, cached.offset) < 0 ? resume : null;
    });
  }

  /** Forget cached meta (after a rebalance another process may have written). */
  invalidate(): void {
    this.meta = null;
    this.cache.clear();
  }

  /** Current states of `customerIds` (those with one): from the cache, the rest read from Redis. */
  private async loadStates(customerIds: Iterable<string>): Promise<Map<string, CustomerState>> {
    const states = new Map<string, CustomerState>();
    const missing: string[] = [];
    for (const customerId of customerIds) {
      const cached = this.cache.get(customerId);
      if (cached) states.set(customerId, decodeState(customerId, Buffer.from(cached.packed, "latin1")));
      else missing.push(customerId);
    }
    const hits = states.size;
    if (missing.length > 0) for (const [customerId, state] of await this.deps.store.loadStates(this.partition, missing)) states.set(customerId, state);
    this.deps.metrics.stateLoads.inc({ source: "cache" }, hits);
    this.deps.metrics.stateLoads.inc({ source: "redis" }, missing.length);
    return states;
  }

  /** The offset the consumer must read from: Redis's applied offset, not the group's. */
  async resumeOffset(): Promise<string | null> {
    return this.serial(async () => (await this.currentMeta()).offset);
  }

  /**
   * `heartbeat` keeps the group membership alive while a large batch is folded: kafkajs only
   * heartbeats when asked, and a catch-up batch of 4 MiB can take seconds beside another.
   *
   * The batch's writer schemas are fetched first, outside the partition's queue (timer sweeps go
   * on meanwhile). While the registry does not answer — down, 5xx, timing out — the batch waits
   * and retries with a backoff (500 ms doubling to 5 s), heartbeating: nothing is applied,
   * committed or dead-lettered, and kafkajs fetches nothing later of this partition, so order
   * holds. Only a registry's definite "no such schema" makes records UNKNOWN_SCHEMA dead letters.
   */
  async processBatch(messages: readonly KafkaMessage[], highWatermark: string, control?: BatchControl): Promise<BatchOutcome> {
    const { deps } = this;
    const heartbeat = control?.heartbeat ?? (async () => undefined);
    const values = messages.map((message) => message.value);
    for (;;) {
      const prepared = await prepareWhileRegistryAway(() => deps.events.prepare(values), {
        heartbeat,
        active: control?.active ?? (() => true),
        onUnavailable: (error, retryInMs) => {
          deps.metrics.registryUnavailable.inc();
          deps.logger.warn(
            { err: error, partition: this.partition, schemaId: error.schemaId, firstOffset: messages[0]?.offset, retryInMs },
            "the schema registry does not answer; the batch waits (nothing applied, committed or dead-lettered)",
          );
        },
        onRecovered: (failures, waitedMs) => deps.logger.info({ partition: this.partition, failures, waitedMs }, "the schema registry answers again; the batch goes on"),
      });
      if (!prepared) return { kind: "stopped" };
      try {
        return await this.serial(async () => {
          let outcome: BatchOutcome = { kind: "applied", lastOffset: null };
          // Folded and committed in slices of a bounded number of customers (results do not depend on
          // where a partition's records are split; property-tested in the core).
          for (const slice of slicesByCustomers(messages, this.deps.maxCustomersPerWrite)) {
            outcome = await this.applySlice(slice, highWatermark, heartbeat);
            if (outcome.kind === "seek") return outcome;
          }
          return outcome;
        });
      } catch (error) {
        // An id the registry said it did not know is asked again in the batch; if the registry is
        // away by then, wait as above and run the batch again (slices already applied are skipped
        // by their offsets).
        if (!(error instanceof RegistryUnavailableError)) throw error;
      }
    }
  }

  private async applySlice(messages: readonly KafkaMessage[], highWatermark: string, heartbeat?: () => Promise<void>): Promise<BatchOutcome> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.tryBatch(messages, highWatermark, heartbeat);
      if (outcome !== "fenced") return outcome;
      this.deps.metrics.fencedWrites.inc();
      this.invalidate();
      if (attempt >= 5) throw new Error(`partition ${this.partition}: write fenced off ${attempt + 1} times; giving the batch back`);
    }
  }

  private async tryBatch(messages: readonly KafkaMessage[], highWatermark: string, heartbeat?: () => Promise<void>): Promise<BatchOutcome | "fenced"> {
    const { deps } = this;
    const started = performance.now();
    const meta = await this.currentMeta();
    this.cache.sync(meta.seq);
    if (messages.length === 0) return { kind: "applied", lastOffset: null };
    const unapplied = await this.unappliedRecords(meta, messages);
    if (unapplied.kind === "seek") return unapplied;
    const fresh = unapplied.messages;
    if (fresh.length === 0) {
      // The consumer moves past these records on the word of the loaded meta: replicas must have it,
      // or a failover could take back their application after nothing would bring them again.
      if (!(await this.confirmed(meta))) return "fenced";
      return { kind: "applied", lastOffset: messages[messages.length - 1]!.offset };
    }

    // processBatch prepared the schemas: this asks the registry only for ids it said it did not know,
    // and throws RegistryUnavailableError (never a dead letter) if the registry does not answer now.
    await deps.events.prepare(fresh.map((message) => message.value));
    const now = new Date();
    const valueModels = new Map<string, ValueModel | null>();
    for (const version of activatedVersions(fresh)) valueModels.set(version, await deps.valueModel(version));
    const audienceDefinitions = new Map<string, AudienceDefinitions | null>();
    for (const version of activatedAudienceVersions(fresh)) audienceDefinitions.set(version, await deps.audienceDefinitions(version));
    const context = { ...deps, partition: this.partition, topic: deps.topics.events, valueModels, audienceDefinitions };
    const letters = new DeadLetters(context, now);
    const reading = readBatchRecords(fresh, context, letters, now.getTime());

    const clock = { watermark: meta.watermark, latenessMs: deps.clockMode === "event" ? deps.latenessMs : Number.POSITIVE_INFINITY };
    const states = await this.loadForFold(reading, clock);
    const result = foldPartitionBatch(states, reading.records, clock, deps.lifecycle, this.value, this.audiences);
    // A rebalance it reports is acted on by the heartbeat after the batch; the commit is fenced anyway.
    if (heartbeat) await heartbeat().catch(() => undefined);

    for (const { offset, effect } of result.effects) {
      if (effect.kind === "event_rejected") letters.add(fresh.find((candidate) => candidate.offset === offset)!, "EVENT_REJECTED", effect.reason);
    }
    // Dead letters are durable before the offset that skips them is.
    if (letters.messages.length > 0) await (await deps.producer()).send({ topic: deps.topics.deadLetter, messages: letters.messages, acks: -1 });

    const lastOffset = fresh[fresh.length - 1]!.offset;
    // A newly active model is written with the batch, and its refit sweep starts (docs/value.md).
    const activated = result.value !== this.value && result.value !== null ? result.value : null;
    const metaFields: Record<string, string> = {};
    if (activated !== null) Object.assign(metaFields, { valueModel: activated.model.version, valueModelAt: String(activated.activatedAt), refitCursor: "0" });
    // New audience definitions likewise start the audience sweep (docs/audiences.md).
    const audiencesActivated = result.audiences !== this.audiences && result.audiences !== null ? result.audiences : null;
    if (audiencesActivated !== null) {
      Object.assign(metaFields, {
        audiences: audiencesActivated.definitions.version,
        audiencesAt: String(audiencesActivated.activatedAt),
        audiencesBefore: JSON.stringify(previousSets(audiencesActivated)),
        audienceCursor: "0",
      });
    }
    const sweptThrough = result.sweptThrough !== null && result.sweptThrough > (meta.sweptThrough ?? Number.NEGATIVE_INFINITY) ? result.sweptThrough : null;
    if (sweptThrough !== null) metaFields.sweptThrough = String(sweptThrough);
    const seq = await this.commitChanges(meta, result.changed, result.effects.map((entry) => entry.effect), {
      offset: (BigInt(lastOffset) + 1n).toString(),
      watermark: result.watermark,
    }, result.deadlines, metaFields);
    if (seq === null) return "fenced";
    if (sweptThrough !== null) meta.sweptThrough = sweptThrough;
    if (activated !== null) {
      this.value = activated;
      meta.valueModel = { version: activated.model.version, activatedAt: activated.activatedAt };
      meta.refitCursor = "0";
      deps.metrics.valueModelActivations.inc();
      deps.logger.info({ partition: this.partition, version: activated.model.version, activatedAt: new Date(activated.activatedAt).toISOString() }, "value model activated; refit sweep started");
    }
    if (audiencesActivated !== null) {
      this.audiences = audiencesActivated;
      meta.audiences = { version: audiencesActivated.definitions.version, activatedAt: audiencesActivated.activatedAt, previous: previousSets(audiencesActivated) };
      meta.audienceCursor = "0";
      deps.logger.info({ partition: this.partition, version: audiencesActivated.definitions.version }, "audience definitions activated; audience sweep started");
    }

    this.countBatch(result.effects, reading.events, letters.messages.length, fresh.length, started);
    deps.metrics.lag.set({ partition: String(this.partition) }, Number(BigInt(highWatermark) - BigInt(lastOffset) - 1n));
    if (changesWritten(result.effects)) this.requestDrain();
    return { kind: "applied", lastOffset };
  }

  /**
   * The batch's records at or after Redis's applied offset (the truth; with none, the partition
   * starts at its first record), the others counted as redelivered; or where to seek when the
   * batch starts after it.
   */
  private async unappliedRecords(meta: PartitionMeta, messages: readonly KafkaMessage[]): Promise<{ kind: "seek"; offset: string } | { kind: "records"; messages: readonly KafkaMessage[] }> {
    const expected = meta.offset ?? (await this.deps.earliestOffset(this.partition));
    const first = messages[0]!;
    if (compareOffsets(first.offset, expected) > 0) return { kind: "seek", offset: expected };
    const fresh = compareOffsets(first.offset, expected) === 0 ? messages : messages.filter((message) => compareOffsets(message.offset, expected) >= 0);
    this.deps.metrics.events.inc({ outcome: "redelivered" }, messages.length - fresh.length);
    return { kind: "records", messages: fresh };
  }

  /** The states a fold of `reading` needs: its customers, and in event-time mode every customer a sweep of it can reach. */
  private async loadForFold(reading: BatchReading, clock: PartitionClock): Promise<Map<string, CustomerState>> {
    const wanted = reading.customers;
    const horizon = sweepHorizon(reading.records, clock);
    if (horizon !== null) for (const customerId of await this.deps.store.dueCustomers(this.partition, horizon)) wanted.add(customerId);
    return this.loadStates(wanted);
  }

  private countBatch(effects: BatchResult["effects"], events: number, deadLetters: number, records: number, started: number): void {
    const { metrics } = this.deps;
    let duplicates = 0;
    let rejected = 0;
    for (const { offset, effect } of effects) {
      if (offset === null) continue;
      if (effect.kind === "duplicate_ignored") duplicates++;
      else if (effect.kind === "event_rejected") rejected++;
    }
    metrics.events.inc({ outcome: "duplicate" }, duplicates);
    metrics.events.inc({ outcome: "applied" }, events - duplicates - rejected);
    metrics.events.inc({ outcome: "dead_letter" }, deadLetters);
    metrics.batchEvents.observe(records);
    metrics.batchSeconds.observe((performance.now() - started) / 1000);
  }

  /** Fires this partition's due timers at wall-clock `now` (wall clock mode). */
  sweep(now: EpochMs, limit = 2000): Promise<number> {
    return this.serial(async () => {
      const { deps } = this;
      deps.metrics.timersDue.set({ partition: String(this.partition) }, await deps.store.countDue(this.partition, now));
      for (let attempt = 0; attempt < 5; attempt++) {
        const meta = await this.currentMeta();
        this.cache.sync(meta.seq);
        const due = await deps.store.dueCustomers(this.partition, now, limit);
        if (due.length === 0) return 0;
        const states = await this.loadStates(due);
        const changed = new Map<string, CustomerState>();
        const effects: Effect[] = [];
        for (const [customerId, state] of states) {
          const step = advanceTo(state, now, deps.lifecycle, this.value, this.audiences);
          changed.set(customerId, step.state);
          effects.push(...step.effects);
        }
        const seq = await this.commitChanges(meta, changed, effects, { offset: null, watermark: null });
        if (seq === null) {
          deps.metrics.fencedWrites.inc();
          this.invalidate();
          continue;
        }
        if (effects.length > 0) this.requestDrain();
        return effects.length;
      }
      return 0;
    });
  }

  /**
   * One step of the refit sweep to the active value model: the next SCAN page of the partition's
   * customers, each re-decided under the model (refitCustomer: the same change its next event or
   * timer would make) and written with the cursor, so a restart goes on where it stopped. Returns
   * false once the sweep is done (or none is due).
   */
  refitStep(): Promise<boolean> {
    return this.serial(async () => {
      const { deps } = this;
      for (let attempt = 0; attempt < 5; attempt++) {
        const meta = await this.currentMeta();
        const value = this.value;
        // The value refit first, then the audience sweep: each customer gets what its next event would.
        const field = meta.refitCursor !== null && value !== null ? "refitCursor" : meta.audienceCursor !== null && this.audiences !== null ? "audienceCursor" : null;
        if (field === null) return false;
        const cursor = meta[field]!;
        this.cache.sync(meta.seq);
        const page = await deps.store.scanCustomers(this.partition, cursor, deps.refitScanCount);
        if (page.restarted) deps.logger.info({ partition: this.partition, sweep: field }, "sweep begins again: its SCAN cursor was another Redis process's (a failover or restart)");
        const states = await this.loadStates(page.customerIds);
        const changed = new Map<string, CustomerState>();
        const effects: Effect[] = [];
        for (const [customerId, state] of states) {
          // The customer catches up with the partition's sweeps (event clock) or the wall clock: new
          // definitions apply at their activation instant, in time order with its deadlines.
          const through = deps.clockMode === "event" ? meta.sweptThrough : field === "audienceCursor" ? Date.now() : null;
          const step = refitCustomer(state, value, deps.lifecycle, through, this.audiences);
          // A customer still before the activation instant is written for its timer: due at that instant.
          if (step.state === state && !(field === "audienceCursor" && needsAudienceRefit(state, this.audiences))) continue;
          changed.set(customerId, step.state);
          effects.push(...step.effects);
        }
        const done = page.cursor === "0";
        const seq = await this.commitChanges(meta, changed, effects, { offset: null, watermark: null }, undefined, { [field]: done ? "" : page.cursor });
        if (seq === null) {
          deps.metrics.fencedWrites.inc();
          this.invalidate();
          continue;
        }
        meta[field] = done ? null : page.cursor;
        deps.metrics.refittedCustomers.inc(changed.size);
        if (done) deps.logger.info({ partition: this.partition, sweep: field }, "sweep done");
        if (effects.length > 0) this.requestDrain();
        return !done || (field === "refitCursor" && meta.audienceCursor !== null);
      }
      return false;
    });
  }

  private async commitChanges(
    meta: PartitionMeta,
    changed: ReadonlyMap<string, CustomerState>,
    effects: readonly Effect[],
    position: { offset: string | null; watermark: EpochMs | null },
    deadlines?: ReadonlyMap<string, EpochMs | null>,
    metaFields?: Readonly<Record<string, string>>,
  ): Promise<number | null> {
    const { deps } = this;
    const customers: (CustomerWrite & { packed: Uint8Array })[] = [];
    for (const [customerId, state] of changed) {
      const known = deadlines?.get(customerId);
      const deadline = known === undefined ? nextDeadline(state, deps.lifecycle, this.value, this.audiences) : known;
      customers.push({ customerId, state, packed: encodeState(state), deadline, deadlineIndexed: this.cache.get(customerId)?.indexedDeadline === deadline });
    }
    const transitions: StageTransition[] = [];
    const tierChanges: ValueTierChange[] = [];
    const riskChanges: RiskChange[] = [];
    const audienceChanges: AudienceChange[] = [];
    const outbox: Buffer[] = [];
    const boundaries = deps.rfmBoundaries();
    // In effect order, so each customer's stage and tier changes leave in the order they happened.
    for (const effect of effects) {
      if (effect.kind === "stage_changed") {
        const transition = effect.transition;
        transitions.push(transition);
        if (!deps.publish) continue;
        const rfm = boundaries === null ? null : rfmScores(transition.snapshot, transition.occurredAt, boundaries);
        outbox.push(packOutboxEntry(transition.customerId, deps.stageChanges.encode(stageChangeToRecord(transition, rfm))));
      } else if (effect.kind === "value_tier_changed") {
        tierChanges.push(effect.change);
        if (deps.publish) outbox.push(packOutboxEntry(effect.change.customerId, deps.valueTierChanges.encode(valueTierChangeToRecord(effect.change)), "value_tier_changes"));
      } else if (effect.kind === "risk_changed") {
        riskChanges.push(effect.change);
        if (deps.publish) outbox.push(packOutboxEntry(effect.change.customerId, deps.riskChanges.encode(riskChangeToRecord(effect.change)), "risk_changes"));
      } else if (effect.kind === "audience_changed") {
        audienceChanges.push(effect.change);
        if (deps.publish) outbox.push(packOutboxEntry(effect.change.customerId, deps.audienceChanges.encode(audienceChangeToRecord(effect.change)), "audience_changes"));
      }
    }
    const history = transitions.map((transition) => {
      const entry = encodeHistoryEntry(transition);
      return { customerId: transition.customerId, entry: Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength) };
    });
    const expectedSeq = meta.seq;
    const seq = await deps.store.commit(this.partition, {
      expectedSeq,
      offset: position.offset,
      watermark: position.watermark,
      customers,
      outbox,
      history,
      metaFields,
      members: memberSetChanges(audienceChanges),
    });
    if (seq === null) return null;
    // Nothing of the write is taken as done before replicas have it (REDIS_WAIT_REPLICAS): gone
    // already (a failover took it back) reads as fenced; replicas behind drops the cached meta, so
    // the retry reloads it from Redis and confirms it before moving on.
    try {
      if (!(await deps.store.confirm(this.partition, seq))) return null;
    } catch (error) {
      this.invalidate();
      throw error;
    }
    meta.seq = seq;
    this.confirmedSeq = seq;
    this.outboxAge.appended(outbox.length, Date.now());
    this.cache.committed(expectedSeq, seq, customers);
    deps.metrics.customersWritten.inc(customers.length);
    if (position.offset !== null) meta.offset = position.offset;
    if (position.watermark !== null) meta.watermark = position.watermark;
    for (const transition of transitions) {
      deps.metrics.transitions.inc({ from: transition.from ?? "none", to: transition.to, trigger: transition.trigger });
      if (transition.trigger === "timer") deps.metrics.timersFired.inc();
    }
    for (const change of tierChanges) deps.metrics.tierChanges.inc({ from: change.from ?? "none", to: change.to, trigger: change.trigger });
    for (const change of riskChanges) deps.metrics.riskChanges.inc({ from: change.from, to: change.to, trigger: change.trigger });
    return seq;
  }

  /**
   * Publishes what the outbox holds in the background, one drain at a time per
   * partition, so batches never wait for Kafka acks of stage changes. Safe beside
   * commits (they append at the tail; acks compare-and-trim at the head).
   */
  requestDrain(): void {
    if (!this.deps.publish) return;
    this.drainAgain = true;
    this.draining ??= (async () => {
      try {
        while (this.drainAgain) {
          this.drainAgain = false;
          await this.drainOutboxLocked();
        }
      } catch (error) {
        this.deps.logger.warn({ err: error, partition: this.partition }, "publishing stage changes failed; the outbox keeps them for the next try");
      } finally {
        this.draining = null;
      }
    })();
  }

  /** Resolves once everything the outbox held when called is published (or the drain failed). */
  async flushOutbox(): Promise<void> {
    // Read by a drain that is already running too: it must not stop at the ownership check.
    this.flushing = true;
    this.requestDrain();
    while (this.draining) await this.draining;
  }

  /**
   * Publishes outbox chunks while the partition is owned (or, once flushing, until the outbox
   * is empty: a graceful stop). A former owner that kept draining after a rebalance would
   * publish the same backlog as the new owner: duplicates, which consumers must then drop.
   */
  private async drainOutboxLocked(): Promise<void> {
    const { deps } = this;
    if (!deps.publish) return;
    for (;;) {
      if (!this.flushing && !deps.owned()) break;
      const entries = await deps.store.readOutbox(this.partition, OUTBOX_CHUNK);
      if (entries.length === 0) break;
      const byTopic: Record<OutboxTopic, Message[]> = { stage_changes: [], value_tier_changes: [], risk_changes: [], audience_changes: [] };
      for (const entry of entries) {
        const { topic, key, value } = unpackOutboxEntry(entry);
        byTopic[topic].push({ key, value });
      }
      const topicMessages = [
        { topic: deps.topics.stageChanges, messages: byTopic.stage_changes },
        { topic: deps.topics.valueTierChanges, messages: byTopic.value_tier_changes },
        { topic: deps.topics.riskChanges, messages: byTopic.risk_changes },
        { topic: deps.topics.audienceChanges, messages: byTopic.audience_changes },
      ].filter((entry) => entry.messages.length > 0);
      await (await deps.producer()).sendBatch({ topicMessages, acks: -1 });
      await deps.store.ackOutbox(this.partition, entries);
      this.outboxAge.published(entries.length);
      deps.metrics.published.inc(entries.length);
      if (entries.length < OUTBOX_CHUNK) break;
    }
    const pending = await deps.store.outboxLength(this.partition);
    deps.metrics.outboxPending.set({ partition: String(this.partition) }, pending);
    this.outboxAge.observed(pending, Date.now());
  }

  /** Seconds since the oldest stage change still in the outbox was written (0 when it is empty). */
  outboxOldestAgeSeconds(now: number): number {
    return this.outboxAge.oldestAgeMs(now) / 1000;
  }
}

/**
 * The member-set writes of a commit's audience changes: per audience, the customers whose last
 * change in the commit is an entry (added) or an exit (removed), so the sets end as the states do.
 */
export function memberSetChanges(changes: readonly AudienceChange[]): Map<string, { added: string[]; removed: string[] }> {
  const last = new Map<string, Map<string, "entered" | "left">>();
  for (const change of changes) {
    let byCustomer = last.get(change.audienceId);
    if (byCustomer === undefined) last.set(change.audienceId, (byCustomer = new Map()));
    byCustomer.set(change.customerId, change.change);
  }
  const members = new Map<string, { added: string[]; removed: string[] }>();
  for (const [audienceId, byCustomer] of last) {
    const entry = { added: [] as string[], removed: [] as string[] };
    for (const [customerId, change] of byCustomer) (change === "entered" ? entry.added : entry.removed).push(customerId);
    members.set(audienceId, entry);
  }
  return members;
}

/** The sets active before `active`, newest first, as the partition's meta keeps them (at most 64). */
function previousSets(active: ActiveAudiences): { version: string; activatedAt: EpochMs }[] {
  const previous: { version: string; activatedAt: EpochMs }[] = [];
  for (let set = active.previous; set && previous.length < 64; set = set.previous) previous.push({ version: set.definitions.version, activatedAt: set.activatedAt });
  return previous;
}
