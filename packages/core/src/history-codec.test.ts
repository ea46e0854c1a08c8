import { describe, expect, it } from "vitest";
import { decodeHistoryEntry, encodeHistoryEntry, type HistoryEntry } from "./history-codec.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "./lifecycle-config.ts";
import type { StageTransition } from "./machine.ts";
import { day, purchase } from "./testing/builders.ts";
import { foldAll } from "./testing/replay.ts";

/** What the processor stored as JSON before the binary form, and what the customer API returns (the round trip over whole populations: packages/datasets). */
const jsonShape = ({ transitionId, from, to, reason, occurredAt, trigger, eventId, riskLevel }: StageTransition): HistoryEntry => ({
  transitionId,
  from,
  to,
  reason: { code: reason.code, numbers: { ...reason.numbers } },
  occurredAt,
  trigger,
  eventId,
  riskLevel,
});

describe("history entry codec", () => {
  it("keeps numbers it has no name for and values that are not whole thousandths", () => {
    const transition = foldAll([purchase(day(0))], config).transitions[0]!;
    const odd = { ...transition, reason: { code: transition.reason.code, numbers: { gapDays: 1 / 3, unexpected: -2.5, big: 2 ** 50 } } };
    expect(decodeHistoryEntry(odd.customerId, encodeHistoryEntry(odd))).toEqual(jsonShape(odd));
  });

  it("still reads entries stored as JSON, and refuses damaged ones", () => {
    const transition = foldAll([purchase(day(0)), purchase(day(3), 25)], config, day(400)).transitions.at(-1)!;
    const legacy = Buffer.from(JSON.stringify(jsonShape(transition)));
    expect(decodeHistoryEntry(transition.customerId, legacy)).toEqual(jsonShape(transition));
    const encoded = encodeHistoryEntry(transition);
    expect(() => decodeHistoryEntry("c", encoded.slice(0, encoded.length - 1))).toThrow(/truncated/);
    expect(() => decodeHistoryEntry("c", Uint8Array.from([...encoded, 0]))).toThrow(/trailing/);
    expect(() => decodeHistoryEntry("c", Uint8Array.from([9, ...encoded.slice(1)]))).toThrow(/unknown format/);
  });
});
