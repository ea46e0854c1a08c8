import { CDNOW_SAMPLE_PATH, readCdnowFile, syntheticEvents } from "@clm/datasets";
import { describe, expect, it } from "vitest";
import { createInputEventSchema, parseInputEvent } from "./contract.ts";
import { decodeHistoryEntry, encodeHistoryEntry, type HistoryEntry } from "./history-codec.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config, parseLifecycleConfig } from "./lifecycle-config.ts";
import type { StageTransition } from "./machine.ts";
import { replayPopulation } from "./population.ts";

/** What the processor stored as JSON before the binary form, and what the customer API returns. */
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
  it("round-trips every transition of the CDNOW sample and of a synthetic population, at about a fifth of the JSON size", async () => {
    const schema = createInputEventSchema({ reportingCurrency: "USD" });
    const rows = (await readCdnowFile(CDNOW_SAMPLE_PATH)).events.map((row) => parseInputEvent(schema, row));
    const events = rows.flatMap((parsed) => (parsed.ok ? [parsed.event] : [])).sort((left, right) => left.occurredAt - right.occurredAt);
    expect(events).toHaveLength(rows.length);
    const cdnow = replayPopulation(events, config, Date.UTC(1998, 6, 1)).transitions;
    // A score floor, so SCORE_BELOW_FLOOR and its numbers occur too.
    const synthetic = replayPopulation(syntheticEvents({ seed: 5, events: 20_000 }), parseLifecycleConfig({ score: { floor: 0.5 } }), Date.UTC(2026, 0, 1)).transitions;
    let binary = 0;
    let json = 0;
    for (const transition of [...cdnow, ...synthetic]) {
      const encoded = encodeHistoryEntry(transition);
      expect(decodeHistoryEntry(transition.customerId, encoded)).toEqual(jsonShape(transition));
      binary += encoded.length;
      json += Buffer.byteLength(JSON.stringify(jsonShape(transition)));
    }
    expect(new Set(synthetic.map((transition) => transition.reason.code)).size).toBeGreaterThanOrEqual(6);
    expect(binary / json).toBeLessThan(0.3);
  }, 30_000);

  it("keeps numbers it has no name for and values that are not whole thousandths", () => {
    const transition = replayPopulation(syntheticEvents({ seed: 1, events: 50 }), config).transitions[0]!;
    const odd = { ...transition, reason: { code: transition.reason.code, numbers: { gapDays: 1 / 3, unexpected: -2.5, big: 2 ** 50 } } };
    expect(decodeHistoryEntry(odd.customerId, encodeHistoryEntry(odd))).toEqual(jsonShape(odd));
  });

  it("still reads entries stored as JSON, and refuses damaged ones", () => {
    const transition = replayPopulation(syntheticEvents({ seed: 2, events: 50 }), config).transitions[0]!;
    const legacy = Buffer.from(JSON.stringify(jsonShape(transition)));
    expect(decodeHistoryEntry(transition.customerId, legacy)).toEqual(jsonShape(transition));
    const encoded = encodeHistoryEntry(transition);
    expect(() => decodeHistoryEntry("c", encoded.slice(0, encoded.length - 1))).toThrow(/truncated/);
    expect(() => decodeHistoryEntry("c", Uint8Array.from([...encoded, 0]))).toThrow(/trailing/);
    expect(() => decodeHistoryEntry("c", Uint8Array.from([9, ...encoded.slice(1)]))).toThrow(/unknown format/);
  });
});
