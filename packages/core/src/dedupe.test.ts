import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CustomerEvent } from "./contract.ts";
import { parseLifecycleConfig } from "./lifecycle-config.ts";
import { advanceTo, applyEvent, type Effect } from "./machine.ts";
import { decodeState, encodeState } from "./state-codec.ts";
import type { CustomerState } from "./state.ts";
import { T0 } from "./testing/builders.ts";
import { DAY_MS, HOUR_MS } from "./time.ts";

/**
 * The dedupe ledger: a repeated event id is never folded again while it is within the
 * retention after its first arrival, whatever its event time, its payload, the arrival
 * order and the events in between — and a new id is never taken for a repeat.
 */

const END = T0 + 2000 * DAY_MS;
const RECEIVED_FROM = Date.UTC(2026, 0, 1);

/** Event ids that share prefixes (as a source's ids do), with non-ASCII ones among them. */
const idArbitrary = fc.oneof(
  fc.nat({ max: 5000 }).map((n) => `order-${n}`),
  fc.nat({ max: 5000 }).map((n) => `order-${n}-retry`),
  fc.uuid(),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }),
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 3 }),
);

const eventArbitrary = (eventId: string) =>
  fc
    .record({
      day: fc.integer({ min: 0, max: 700 }),
      kind: fc.constantFrom("purchase", "purchase", "login", "support"),
      amountE4: fc.integer({ min: 0, max: 5_000_000 }),
    })
    .map(({ day, kind, amountE4 }): CustomerEvent => {
      const base = { eventId, customerId: "c", occurredAt: T0 + day * DAY_MS };
      if (kind === "purchase") return { ...base, type: "purchase", properties: { orderId: `o-${eventId}`, amountE4, currency: "USD", quantity: null } };
      if (kind === "login") return { ...base, type: "login", properties: { channel: "app" } };
      return { ...base, type: "support", properties: { ticketId: `t-${eventId}`, action: "opened", satisfaction: null } };
    });

const logArbitrary = fc
  .uniqueArray(idArbitrary, { minLength: 1, maxLength: 40 })
  .chain((ids) => fc.tuple(...ids.map((id) => eventArbitrary(id))));

interface Arrival {
  event: CustomerEvent;
  receivedAt: number;
}

function fold(arrivals: readonly Arrival[], retentionDays: number) {
  const config = parseLifecycleConfig({ dedupe: { retentionDays } });
  let state: CustomerState | undefined;
  const effects: Effect[] = [];
  for (const { event, receivedAt } of arrivals) {
    const step = applyEvent(state, event, config, receivedAt);
    state = step.state;
    effects.push(...step.effects);
  }
  const end = advanceTo(state!, END, config);
  effects.push(...end.effects);
  return { state: end.state, effects };
}

const withoutDuplicates = (effects: readonly Effect[]) => effects.filter((effect) => effect.kind !== "duplicate_ignored");

describe("dedupe ledger", () => {
  it("any interleaving of a log's events and their repeats within the retention gives the state of the log without repeats", () => {
    fc.assert(
      fc.property(
        logArbitrary,
        fc.constantFrom(1, 7, 30),
        fc.array(fc.tuple(fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: -300, max: 300 })), { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 3 * DAY_MS }), { minLength: 40, maxLength: 40 }),
        (log, retentionDays, repeats, gaps) => {
          const retentionMs = retentionDays * DAY_MS;
          // Originals arrive in the log's order, gaps of up to 3 days apart (often past the retention).
          const originals: Arrival[] = [];
          let clock = RECEIVED_FROM;
          for (const [index, event] of log.entries()) {
            clock += gaps[index]!;
            originals.push({ event, receivedAt: clock });
          }
          // Each repeat: a random original, re-sent within the retention after it, with any payload change
          // a client's retry could carry (event time, amount).
          const repeatArrivals: Arrival[] = repeats.map(([pick, delay, amountE4, shiftDays]) => {
            const original = originals[pick % originals.length]!;
            const event: CustomerEvent =
              original.event.type === "purchase"
                ? { ...original.event, occurredAt: original.event.occurredAt + shiftDays * DAY_MS, properties: { ...original.event.properties, amountE4 } }
                : { ...original.event, occurredAt: original.event.occurredAt + shiftDays * DAY_MS };
            return { event, receivedAt: original.receivedAt + Math.floor(delay * retentionMs) };
          });
          // Arrival order is processing-time order; at equal times an original comes before its repeats.
          const arrivals = [...originals.map((arrival, index) => ({ arrival, rank: index })), ...repeatArrivals.map((arrival) => ({ arrival, rank: Number.MAX_SAFE_INTEGER }))]
            .sort((left, right) => left.arrival.receivedAt - right.arrival.receivedAt || left.rank - right.rank)
            .map((entry) => entry.arrival);

          const once = fold(originals, retentionDays);
          const interleaved = fold(arrivals, retentionDays);
          expect(interleaved.state).toEqual(once.state);
          expect(withoutDuplicates(interleaved.effects)).toEqual(once.effects);
          expect(interleaved.effects.filter((effect) => effect.kind === "duplicate_ignored")).toHaveLength(repeats.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a new id is never taken for a repeat, however the events arrive and however long ago the others came", () => {
    fc.assert(
      fc.property(logArbitrary, fc.array(fc.integer({ min: 0, max: 20 * DAY_MS }), { minLength: 40, maxLength: 40 }), fc.constantFrom(0.5, 7), (log, gaps, retentionDays) => {
        let clock = RECEIVED_FROM;
        const arrivals = log.map((event, index) => ({ event, receivedAt: (clock += gaps[index]!) }));
        const { effects } = fold(arrivals, retentionDays);
        expect(effects.filter((effect) => effect.kind === "duplicate_ignored")).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps exactly the ids that arrived within the retention of the latest arrival, sorted", () => {
    fc.assert(
      fc.property(logArbitrary, fc.array(fc.integer({ min: 0, max: 2 * DAY_MS }), { minLength: 40, maxLength: 40 }), (log, gaps) => {
        let clock = RECEIVED_FROM;
        const arrivals = log.map((event, index) => ({ event, receivedAt: (clock += gaps[index]!) }));
        const { state } = fold(arrivals, 1);
        const latest = arrivals.at(-1)!.receivedAt;
        const kept = arrivals.filter((arrival) => arrival.receivedAt >= latest - DAY_MS).map((arrival) => arrival.event.eventId);
        expect(state.seenEventIds).toEqual([...kept].sort((left, right) => (left < right ? -1 : left > right ? 1 : 0)));
        expect(state.seenReceivedAt.every((at) => at >= latest - DAY_MS && at <= latest)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("the ledger survives the state codec, ids of any script included", () => {
    fc.assert(
      fc.property(logArbitrary, fc.array(fc.integer({ min: 0, max: 2 * HOUR_MS }), { minLength: 40, maxLength: 40 }), (log, gaps) => {
        let clock = RECEIVED_FROM;
        const arrivals = log.map((event, index) => ({ event, receivedAt: (clock += gaps[index]!) }));
        const { state } = fold(arrivals, 7);
        const decoded = decodeState("c", encodeState(state));
        expect(decoded).toEqual(state);
        // And still recognises every id after the round trip.
        for (const { event } of arrivals) expect(applyEvent(decoded, event, parseLifecycleConfig({}), clock).effects).toEqual([{ kind: "duplicate_ignored", eventId: event.eventId }]);
      }),
      { numRuns: 200 },
    );
  });

  it("a repeat arriving after the retention, once a later event has pruned the id, is folded again (the documented limit)", () => {
    const config = parseLifecycleConfig({ dedupe: { retentionDays: 7 } });
    const first: CustomerEvent = { eventId: "a", customerId: "c", occurredAt: T0, type: "purchase", properties: { orderId: "o", amountE4: 10_000, currency: "USD", quantity: null } };
    const other: CustomerEvent = { ...first, eventId: "b", occurredAt: T0 + DAY_MS };
    let state = applyEvent(undefined, first, config, RECEIVED_FROM).state;
    // Still within the retention: recognised, even after other events.
    state = applyEvent(state, other, config, RECEIVED_FROM + 7 * DAY_MS).state;
    expect(applyEvent(state, first, config, RECEIVED_FROM + 7 * DAY_MS).effects[0]!.kind).toBe("duplicate_ignored");
    // A later event moves the ledger past the first arrival + 7 days: the id is forgotten.
    state = applyEvent(state, { ...other, eventId: "c" }, config, RECEIVED_FROM + 7 * DAY_MS + 1).state;
    expect(state!.seenEventIds).toEqual(["b", "c"]);
    expect(applyEvent(state, first, config, RECEIVED_FROM + 8 * DAY_MS).state!.purchaseCount).toBe(4);
  });

  it("a record stamped by a clock running behind does not expire ids early", () => {
    const config = parseLifecycleConfig({ dedupe: { retentionDays: 1 } });
    const login = (eventId: string): CustomerEvent => ({ eventId, customerId: "c", occurredAt: T0, type: "login", properties: { channel: null } });
    let state = applyEvent(undefined, login("a"), config, RECEIVED_FROM + 5 * DAY_MS).state;
    state = applyEvent(state, login("b"), config, RECEIVED_FROM).state; // 5 days behind
    expect(state!.seenReceivedAt).toEqual([RECEIVED_FROM + 5 * DAY_MS, RECEIVED_FROM + 5 * DAY_MS]);
    expect(applyEvent(state, login("b"), config, RECEIVED_FROM + 5 * DAY_MS + 1).effects[0]!.kind).toBe("duplicate_ignored");
  });
});
