import type { ActiveAudiences, ActiveValueModel, AudienceDefinitions, CustomerState, ValueModel } from "@clm/core";
import { describe, expect, it } from "vitest";
import { grownMeta, grownMetaFields, growthProblems, pendingActivation, type SourcePartition } from "./growth-plan.ts";
import type { PartitionMeta } from "./state-reader.ts";
import { ProblemLog } from "./problem-log.ts";

const drained: PartitionMeta = {
  offset: "100",
  seq: 4,
  watermark: 1_000,
  sweptThrough: 999,
  valueModel: { version: "m-1997-09-30-0badc0de", activatedAt: 500 },
  refitCursor: null,
  audiences: { version: "d-2", activatedAt: 600, previous: [{ version: "d-1", activatedAt: 100 }] },
  audienceCursor: null,
};
const source = (partition: number, meta: Partial<PartitionMeta> = {}, outboxLength = 0): SourcePartition => ({ partition, meta: { ...drained, ...meta }, outboxLength });

describe("growthProblems", () => {
  it("finds none in drained partitions that run the same model and definitions", () => {
    expect(growthProblems([source(0), source(1, { watermark: 2_000, valueModel: { version: "m-1997-09-30-0badc0de", activatedAt: 800 } })])).toEqual([]);
  });

  it("names unpublished changes and unfinished sweeps per partition", () => {
    const problems = growthProblems([source(0, {}, 3), source(1, { refitCursor: "0" }), source(2, { audienceCursor: "1234" })]);
    expect(problems).toEqual([
      "partition 0: 3 changes in the outbox are not published yet (run the processors until it is empty: clm wait)",
      "partition 1: the refit sweep to value model m-1997-09-30-0badc0de is under way (run the processors until it ends: clm wait)",
      "partition 2: the sweep to audience definitions d-2 is under way (run the processors until it ends: clm wait)",
    ]);
  });

  it("refuses partitions that run different models or definitions (an activation that reached only some)", () => {
    const problems = growthProblems([source(0), source(1, { valueModel: null }), source(2, { audiences: { version: "d-1", activatedAt: 100, previous: [] } })]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("different value models (0: m-1997-09-30-0badc0de, 1: none, 2: m-1997-09-30-0badc0de)");
    expect(problems[1]).toContain("different audience definitions (0: d-2, 1: d-2, 2: d-1)");
  });
});

describe("grownMeta", () => {
  it("takes the earliest watermark, sweep and activation instants the partitions have, and drops the sets before the active one", () => {
    const meta = grownMeta([
      source(0, { watermark: 3_000, sweptThrough: 2_999 }),
      source(1, { watermark: 1_500, sweptThrough: 1_499, valueModel: { version: "m-1997-09-30-0badc0de", activatedAt: 450 } }),
      // A partition that never received an event: no clock, and no customer to hold back.
      source(2, { offset: "1", watermark: null, sweptThrough: null, audiences: { version: "d-2", activatedAt: 550, previous: [] } }),
    ]);
    expect(meta).toEqual({ watermark: 1_500, sweptThrough: 1_499, valueModel: { version: "m-1997-09-30-0badc0de", activatedAt: 450 }, audiences: { version: "d-2", activatedAt: 550 } });
  });

  it("keeps nulls where no partition has a value (the wall clock, no model yet)", () => {
    expect(grownMeta([source(0, { watermark: null, sweptThrough: null, valueModel: null, audiences: null })])).toEqual({ watermark: null, sweptThrough: null, valueModel: null, audiences: null });
  });
});

describe("grownMetaFields", () => {
  it("writes a new partition's start: its offset, write fence 0, the clock and the activations as the processor reads them", () => {
    expect(grownMetaFields(grownMeta([source(0)]), "17")).toEqual({
      offset: "17",
      seq: "0",
      watermark: "1000",
      sweptThrough: "999",
      valueModel: "m-1997-09-30-0badc0de",
      valueModelAt: "500",
      audiences: "d-2",
      audiencesAt: "600",
      audiencesBefore: "[]",
    });
    expect(grownMetaFields({ watermark: null, sweptThrough: null, valueModel: null, audiences: null }, "0")).toEqual({ offset: "0", seq: "0" });
  });
});

describe("pendingActivation", () => {
  const model = { version: "m-1997-09-30-0badc0de" } as ValueModel;
  const value: ActiveValueModel = { model, activatedAt: 500 };
  const audiences: ActiveAudiences = { definitions: { version: "d-2", audiences: [], rfm: null } as AudienceDefinitions, activatedAt: 600, previous: null };
  const state = (fields: Partial<CustomerState>) => ({ firstPurchaseAt: 10, valueModelVersion: model.version, audiencesVersion: "d-2", ...fields }) as CustomerState;

  it("holds a customer still to be moved to its partition's model or definitions", () => {
    expect(pendingActivation(state({}), value, audiences)).toBeNull();
    expect(pendingActivation(state({ valueModelVersion: null }), value, audiences)).toBe("value model");
    expect(pendingActivation(state({ audiencesVersion: "d-1" }), value, audiences)).toBe("audience definitions");
    expect(pendingActivation(state({ audiencesVersion: null }), value, audiences)).toBe("audience definitions");
  });

  it("lets through a customer without purchases (no tier to refit) and any customer when nothing is active", () => {
    expect(pendingActivation(state({ firstPurchaseAt: null, valueModelVersion: null }), value, audiences)).toBeNull();
    expect(pendingActivation(state({ valueModelVersion: null, audiencesVersion: null }), null, null)).toBeNull();
  });
});

describe("ProblemLog", () => {
  it("counts each kind once with its first examples", () => {
    const log = new ProblemLog(2);
    for (const id of ["a", "b", "c"]) log.add("customer missing", id);
    log.add("unknown key", "clm:{p1}:x");
    expect(log.size).toBe(2);
    expect(log.lines()).toEqual(['3 × customer missing (e.g. "a", "b")', '1 × unknown key (e.g. "clm:{p1}:x")']);
  });
});
