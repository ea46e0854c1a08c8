import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CustomerEvent } from "./contract.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "./lifecycle-config.ts";
import { dedupeFingerprint, fingerprint53 } from "./fingerprint.ts";
import { applyEvent } from "./machine.ts";
import { decodeState, encodeState } from "./state-codec.ts";
import { STAGES } from "./stages.ts";
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

describe("state codec, format v1 (53-bit fingerprints)", () => {
  const varint = (value: number): number[] => {
    const bytes: number[] = [];
    while (value >= 0x80) {
      bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    return [...bytes, value];
  };
  const fixed7 = (value: number): number[] => Array.from({ length: 7 }, (_, index) => Math.floor(value / 256 ** index) % 256);
  const float = (value: number): number[] => {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    return [...new Uint8Array(view.buffer)];
  };

  it("is still read, its fingerprints shortened to the ids' 40-bit dedupe fingerprints, so duplicates stay recognised", () => {
    const ids = ["login-a", "login-b", "login-c"];
    // Two entries at the same instant: shortening can change their order, which decoding restores.
    const window = [
      [0, fingerprint53(ids[0]!)],
      [5, fingerprint53(ids[1]!)],
      [0, fingerprint53(ids[2]!)],
    ].map(([delta, fingerprint]) => ({ delta: delta!, fingerprint: fingerprint! }));
    const sortedByOldFingerprint = [window[0]!, window[2]!].sort((left, right) => left.fingerprint - right.fingerprint);
    const v1 = Uint8Array.from([
      1, // format
      ...varint(3), // version
      ...varint(T0), // firstSeenAt
      ...varint(5), // Δ lastEventAt
      0, 0, // first/last purchase: none
      0, 0, 3, 0, 0, 0, // purchases, monetary, logins, support opened/resolved/escalated
      0, 0, // satisfaction, its time: none
      ...float(2.5),
      ...varint(5), // Δ score.at
      STAGES.indexOf("prospect"),
      0, // Δ stageSince
      0, // wonBackAt: none
      0, // purchase days dropped
      0, // purchase days: none
      ...varint(3),
      ...varint(0), ...fixed7(sortedByOldFingerprint[0]!.fingerprint),
      ...varint(0), ...fixed7(sortedByOldFingerprint[1]!.fingerprint),
      ...varint(5), ...fixed7(window[1]!.fingerprint),
    ]);
    const state = decodeState("customer-1", v1);
    const shortened = [...ids.map((id) => dedupeFingerprint(id))];
    expect(shortened.every((value, index) => value === fingerprint53(ids[index]!) % 2 ** 40)).toBe(true);
    const atZero = [shortened[0]!, shortened[2]!].sort((left, right) => left - right);
    expect(state.recentEvents).toEqual([T0, atZero[0], T0, atZero[1], T0 + 5, shortened[1]]);
    expect(state.logins).toBe(3);
    // Re-encoded as v2: 2 bytes shorter per kept id.
    expect(encodeState(state).length).toBe(v1.length - 3 * 2);
    const again = applyEvent(state, { eventId: "login-b", customerId: "customer-1", occurredAt: T0 + 5, type: "login", properties: { channel: null } }, config);
    expect(again.effects).toEqual([{ kind: "duplicate_ignored", eventId: "login-b" }]);
  });
});
