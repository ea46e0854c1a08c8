import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CustomerEvent } from "./contract.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "./lifecycle-config.ts";
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
    const state = foldAll(events, config).state!;
    const withoutLedger = encodeState({ ...state, seenEventIds: [], seenReceivedAt: [] });
    expect(withoutLedger.length).toBeLessThan(120);
    // The ledger: a time base, then per id its unshared suffix and 3 bytes at most (prefix, length, time).
    const suffixes = state.seenEventIds.map((id, index) => {
      const previous = state.seenEventIds[index - 1] ?? "";
      let shared = 0;
      while (shared < id.length && id[shared] === previous[shared]) shared++;
      return id.length - shared;
    });
    const ledgerBytes = encodeState(state).length - withoutLedger.length;
    expect(ledgerBytes).toBeLessThanOrEqual(1 + suffixes.reduce((sum, length) => sum + length + 3, 0));
  });

  it("rejects damaged input instead of inventing a state", () => {
    const bytes = encodeState(foldAll(toEvents([{ offset: 0, kind: "purchase", amountE4: 1, satisfaction: null }]), config).state!);
    expect(() => decodeState("c", bytes.slice(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeState("c", Uint8Array.from([9, ...bytes.slice(1)]))).toThrow(/unknown format/);
    expect(() => decodeState("c", Uint8Array.from([...bytes, 0]))).toThrow(/trailing/);
  });
});

describe("state codec, formats v1 and v2 (fingerprint windows)", () => {
  const varint = (value: number): number[] => {
    const bytes: number[] = [];
    while (value >= 0x80) {
      bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    return [...bytes, value];
  };
  const float = (value: number): number[] => {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    return [...new Uint8Array(view.buffer)];
  };

  it("are still read, with an empty ledger in place of the fingerprint window", () => {
    const fixed = (value: number, size: number): number[] => Array.from({ length: size }, (_, index) => Math.floor(value / 256 ** index) % 256);
    for (const [format, size] of [[1, 7], [2, 5]] as const) {
      const old = Uint8Array.from([
        format,
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
        ...varint(3), // the window: three (Δ time, fingerprint) pairs
        ...varint(0), ...fixed(123_456_789, size),
        ...varint(0), ...fixed(987_654_321, size),
        ...varint(5), ...fixed(555_555_555, size),
      ]);
      const state = decodeState("customer-1", old);
      expect(state).toMatchObject({ version: 3, logins: 3, lastEventAt: T0 + 5, seenEventIds: [], seenReceivedAt: [] });
      // Re-encoded as v5: the window is gone, an empty ledger is one byte, and the first-day spend (0), no tier,
      // the unknown risk level, its time and no audiences take one each.
      expect(state.riskLevel).toBeNull();
      expect(encodeState(state).length).toBe(old.length - 3 * (1 + size) + 5);
      expect(encodeState(state)[0]).toBe(5);
      const again = applyEvent(state, { eventId: "login-b", customerId: "customer-1", occurredAt: T0 + 5, type: "login", properties: { channel: null } }, config);
      expect(again.state!.logins).toBe(4);
      // The next step decides the level at the evaluated-through instant, without a signal.
      expect(again.state!.riskLevel).toBe("none");
      expect(again.effects.filter((effect) => effect.kind === "risk_changed")).toEqual([]);
    }
  });
});
