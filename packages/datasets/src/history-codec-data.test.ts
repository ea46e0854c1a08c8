import { createInputEventSchema, decodeHistoryEntry, DEFAULT_LIFECYCLE_CONFIG as config, encodeHistoryEntry, parseInputEvent, parseLifecycleConfig, replayPopulation, type HistoryEntry, type StageTransition } from "@clm/core";
import { describe, expect, it } from "vitest";
import { CDNOW_SAMPLE_PATH, readCdnowFile } from "./cdnow.ts";
import { syntheticEvents } from "./synthetic.ts";

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

describe("history entry codec on real and synthetic populations", () => {
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
});
