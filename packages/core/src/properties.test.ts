import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classify } from "./classify.ts";
import type { CustomerEvent } from "./contract.ts";
import { DEFAULT_LIFECYCLE_CONFIG, parseLifecycleConfig, type LifecycleConfig } from "./lifecycle-config.ts";
import { advanceTo, applyEvent, nextDeadline } from "./machine.ts";
import { evaluatedThrough, type CustomerState } from "./state.ts";
import { riskLevel } from "./thresholds.ts";
import { T0 } from "./testing/builders.ts";
import { aggregatesOf, foldAll } from "./testing/replay.ts";
import { DAY_MS } from "./time.ts";

/**
 * Properties of the fold over random customers: random event mixes over two
 * years, random amounts, random (valid) lifecycle configs.
 */

const HORIZON_MS = 730 * DAY_MS;

const eventArbitrary = (index: number) =>
  fc
    .record({
      offset: fc.integer({ min: 0, max: HORIZON_MS }),
      kind: fc.constantFrom("purchase", "purchase", "purchase", "login", "support"),
      amountE4: fc.integer({ min: 0, max: 5_000_000 }),
      action: fc.constantFrom("opened", "resolved", "escalated" as const),
      satisfaction: fc.option(fc.integer({ min: 1, max: 5 }), { nil: null }),
    })
    .map(({ offset, kind, amountE4, action, satisfaction }): CustomerEvent => {
      const base = { eventId: `ev-${index}`, customerId: "c", occurredAt: T0 + offset };
      if (kind === "purchase") return { ...base, type: "purchase", properties: { orderId: `o${index}`, amountE4, currency: "USD", quantity: null } };
      if (kind === "login") return { ...base, type: "login", properties: { channel: "app" } };
      return { ...base, type: "support", properties: { ticketId: `t${index}`, action, satisfaction } };
    });

const eventsArbitrary = fc
  .integer({ min: 1, max: 40 })
  .chain((count) => fc.tuple(...Array.from({ length: count }, (_, index) => eventArbitrary(index))));

const sortedByTime = (events: readonly CustomerEvent[]) => [...events].sort((left, right) => left.occurredAt - right.occurredAt);

const configArbitrary: fc.Arbitrary<LifecycleConfig> = fc
  .record({
    warn: fc.integer({ min: 10, max: 120 }),
    churnExtra: fc.integer({ min: 1, max: 200 }),
    minGaps: fc.integer({ min: 1, max: 5 }),
    halfLife: fc.integer({ min: 1, max: 90 }),
    floor: fc.constantFrom(0, 0.05, 0.3),
    wonBackDays: fc.constantFrom(0, 30, 90),
    retentionDays: fc.constantFrom(0.5, 1, 7, 30),
  })
  .map((choice) =>
    parseLifecycleConfig({
      churn: { population: { warnAfterDays: choice.warn, churnAfterDays: choice.warn + choice.churnExtra }, personal: { minGaps: choice.minGaps } },
      score: { halfLifeDays: choice.halfLife, floor: choice.floor },
      wonBack: { periodDays: choice.wonBackDays },
      dedupe: { retentionDays: choice.retentionDays },
    }),
  );

const END = T0 + HORIZON_MS + 1000 * DAY_MS;
const halfLifeMs = (config: LifecycleConfig) => config.score.halfLifeDays * DAY_MS;

describe("fold properties", () => {
  it("any permutation of the same events gives the same aggregates", () => {
    fc.assert(
      fc.property(eventsArbitrary, configArbitrary, fc.nat(), (events, config, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray([...events], { minLength: events.length, maxLength: events.length }), { numRuns: 1, seed })[0]!;
        const inOrder = foldAll(sortedByTime(events), config).state;
        const permuted = foldAll(shuffled, config).state;
        expect(aggregatesOf(permuted, halfLifeMs(config), END)).toEqual(aggregatesOf(inOrder, halfLifeMs(config), END));
      }),
      { numRuns: 300 },
    );
  });

  it("without win-back memory, the stage at a common later instant is order-independent too", () => {
    const config = parseLifecycleConfig({ wonBack: { periodDays: 0 } });
    fc.assert(
      fc.property(eventsArbitrary, fc.nat(), fc.integer({ min: 0, max: 1500 }), (events, seed, extraDays) => {
        const shuffled = fc.sample(fc.shuffledSubarray([...events], { minLength: events.length, maxLength: events.length }), { numRuns: 1, seed })[0]!;
        const until = T0 + HORIZON_MS + extraDays * DAY_MS;
        const inOrder = foldAll(sortedByTime(events), config, until).state!;
        const permuted = foldAll(shuffled, config, until).state!;
        expect(permuted.stage).toBe(inOrder.stage);
        expect(permuted.stage).toBe(classify(inOrder, until, config).stage);
      }),
      { numRuns: 300 },
    );
  });

  it("a repeated event (same eventId, any payload) changes nothing, whatever its event time", () => {
    fc.assert(
      fc.property(eventsArbitrary, configArbitrary, fc.nat(), fc.integer({ min: 0, max: HORIZON_MS }), (events, config, pick, otherTime) => {
        const { state } = foldAll(events, config);
        const repeated = events[pick % events.length]!;
        const step = applyEvent(state, { ...repeated, occurredAt: T0 + otherTime }, config);
        expect(step.state).toBe(state);
        expect(step.effects).toEqual([{ kind: "duplicate_ignored", eventId: repeated.eventId }]);
      }),
      { numRuns: 300 },
    );
  });

  it("every event delivered twice, interleaved, equals every event once", () => {
    fc.assert(
      fc.property(eventsArbitrary, (events) => {
        const config = DEFAULT_LIFECYCLE_CONFIG;
        const ordered = sortedByTime(events);
        const twice = ordered.flatMap((event, index) => (index > 0 ? [event, ordered[index - 1]!] : [event]));
        twice.push(ordered[ordered.length - 1]!);
        const once = foldAll(ordered, config, END);
        const doubled = foldAll(twice, config, END);
        expect(doubled.state).toEqual(once.state);
        expect(doubled.transitions).toEqual(once.transitions);
      }),
      { numRuns: 200 },
    );
  });

  it("replaying a prefix, persisting the state, then the rest equals one pass", () => {
    fc.assert(
      fc.property(eventsArbitrary, configArbitrary, fc.nat(), (events, config, cut) => {
        const at = cut % (events.length + 1);
        const one = foldAll(events, config, END);
        const prefix = foldAll(events.slice(0, at), config);
        let state = prefix.state === undefined ? undefined : (JSON.parse(JSON.stringify(prefix.state)) as CustomerState);
        const transitions = [...prefix.transitions];
        for (const event of events.slice(at)) {
          const step = applyEvent(state, event, config);
          state = step.state;
          for (const effect of step.effects) if (effect.kind === "stage_changed") transitions.push(effect.transition);
        }
        const end = advanceTo(state!, END, config);
        for (const effect of end.effects) if (effect.kind === "stage_changed") transitions.push(effect.transition);
        expect(end.state).toEqual(one.state);
        expect(transitions).toEqual(one.transitions);
      }),
      { numRuns: 300 },
    );
  });

  it("timers give the same history however often and however late they run", () => {
    fc.assert(
      fc.property(eventsArbitrary, configArbitrary, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 60 }), (events, config, ticks) => {
        const ordered = sortedByTime(events);
        const reference = foldAll(ordered, config, END);
        // Same events, with timer sweeps at random instants between consecutive events (never past the next one).
        let state: CustomerState | undefined;
        const transitions = [];
        for (const [index, event] of ordered.entries()) {
          const step = applyEvent(state, event, config);
          state = step.state;
          for (const effect of step.effects) if (effect.kind === "stage_changed") transitions.push(effect.transition);
          const next = ordered[index + 1]?.occurredAt ?? END;
          const tick = ticks[index];
          if (tick !== undefined && state !== undefined && next - 1 > event.occurredAt) {
            const sweep = advanceTo(state, event.occurredAt + Math.floor(tick * (next - 1 - event.occurredAt)), config);
            state = sweep.state;
            for (const effect of sweep.effects) if (effect.kind === "stage_changed") transitions.push(effect.transition);
          }
        }
        const end = advanceTo(state!, END, config);
        for (const effect of end.effects) if (effect.kind === "stage_changed") transitions.push(effect.transition);
        expect(end.state).toEqual(reference.state);
        expect(transitions).toEqual(reference.transitions);
      }),
      { numRuns: 300 },
    );
  });

  it("deadlines are never in the past, and the stage holds until the deadline", () => {
    fc.assert(
      fc.property(eventsArbitrary, configArbitrary, fc.integer({ min: 0, max: 2000 }), (events, config, sweepDays) => {
        let state: CustomerState | undefined;
        for (const event of events) {
          state = applyEvent(state, event, config).state;
          if (state === undefined) continue;
          expect(classify(state, evaluatedThrough(state), config).stage).toBe(state.stage);
          expect(riskLevel(state, evaluatedThrough(state), config)).toBe(state.riskLevel);
          const deadline = nextDeadline(state, config);
          if (deadline !== null) {
            expect(deadline).toBeGreaterThan(evaluatedThrough(state));
            expect(classify(state, deadline - 1, config).stage).toBe(state.stage);
            expect(riskLevel(state, deadline - 1, config)).toBe(state.riskLevel);
            // A deadline changes the stage or the risk level.
            expect(classify(state, deadline, config).stage !== state.stage || riskLevel(state, deadline, config) !== state.riskLevel).toBe(true);
          }
        }
        const now = T0 + sweepDays * DAY_MS;
        const swept = advanceTo(state!, now, config).state;
        const after = nextDeadline(swept, config);
        if (after !== null) expect(after).toBeGreaterThan(now);
      }),
      { numRuns: 300 },
    );
  });

  it("without events a customer never returns to a stage it left (what lets applyEvent skip idle timers)", () => {
    fc.assert(
      fc.property(eventsArbitrary, configArbitrary, fc.array(fc.integer({ min: 0, max: 1500 * DAY_MS }), { minLength: 3, maxLength: 12 }), (events, config, offsets) => {
        const { state } = foldAll(events, config);
        const start = evaluatedThrough(state!);
        const stages = [...offsets].sort((left, right) => left - right).map((offset) => classify(state!, start + offset, config).stage);
        const left = new Set<string>();
        for (let index = 1; index < stages.length; index++) {
          if (stages[index] !== stages[index - 1]) left.add(stages[index - 1]!);
          expect(left.has(stages[index]!)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("versions increase by one per applied event, timer transition or risk change, and transition ids are unique", () => {
    fc.assert(
      fc.property(eventsArbitrary, configArbitrary, (events, config) => {
        const { state, transitions, effects } = foldAll(events, config, END);
        const applied = events.length - effects.filter((effect) => effect.kind === "duplicate_ignored").length;
        const timers = transitions.filter((transition) => transition.trigger === "timer").length;
        const riskChanges = effects.filter((effect) => effect.kind === "risk_changed").length;
        expect(state!.version).toBe(applied + timers + riskChanges);
        expect(new Set(transitions.map((transition) => transition.transitionId)).size).toBe(transitions.length);
        const versions = transitions.map((transition) => transition.version);
        expect(versions).toEqual([...versions].sort((left, right) => left - right));
      }),
      { numRuns: 200 },
    );
  });

  it("money is exact: the monetary total equals the integer sum of amounts", () => {
    fc.assert(
      fc.property(eventsArbitrary, (events) => {
        const { state } = foldAll(events, DEFAULT_LIFECYCLE_CONFIG);
        const expected = events.reduce((sum, event) => sum + (event.type === "purchase" ? event.properties.amountE4 : 0), 0);
        expect(state!.monetaryE4).toBe(expected);
      }),
    );
  });
});
