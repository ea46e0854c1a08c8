import { DEFAULT_LIFECYCLE_CONFIG, replayPopulation, RISK_LEVELS, STAGES, type CustomerEvent } from "@clm/core";
import { describe, expect, it } from "vitest";
import { riskChangeToRecord } from "./risk-change-avro.ts";
import { RISK_CHANGE_SCHEMA_TEXT, riskChangeType } from "./schemas.ts";

const STRICT = { noUndeclaredFields: true };
const DAY = 86_400_000;

/** Risk changes of every trigger: a cadence that lapses (timers) and a purchase after a long gap (event). */
function riskChanges() {
  const events: CustomerEvent[] = [0, 10, 20, 140, 150, 400].map((day, index) => ({
    eventId: `r${index}`,
    customerId: index < 3 ? "a" : "b",
    occurredAt: Date.UTC(2024, 0, 1) + day * DAY,
    type: index === 5 ? "login" : "purchase",
    properties: index === 5 ? { channel: null } : { orderId: `o${index}`, amountE4: 250_000, currency: "USD", quantity: null },
  })) as CustomerEvent[];
  return replayPopulation(events, DEFAULT_LIFECYCLE_CONFIG, Date.UTC(2026, 0, 1)).riskChanges;
}

describe("risk-change wire form", () => {
  it("every risk change the core emits encodes and decodes unchanged", () => {
    const changes = riskChanges();
    expect(changes.length).toBeGreaterThan(0);
    expect(new Set(changes.map((change) => change.trigger))).toContain("timer");
    for (const change of changes) {
      const record = riskChangeToRecord(change);
      expect(riskChangeType.isValid(record, STRICT)).toBe(true);
      expect(riskChangeType.fromBuffer(riskChangeType.toBuffer(record))).toEqual(record);
    }
  });

  it("the levels, stages and triggers are the core's, symbol for symbol", () => {
    const schema = JSON.parse(RISK_CHANGE_SCHEMA_TEXT) as { name: string; namespace: string; fields: { name: string; type: unknown }[] };
    expect(`${schema.namespace}.${schema.name}`).toBe("clm.v1.RiskChange");
    const symbols = (name: string) => (schema.fields.find((field) => field.name === name)!.type as { symbols: string[] }).symbols;
    expect(symbols("fromLevel")).toEqual([...RISK_LEVELS]);
    expect(symbols("stage")).toEqual([...STAGES]);
    expect(symbols("trigger")).toEqual(["event", "timer"]);
  });
});
