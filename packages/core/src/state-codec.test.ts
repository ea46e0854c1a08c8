import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CustomerEvent } from "./contract.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "./lifecycle-config.ts";
import { decodeState, encodeState } from "./state-codec.ts";
import { T0 } from "./testing/builders.ts";
import { foldAll } from "./testing/replay.ts";
import { DAY_MS } from "./time.ts";

const eventsArbitrary = fc.array(
  fc.record({
    offset: fc.integer({ min: 0, max: 3000 * DAY_MS }),
    kind: fc.constantFrom("purchase", "login", "support"),
    amountE4: fc.integer({ min: 0, max: 100_000_000_000 }),
    satisfaction: fc.option(fc.integer({ min: 1, max: 5 }), { nil: null }),
  }),
  { minLength: 1, maxLength: 60 },
);

function toEvents(specs: { offset: number; kind: string; amountE4: number; satisfaction: number | null }[]): CustomerEvent[] {
  return specs.map(({ offset, kind, amountE4, satisfaction }, index): CustomerEvent => {
    const base = { eventId: `event-${index}-${offset}`, customerId: "customer-1", occurredAt: T0 + offset };
    if (kind === "purchase") return { ...base, type: "purchase", properties: { orderId: "o", amountE4, currency: "USD", quantity: 1 } };
    if (kind === "login") return { ...base, type: "login", properties: { channel: null } };
    return { ...base, type: "support", properties: { ticketId: "t", action: "resolved", satisfaction } };
  });
}

describe("state codec", () => {
  it("round-trips any state the fold produces, bit for bit", () => {
    fc.assert(
      fc.property(eventsArbitrary, fc.integer({ min: 0, max: 4000 }), (specs, extraDays) => {
        const { state } = foldAll(toEvents(specs), config, T0 + extraDays * DAY_MS);
        const bytes = encodeState(state!);
        expect(decodeState("customer-1", bytes)).toEqual(state);
        expect(encodeState(decodeState("customer-1", bytes))).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("keeps a typical customer well under 256 bytes", () => {
    const events = toEvents([0, 35, 80, 160, 300].map((day, index) => ({ offset: day * DAY_MS + index * 3_600_000, kind: index === 2 ? "login" : "purchase", amountE4: 250_000, satisfaction: null })));
    const bytes = encodeState(foldAll(events, config).state!);
    expect(bytes.length).toBeLessThan(120);
  });

  it("rejects damaged input instead of inventing a state", () => {
    const bytes = encodeState(foldAll(toEvents([{ offset: 0, kind: "purchase", amountE4: 1, satisfaction: null }]), config).state!);
    expect(() => decodeState("c", bytes.slice(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeState("c", Uint8Array.from([9, ...bytes.slice(1)]))).toThrow(/unknown format/);
    expect(() => decodeState("c", Uint8Array.from([...bytes, 0]))).toThrow(/trailing/);
  });
});
