import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CustomerEvent } from "./contract.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "./lifecycle-config.ts";
import { foldPartitionBatch, sweepHorizon, type BatchRecord, type PartitionRecord } from "./partition-fold.ts";
import { replayPopulation } from "./population.ts";
import { nextDeadline, type StageTransition } from "./machine.ts";
import type { CustomerState } from "./state.ts";
import { T0 } from "./testing/builders.ts";
import { DAY_MS } from "./time.ts";

const recordsArbitrary = fc
  .array(
    fc.record({
      customer: fc.integer({ min: 0, max: 6 }),
      day: fc.integer({ min: 0, max: 600 }),
      jitter: fc.integer({ min: -20, max: 20 }),
      kind: fc.constantFrom("purchase", "purchase", "login"),
    }),
    { minLength: 1, maxLength: 80 },
  )
  .map((specs) =>
    // Mostly time-ordered, with some disorder across and within customers.
    specs
      .sort((left, right) => left.day - right.day)
      .map(({ customer, day, jitter, kind }, index): BatchRecord => {
        const base = { eventId: `e${index}`, customerId: `c${customer}`, occurredAt: T0 + Math.max(0, day + jitter) * DAY_MS };
        const event: CustomerEvent =
          kind === "purchase"
            ? { ...base, type: "purchase", properties: { orderId: `o${index}`, amountE4: 100_000, currency: "USD", quantity: null } }
            : { ...base, type: "login", properties: { channel: null } };
        return { offset: String(index), event, receivedAt: 0 };
      }),
  );

/** Records with clock advances in between (and often one after the last event, as a replay ends). */
const withAdvancesArbitrary = fc
  .tuple(recordsArbitrary, fc.array(fc.record({ position: fc.nat(), day: fc.integer({ min: 0, max: 900 }) }), { minLength: 1, maxLength: 6 }))
  .map(([records, advances]) => {
    const mixed: PartitionRecord[] = [...records];
    for (const { position, day } of advances) mixed.splice(position % (mixed.length + 1), 0, { offset: "", clockAdvanceTo: T0 + day * DAY_MS });
    return mixed.map((record, index) => ({ ...record, offset: String(index) }));
  });

const perCustomer = (effects: ReturnType<typeof foldPartitionBatch>["effects"]) => {
  const byCustomer = new Map<string, string[]>();
  for (const { effect } of effects) {
    if (effect.kind !== "stage_changed") continue;
    const list = byCustomer.get(effect.transition.customerId) ?? [];
    list.push(JSON.stringify(effect.transition));
    byCustomer.set(effect.transition.customerId, list);
  }
  return byCustomer;
};

describe("partition fold (event-time semantics)", () => {
  it("gives the same states and transitions however the records are split into batches", () => {
    fc.assert(
      fc.property(recordsArbitrary, fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }), fc.constantFrom(0, DAY_MS, 7 * DAY_MS), (records, sizes, latenessMs) => {
        const whole = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs }, config);

        let states = new Map<string, CustomerState>();
        let watermark: number | null = null;
        const effects: typeof whole.effects = [];
        for (let start = 0, chunk = 0; start < records.length; chunk++) {
          const batch = records.slice(start, start + sizes[chunk % sizes.length]!);
          start += batch.length;
          expect(sweepHorizon(batch, { watermark, latenessMs })).not.toBeNull();
          const result = foldPartitionBatch(states, batch, { watermark, latenessMs }, config);
          states = new Map([...states, ...result.changed]);
          watermark = result.watermark;
          effects.push(...result.effects);
        }
        expect(watermark).toBe(whole.watermark);
        for (const [customerId, state] of whole.changed) expect(whole.deadlines.get(customerId)).toBe(nextDeadline(state, config));
        expect(new Map([...states].sort())).toEqual(new Map([...whole.changed].sort()));
        expect(perCustomer(effects)).toEqual(perCustomer(whole.effects));
      }),
      { numRuns: 300 },
    );
  });

  it("on time-ordered input it equals the in-memory population replay up to just before the watermark", () => {
    fc.assert(
      fc.property(recordsArbitrary, (records) => {
        const ordered = [...records].sort((left, right) => left.event.occurredAt - right.event.occurredAt);
        const folded = foldPartitionBatch(new Map(), ordered, { watermark: null, latenessMs: 0 }, config);
        const replay = replayPopulation(
          ordered.map((record) => record.event),
          config,
          folded.watermark! - 1,
        );
        expect(new Map([...folded.changed].sort())).toEqual(new Map([...replay.states].sort()));
      }),
      { numRuns: 300 },
    );
  });

  it("without in-batch sweeps (wall-clock mode) it is the plain per-customer fold", () => {
    fc.assert(
      fc.property(recordsArbitrary, (records) => {
        const folded = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: Number.POSITIVE_INFINITY }, config);
        const replay = replayPopulation(records.map((record) => record.event), config);
        expect(new Map([...folded.changed].sort())).toEqual(new Map([...replay.states].sort()));
      }),
      { numRuns: 200 },
    );
  });

  it("a partition log with repeats of its events (any event time, any place after the original) ends exactly as the log without them", () => {
    fc.assert(
      fc.property(
        recordsArbitrary,
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: -400, max: 400 })), { maxLength: 40 }),
        fc.constantFrom(0, DAY_MS),
        (records, repeats, latenessMs) => {
          const withRepeats: BatchRecord[] = [...records];
          for (const [pick, place, shiftDays] of repeats) {
            const original = records[pick % records.length]!;
            const after = withRepeats.indexOf(original) + 1;
            const at = after + (place % (withRepeats.length - after + 1));
            const event = { ...original.event, occurredAt: original.event.occurredAt + shiftDays * DAY_MS };
            withRepeats.splice(at, 0, { offset: `repeat-${at}`, event, receivedAt: original.receivedAt });
          }
          const once = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs }, config);
          const repeated = foldPartitionBatch(new Map(), withRepeats, { watermark: null, latenessMs }, config);
          expect(repeated.watermark).toBe(once.watermark);
          expect(new Map([...repeated.changed].sort())).toEqual(new Map([...once.changed].sort()));
          // Per customer: customers whose deadlines fall on the same instant may fire in either order.
          expect(perCustomer(repeated.effects)).toEqual(perCustomer(once.effects));
          expect(repeated.effects.filter(({ effect }) => effect.kind === "duplicate_ignored")).toHaveLength(repeats.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("with clock advances, gives the same result however the records are split, each batch loading only what the processor loads", () => {
    fc.assert(
      fc.property(withAdvancesArbitrary, fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }), fc.constantFrom(0, DAY_MS, 7 * DAY_MS), (records, sizes, latenessMs) => {
        const whole = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs }, config);

        let states = new Map<string, CustomerState>();
        let watermark: number | null = null;
        const effects: typeof whole.effects = [];
        for (let start = 0, chunk = 0; start < records.length; chunk++) {
          const batch = records.slice(start, start + sizes[chunk % sizes.length]!);
          start += batch.length;
          // As the processor: the batch's customers, and those with a deadline a sweep of the batch can reach.
          const horizon = sweepHorizon(batch, { watermark, latenessMs });
          const loaded = new Map<string, CustomerState>();
          for (const [customerId, state] of states) {
            const deadline = nextDeadline(state, config);
            const inBatch = batch.some((record) => "event" in record && record.event.customerId === customerId);
            if (inBatch || (deadline !== null && horizon !== null && deadline <= horizon)) loaded.set(customerId, state);
          }
          const result = foldPartitionBatch(loaded, batch, { watermark, latenessMs }, config);
          states = new Map([...states, ...result.changed]);
          watermark = result.watermark;
          effects.push(...result.effects);
        }
        expect(watermark).toBe(whole.watermark);
        expect(new Map([...states].sort())).toEqual(new Map([...whole.changed].sort()));
        expect(perCustomer(effects)).toEqual(perCustomer(whole.effects));
      }),
      { numRuns: 300 },
    );
  });

  it("an advance after time-ordered events fires exactly what advanceTo fires at its instant, whatever the lateness", () => {
    fc.assert(
      fc.property(recordsArbitrary, fc.integer({ min: 0, max: 400 }), fc.constantFrom(0, DAY_MS, 30 * DAY_MS), (records, daysAfter, latenessMs) => {
        const ordered = [...records].sort((left, right) => left.event.occurredAt - right.event.occurredAt);
        const to = ordered.at(-1)!.event.occurredAt + daysAfter * DAY_MS;
        const folded = foldPartitionBatch(new Map(), [...ordered, { offset: "advance", clockAdvanceTo: to }], { watermark: null, latenessMs }, config);
        const replay = replayPopulation(
          ordered.map((record) => record.event),
          config,
          to,
        );
        expect(folded.watermark).toBe(to);
        expect(new Map([...folded.changed].sort())).toEqual(new Map([...replay.states].sort()));
        const transitions = (list: readonly StageTransition[]) => list.map((transition) => JSON.stringify(transition)).sort();
        expect(transitions(folded.effects.flatMap(({ effect }) => (effect.kind === "stage_changed" ? [effect.transition] : [])))).toEqual(transitions(replay.transitions));
        // Nothing is left due at the advanced instant.
        for (const state of folded.changed.values()) expect(nextDeadline(state, config) ?? Number.POSITIVE_INFINITY).toBeGreaterThan(to);
      }),
      { numRuns: 300 },
    );
  });

  it("an advance to an instant before the watermark changes nothing", () => {
    const records: PartitionRecord[] = [
      { offset: "0", receivedAt: 0, event: { eventId: "p", customerId: "c", occurredAt: T0, type: "purchase", properties: { orderId: "o", amountE4: 10_000, currency: "USD", quantity: null } } },
      { offset: "1", receivedAt: 0, event: { eventId: "l", customerId: "c", occurredAt: T0 + 10 * DAY_MS, type: "login", properties: { channel: null } } },
    ];
    const before = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: 0 }, config);
    const after = foldPartitionBatch(before.changed, [{ offset: "2", clockAdvanceTo: T0 + 5 * DAY_MS }], { watermark: before.watermark, latenessMs: 0 }, config);
    expect(after.watermark).toBe(T0 + 10 * DAY_MS);
    expect(after.changed.size).toBe(0);
    expect(after.effects).toEqual([]);
  });
});
