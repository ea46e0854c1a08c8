import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "../lifecycle-config.ts";
import { advanceTo, applyEvent, nextDeadline, refitCustomer, type Effect } from "../machine.ts";
import { foldPartitionBatch, sweepHorizon, type PartitionRecord } from "../partition-fold.ts";
import { replayPopulation } from "../population.ts";
import { decodeState, encodeState } from "../state-codec.ts";
import type { CustomerState } from "../state.ts";
import { day, purchase, T0 } from "../testing/builders.ts";
import { PUBLISHED_CDNOW_MODEL, purchaseLogArbitrary } from "../testing/value-logs.ts";
import { DAY_MS, utcDay } from "../time.ts";
import { pAliveCrossingT } from "./bgnbd.ts";
import { decideValue, valueSummaryAt, type ActiveValueModel } from "./stream.ts";
import { summarizeTransactions } from "./summaries.ts";
import type { ValueModel } from "./types.ts";

const MODEL = PUBLISHED_CDNOW_MODEL;
const OTHER: ValueModel = { ...MODEL, version: "m-1998-06-30-fedc4321", tierCuts: { highValueClv: 25, potentialClv: 8, warningMonetary: 15 } };
const ACTIVE: ActiveValueModel = { model: MODEL, activatedAt: T0 };

const recordsArbitrary = purchaseLogArbitrary({ customers: 6, maxLength: 60 });

const tierChanges = (effects: readonly { effect: Effect }[]) => {
  const byCustomer = new Map<string, string[]>();
  for (const { effect } of effects) {
    const id = effect.kind === "value_tier_changed" ? effect.change.customerId : effect.kind === "stage_changed" ? effect.transition.customerId : null;
    // Stage and tier changes of one customer, in order: ids, versions, instants and figures.
    if (id === null) continue;
    const list = byCustomer.get(id) ?? [];
    list.push(JSON.stringify(effect));
    byCustomer.set(id, list);
  }
  return byCustomer;
};

const sorted = (states: ReadonlyMap<string, CustomerState>) => new Map([...states].sort());

describe("value tiers in the stream", () => {
  it("the model's inputs from a state equal the summaries of the same purchase log", () => {
    fc.assert(
      fc.property(recordsArbitrary, fc.integer({ min: 0, max: 600 }), (records, endDay) => {
        const replay = replayPopulation(records.map((record) => record.event), config);
        const end = utcDay(T0) + endDay;
        const purchases = records.flatMap(({ event }) =>
          event.type === "purchase" && utcDay(event.occurredAt) <= end ? [{ customerId: event.customerId, day: utcDay(event.occurredAt), amount: event.properties.amountE4 / 10_000 }] : [],
        );
        const expected = summarizeTransactions(purchases, end, "week");
        for (const [customerId, summary] of expected) {
          const state = replayPopulation(
            records.filter(({ event }) => event.customerId === customerId && utcDay(event.occurredAt) <= end).map((record) => record.event),
            config,
          ).states.get(customerId)!;
          const actual = valueSummaryAt(state, end * DAY_MS, "week")!;
          expect(actual.x).toBe(summary.x);
          expect(actual.tx).toBeCloseTo(summary.tx, 12);
          expect(actual.T).toBeCloseTo(summary.T, 12);
          expect(actual.meanSpend).toBeCloseTo(summary.meanSpend, 9);
        }
        expect(replay.states.size).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  it("after any log and any wait, the stored tier is the tier the model gives at that instant", () => {
    fc.assert(
      fc.property(recordsArbitrary, fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 4 }), (records, waits) => {
        const replay = replayPopulation(records.map((record) => record.event), config, undefined, ACTIVE);
        for (const state of replay.states.values()) {
          if (state.firstPurchaseAt === null) continue;
          let current = state;
          for (const wait of [...waits].sort((left, right) => left - right)) {
            const at = Math.max(current.valueReviewedAt!, state.lastEventAt) + wait * 3_600_000;
            current = advanceTo(current, at, config, ACTIVE).state;
            expect(current.valueTier).toBe(decideValue(current, at, MODEL, config)!.tier);
            expect(current.valueModelVersion).toBe(MODEL.version);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a timer fires a tier change within a minute of the crossing: a minute earlier the model still gave the old tier", () => {
    fc.assert(
      fc.property(recordsArbitrary, (records) => {
        // In event-time order: a timer change then never precedes a purchase it did not know of (late
        // arrivals are the batch-split property's business), so the final state holds the inputs it saw.
        const ordered = records.map((record) => record.event).sort((left, right) => left.occurredAt - right.occurredAt);
        const replay = replayPopulation(ordered, config, T0 + 3000 * DAY_MS, ACTIVE);
        const previous = new Map<string, number>();
        for (const change of replay.tierChanges) {
          const state = replay.states.get(change.customerId)!;
          const before = previous.get(change.customerId) ?? Number.NEGATIVE_INFINITY;
          previous.set(change.customerId, change.occurredAt);
          // Only a timer change a minute clear of the last purchase and of the customer's previous change:
          // the final state then has the inputs the timer saw, and "a minute earlier" is still the old tier's time.
          if (change.trigger !== "timer" || change.occurredAt - 61_000 <= Math.max(state.lastPurchaseAt!, before)) continue;
          // A timer change moves no purchase: the final state has the same model inputs.
          expect(decideValue(state, change.occurredAt, MODEL, config)!.tier).toBe(change.to);
          expect(decideValue(state, change.occurredAt - 61_000, MODEL, config)!.tier).toBe(change.from);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a valuable customer who stops buying enters warning by timer at the closed-form P(alive) crossing", () => {
    const events = [purchase(day(0), 20), purchase(day(10), 20), purchase(day(20), 20), purchase(day(30), 20)];
    const replay = replayPopulation(events, config, day(3000), ACTIVE);
    const warning = replay.tierChanges.find((change) => change.to === "warning")!;
    expect(warning.trigger).toBe("timer");
    expect(warning.reason).toBe("P_ALIVE_BELOW_WARNING");
    const crossing = pAliveCrossingT(MODEL.bgnbd, 3, 30 / 7, config.value.tiers.warningPAlive)!;
    expect(Math.abs(warning.occurredAt - (day(0) + crossing * 7 * DAY_MS))).toBeLessThanOrEqual(61_000);
    expect(warning.prediction.pAlive).toBeLessThan(0.5);
    expect(replay.states.get("c1")!.valueTier).toBe("warning");
    // A purchase brings the customer back out of warning.
    const back = applyEvent(replay.states.get("c1"), purchase(day(3001), 20), config, 0, ACTIVE);
    const change = back.effects.find((effect) => effect.kind === "value_tier_changed");
    expect(change?.kind === "value_tier_changed" && change.change.from).toBe("warning");
  });

  it("gives the same states and changes however the records are split, with a model activated on the way and the refit sweep reaching customers at any point", () => {
    fc.assert(
      fc.property(
        recordsArbitrary,
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }),
        fc.constantFrom(0, DAY_MS),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        (records, position, sizes, latenessMs, sweptEarly) => {
          const log: PartitionRecord[] = [...records];
          log.splice(position % (log.length + 1), 0, { offset: "", activateValueModel: OTHER, activatedAt: null });
          if (position % 2 === 0) log.push({ offset: "", clockAdvanceTo: T0 + 3000 * DAY_MS });
          const indexed = log.map((record, index) => ({ ...record, offset: String(index) }));

          const whole = foldPartitionBatch(new Map(), indexed, { watermark: null, latenessMs }, config, ACTIVE);
          const finish = (states: Map<string, CustomerState>, value: ActiveValueModel | null, effects: { effect: Effect }[], sweptThrough: number | null) => {
            for (const [customerId, state] of states) {
              const step = refitCustomer(state, value!, config, sweptThrough);
              states.set(customerId, step.state);
              for (const effect of step.effects) effects.push({ effect });
            }
            return states;
          };
          const wholeEffects: { effect: Effect }[] = [...whole.effects];
          const wholeStates = finish(new Map(whole.changed), whole.value, wholeEffects, whole.sweptThrough);

          let states = new Map<string, CustomerState>();
          let watermark: number | null = null;
          let value: ActiveValueModel | null = ACTIVE;
          let sweptThrough: number | null = null;
          const effects: { effect: Effect }[] = [];
          for (let start = 0, chunk = 0; start < indexed.length; chunk++) {
            const batch = indexed.slice(start, start + sizes[chunk % sizes.length]!);
            start += batch.length;
            const horizon = sweepHorizon(batch, { watermark, latenessMs });
            const loaded = new Map<string, CustomerState>();
            for (const [customerId, state] of states) {
              const deadline = nextDeadline(state, config, value);
              const inBatch = batch.some((record) => "event" in record && record.event.customerId === customerId);
              if (inBatch || (deadline !== null && horizon !== null && deadline <= horizon)) loaded.set(customerId, state);
            }
            const result = foldPartitionBatch(loaded, batch, { watermark, latenessMs }, config, value);
            states = new Map([...states, ...result.changed]);
            effects.push(...result.effects);
            watermark = result.watermark;
            if (result.sweptThrough !== null) sweptThrough = Math.max(sweptThrough ?? result.sweptThrough, result.sweptThrough);
            if (result.value !== value) {
              value = result.value;
              // The refit sweep reaches some customers right after the activation.
              for (const [customerId, state] of states) {
                if (!sweptEarly[Number(customerId.slice(1))]) continue;
                const step = refitCustomer(state, value!, config, sweptThrough);
                states.set(customerId, step.state);
                for (const effect of step.effects) effects.push({ effect });
              }
            }
          }
          finish(states, value, effects, sweptThrough);
          expect(sorted(states)).toEqual(sorted(wholeStates));
          expect(tierChanges(effects)).toEqual(tierChanges(wholeEffects));
        },
      ),
      { numRuns: 250 },
    );
  });

  it("every tier and trigger occurs over many logs (the properties above are not vacuous)", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(recordsArbitrary, (records) => {
        const replay = replayPopulation(records.map((record) => record.event), config, T0 + 3000 * DAY_MS, ACTIVE);
        for (const change of replay.tierChanges) seen.add(`${change.to}:${change.trigger}`);
      }),
      { numRuns: 200, seed: 7 },
    );
    for (const expected of ["high_value:event", "potential:event", "potential:timer", "warning:timer", "base:timer"]) expect(seen).toContain(expected);
  });

  it("the state codec keeps the tier, its model and its instants", () => {
    const replay = replayPopulation([purchase(day(0), 20), purchase(day(9), 35)], config, day(400), ACTIVE);
    const state = replay.states.get("c1")!;
    expect(state.valueTier).not.toBeNull();
    expect(decodeState("c1", encodeState(state))).toEqual(state);
  });
});
