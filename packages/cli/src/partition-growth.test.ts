import { loadConfig } from "@clm/config";
import {
  DAY_MS,
  DEFAULT_LIFECYCLE_CONFIG,
  foldPartitionBatch,
  refitCustomer,
  type ActiveAudiences,
  type ActiveValueModel,
  type AudienceDefinitions,
  type CustomerEvent,
  type CustomerState,
  type PartitionRecord,
  type ValueModel,
} from "@clm/core";
import { CDNOW_SAMPLE_PATH, readCdnowCustomerEvents } from "@clm/datasets";
import { JavaCompatiblePartitioner } from "@clm/kafka";
import { grownMeta, pendingActivation, type SourcePartition } from "@clm/state-store/admin";
import { beforeAll, describe, expect, it } from "vitest";
import { customerPartition, requestProblems } from "./partition-growth.ts";

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
const DEFINITIONS: AudienceDefinitions = {
  version: "d-1",
  audiences: [
    { id: "repeat-lapsed", version: 1, name: "Repeat buyers gone quiet", filter: { purchaseCount: { min: 2 }, daysSinceLastPurchase: { min: 120 } } },
    { id: "big-spenders", version: 1, name: "Big spenders", filter: { monetary: { min: 150 } } },
  ],
  rfm: null,
};

describe("the partition a customer moves to", () => {
  it("is where the producers' partitioner sends its key among the new count", () => {
    const partitioner = JavaCompatiblePartitioner();
    for (const partitions of [3, 8, 12, 64]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      for (const customerId of ["1", "42", "23570", "c-ü-7", "a:b{p3}"]) {
        expect(customerPartition(customerId, partitions)).toBe(partitioner({ topic: "t", partitionMetadata, message: { key: customerId, value: null } }));
      }
    }
  });

  it("keeps each customer's key where it was only by chance: most customers change partition (so growing in place would scatter state)", () => {
    const ids = Array.from({ length: 10_000 }, (_, index) => String(index));
    const stay = ids.filter((id) => customerPartition(id, 3) === customerPartition(id, 8)).length;
    // Uniform hashing: a customer stays with probability 1/8 on average over the old partitions 0..2.
    expect(stay / ids.length).toBeGreaterThan(0.08);
    expect(stay / ids.length).toBeLessThan(0.17);
  });
});

describe("requestProblems", () => {
  const current = loadConfig({ TOPIC_EVENTS: "clm.events.v1", TOPIC_PARTITIONS: "6", REDIS_KEY_PREFIX: "clm" });
  it("accepts more partitions on a new topic under a new prefix", () => {
    expect(requestProblems(current, { ...current, TOPIC_EVENTS: "clm.events.v2", TOPIC_PARTITIONS: 12, REDIS_KEY_PREFIX: "clm-12" })).toEqual([]);
  });
  it("refuses the same or fewer partitions, the same topic and the same prefix, naming each", () => {
    const problems = requestProblems(current, { ...current, TOPIC_PARTITIONS: 6 });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain("--to 6 is not more than the 6 partitions");
    expect(problems[1]).toContain("--topic must name a new input topic, not clm.events.v1");
    expect(problems[2]).toContain("--prefix must be a new Redis key prefix, not clm");
  });
});

/**
 * The growth is invisible to the customers: the CDNOW sample with a value model and audience
 * definitions activated a quarter in and a clock advance at the end, folded as the processor folds
 * it (the pure core per partition), ends the same — every customer's state, every change — whether
 * the pipeline stays on 3 partitions or grows to 8 halfway (the copied states, the grown meta).
 */
describe("a growth halfway through a log in event-time order", () => {
  let events: CustomerEvent[];
  beforeAll(async () => {
    events = await readCdnowCustomerEvents(CDNOW_SAMPLE_PATH);
  });

  interface Run {
    states: Map<string, CustomerState>;
    changes: Set<string>;
  }

  /** The log's records of one partition among `partitions`: its customers' events in [from, to), the control records every partition gets. */
  function partitionLog(partition: number, partitions: number, from: number, to: number, withActivations: boolean, withAdvance: boolean): PartitionRecord[] {
    const records: PartitionRecord[] = [];
    const quarter = Math.floor(events.length / 4);
    events.forEach((event, index) => {
      if (withActivations && index === quarter) {
        records.push({ offset: `a${index}`, activateValueModel: MODEL, activatedAt: null }, { offset: `d${index}`, activateAudiences: DEFINITIONS, activatedAt: null });
      }
      if (index >= from && index < to && customerPartition(event.customerId, partitions) === partition) records.push({ offset: String(index), event, receivedAt: Date.UTC(2026, 0, 1) + index });
    });
    if (withAdvance) records.push({ offset: "advance", clockAdvanceTo: Date.UTC(1999, 0, 1) });
    return records;
  }

  /** One partition folded as the processor does: the records, then the refit and audience sweeps' catch-up. */
  function fold(states: ReadonlyMap<string, CustomerState>, records: readonly PartitionRecord[], watermark: number | null, latenessMs: number, value: ActiveValueModel | null, audiences: ActiveAudiences | null) {
    const result = foldPartitionBatch(states, records, { watermark, latenessMs }, lifecycle, value, audiences);
    const ended = new Map(states);
    const effects = result.effects.map((entry) => entry.effect);
    for (const [customerId, state] of result.changed) {
      const refit = refitCustomer(state, result.value, lifecycle, result.sweptThrough, result.audiences);
      ended.set(customerId, refit.state);
      effects.push(...refit.effects);
    }
    const changes = effects.flatMap((effect) => {
      if (effect.kind === "stage_changed") return [`${effect.transition.transitionId} ${effect.transition.to} ${effect.transition.occurredAt}`];
      if (effect.kind === "value_tier_changed" || effect.kind === "risk_changed") return [`${effect.change.changeId} ${effect.change.to} ${effect.change.occurredAt}`];
      if (effect.kind === "audience_changed") return [`${effect.change.changeId} ${effect.change.audienceId} ${effect.change.change} ${effect.change.occurredAt}`];
      return [];
    });
    return { result, states: ended, changes };
  }

  function staying(latenessMs: number): Run {
    const run: Run = { states: new Map(), changes: new Set() };
    for (let partition = 0; partition < 3; partition++) {
      const folded = fold(new Map(), partitionLog(partition, 3, 0, events.length, true, true), null, latenessMs, null, null);
      for (const [customerId, state] of folded.states) run.states.set(customerId, state);
      for (const change of folded.changes) run.changes.add(change);
    }
    return run;
  }

  function growing(latenessMs: number): Run & { pending: number } {
    const half = Math.floor(events.length / 2);
    const run = { states: new Map<string, CustomerState>(), changes: new Set<string>(), pending: 0 };
    const sources: SourcePartition[] = [];
    for (let partition = 0; partition < 3; partition++) {
      const { result, states, changes } = fold(new Map(), partitionLog(partition, 3, 0, half, true, false), null, latenessMs, null, null);
      for (const [customerId, state] of states) {
        run.states.set(customerId, state);
        if (pendingActivation(state, result.value, result.audiences) !== null) run.pending++;
      }
      for (const change of changes) run.changes.add(change);
      const active = (version: string | undefined, at: number | undefined) => (version === undefined ? null : { version, activatedAt: at! });
      sources.push({
        partition,
        outboxLength: 0,
        meta: {
          offset: "1",
          seq: 1,
          watermark: result.watermark,
          sweptThrough: result.sweptThrough,
          valueModel: active(result.value?.model.version, result.value?.activatedAt),
          audiences: result.audiences === null ? null : { ...active(result.audiences.definitions.version, result.audiences.activatedAt)!, previous: [] },
          refitCursor: null,
          audienceCursor: null,
        },
      });
    }
    const meta = grownMeta(sources);
    const value = { model: MODEL, activatedAt: meta.valueModel!.activatedAt };
    const audiences = { definitions: DEFINITIONS, activatedAt: meta.audiences!.activatedAt };
    const copied = new Map(run.states);
    for (let partition = 0; partition < 8; partition++) {
      const mine = new Map([...copied].filter(([customerId]) => customerPartition(customerId, 8) === partition));
      const folded = fold(mine, partitionLog(partition, 8, half, events.length, false, true), meta.watermark, latenessMs, value, audiences);
      for (const [customerId, state] of folded.states) run.states.set(customerId, state);
      for (const change of folded.changes) run.changes.add(change);
    }
    return run;
  }

  it.each([0, 3 * DAY_MS])("ends every customer and every change as staying on 3 partitions would (lateness %i ms)", (latenessMs) => {
    const stay = staying(latenessMs);
    const grow = growing(latenessMs);
    expect(grow.pending).toBe(0);
    expect(grow.states.size).toBe(2357);
    const differing = [...stay.states].filter(([customerId, state]) => JSON.stringify(grow.states.get(customerId)) !== JSON.stringify(state)).map(([customerId]) => customerId);
    expect(differing).toEqual([]);
    expect([...grow.changes].sort()).toEqual([...stay.changes].sort());
    expect(stay.changes.size).toBeGreaterThan(15_000);
  }, 60_000);
});
