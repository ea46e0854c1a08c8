import { describe, expect, it } from "vitest";
import { formatAsOf, formatCustomerView, formatTransitions } from "./customer-text.ts";

describe("customer text", () => {
  it("lists every figure, nested ones with dotted names, nulls as -", () => {
    const text = formatCustomerView({ customerId: "42", stage: "loyal", lastPurchaseAt: null, support: { opened: 1, lastSatisfaction: null }, rfm: null });
    expect(text.split("\n")).toEqual([
      "field                     value",
      "customerId                42",
      "stage                     loyal",
      "lastPurchaseAt            -",
      "support.opened            1",
      "support.lastSatisfaction  -",
      "rfm                       -",
    ]);
  });

  it("lists stage changes oldest first", () => {
    const text = formatTransitions([
      { from: "active", to: "at_risk", reason: { code: "SCORE_BELOW_FLOOR", numbers: { score: 0.05, floor: 0.05 } }, occurredAt: "1997-02-01T10:24:23.493Z", trigger: "timer", riskLevel: "low" },
      { from: null, to: "new", reason: { code: "FIRST_PURCHASE", numbers: {} }, occurredAt: "1997-01-01T00:00:00.000Z", trigger: "event", riskLevel: "none" },
    ]);
    expect(text.split("\n")).toEqual([
      "occurred at               from    to       reason                                      trigger  risk",
      "1997-01-01T00:00:00.000Z  (none)  new      FIRST_PURCHASE                              event    none",
      "1997-02-01T10:24:23.493Z  active  at_risk  SCORE_BELOW_FLOOR (score 0.05, floor 0.05)  timer    low",
    ]);
    expect(formatTransitions([])).toMatch(/no stage changes/);
  });

  it("says which instant the answer is at and which clock gave it", () => {
    expect(formatAsOf({ asOf: "1998-07-01T00:00:00.000Z", asOfClock: "event_watermark" })).toBe("as of 1998-07-01T00:00:00.000Z (the event-time watermark of the customer's partition)");
    expect(formatAsOf({ asOf: "2024-05-01T00:00:00.000Z", asOfClock: "requested" })).toBe("as of 2024-05-01T00:00:00.000Z (as asked)");
  });
});
