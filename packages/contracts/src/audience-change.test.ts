import { DEFAULT_LIFECYCLE_CONFIG, replayPopulation, type ActiveAudiences, type CustomerEvent } from "@clm/core";
import { describe, expect, it } from "vitest";
import { audienceChangeToRecord } from "./audience-change-avro.ts";
import { AUDIENCE_CHANGE_SCHEMA_TEXT, audienceChangeType } from "./schemas.ts";

const STRICT = { noUndeclaredFields: true };
const DAY = 86_400_000;

/** Entered and left by event and timer: buyers, and buyers quiet for 60 days. */
function audienceChanges() {
  const audiences: ActiveAudiences = {
    definitions: {
      version: "d-1",
      audiences: [
        { id: "buyers", version: 2, name: "Buyers", filter: { purchaseCount: { min: 1 } } },
        { id: "quiet", version: 1, name: "Quiet", filter: { daysSinceLastPurchase: { min: 60 } } },
      ],
      rfm: null,
    },
    activatedAt: 0,
  };
  const events: CustomerEvent[] = [0, 10, 100].map((day, index) => ({
    eventId: `a${index}`,
    customerId: "c",
    occurredAt: Date.UTC(2024, 0, 1) + day * DAY,
    type: "purchase",
    properties: { orderId: `o${index}`, amountE4: 250_000, currency: "USD", quantity: null },
  }));
  return replayPopulation(events, DEFAULT_LIFECYCLE_CONFIG, Date.UTC(2026, 0, 1), null, audiences).audienceChanges;
}

describe("audience-change wire form", () => {
  it("every audience change the core emits encodes and decodes unchanged", () => {
    const changes = audienceChanges();
    expect(new Set(changes.map((change) => `${change.change}:${change.trigger}`))).toEqual(new Set(["entered:event", "entered:timer", "left:event"]));
    for (const change of changes) {
      const record = audienceChangeToRecord(change);
      expect(audienceChangeType.isValid(record, STRICT)).toBe(true);
      expect(audienceChangeType.fromBuffer(audienceChangeType.toBuffer(record))).toEqual(record);
    }
  });

  it("the record name and the kinds and triggers are the core's", () => {
    const schema = JSON.parse(AUDIENCE_CHANGE_SCHEMA_TEXT) as { name: string; namespace: string; fields: { name: string; type: unknown }[] };
    expect(`${schema.namespace}.${schema.name}`).toBe("clm.v1.AudienceChange");
    const symbols = (name: string) => (schema.fields.find((field) => field.name === name)!.type as { symbols: string[] }).symbols;
    expect(symbols("change")).toEqual(["entered", "left"]);
    expect(symbols("trigger")).toEqual(["event", "timer", "definition"]);
  });
});
