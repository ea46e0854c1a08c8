import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { audienceChangeSignal, riskChangeSignal, SIGNAL_KINDS, signalBody, stageChangeSignal, valueTierChangeSignal } from "./signals.ts";

/** docs/marketing/webhook-payload.schema.json: the published payload contract. */
const schema = JSON.parse(readFileSync(new URL("../../../docs/marketing/webhook-payload.schema.json", import.meta.url), "utf8")) as {
  $defs: Record<string, { required: string[]; properties: Record<string, { required?: string[]; enum?: string[] }> }>;
};

const stage = stageChangeSignal({
  transitionId: "c1:3", customerId: "c1", version: 3, fromStage: "new", toStage: "active", reasonCode: "SECOND_PURCHASE_DAY", reasonNumbers: { gapDays: 12 },
  occurredAt: Date.UTC(1997, 2, 1), trigger: "event", eventId: "e9", riskLevel: "none",
  snapshot: { purchaseCount: 2, purchaseDays: 2, monetaryTotal: 1_234_567, firstPurchaseAt: Date.UTC(1997, 1, 1), lastPurchaseAt: Date.UTC(1997, 2, 1), interactionScore: 1.5, tenureDays: 28, rfm: null },
});
const tier = valueTierChangeSignal({
  changeId: "c1:4", customerId: "c1", version: 4, fromTier: null, toTier: "potential", reasonCode: "CLV_AT_POTENTIAL_CUT", reasonNumbers: { clv: 61.5 },
  occurredAt: Date.UTC(1997, 2, 2), trigger: "refit", eventId: null, modelVersion: "m-1", pAlive: 0.8, expectedPurchases: 1.2, expectedSpend: 30, predictedClv: 61.5, monetaryTotal: -5,
});

const risk = riskChangeSignal({
  changeId: "c1:5", customerId: "c1", version: 5, fromLevel: "none", toLevel: "low", stage: "active", reasonCode: "GAP_AT_LOW", reasonNumbers: { gapDays: 45 },
  occurredAt: Date.UTC(1997, 3, 15), trigger: "timer", eventId: null, lastPurchaseAt: Date.UTC(1997, 2, 1),
});
const audience = audienceChangeSignal({
  changeId: "c1:6", customerId: "c1", version: 6, audienceId: "vip", audienceVersion: 2, definitionsVersion: "d-3", change: "left", occurredAt: Date.UTC(1997, 3, 16), trigger: "timer", eventId: null,
});

describe("signal payloads", () => {
  it("risk and audience changes carry the fields the JSON Schema requires; audience signals name their audience", () => {
    expect(Object.keys(risk.data).sort()).toEqual([...schema.$defs.riskChanged!.required].sort());
    expect(Object.keys(audience.data).sort()).toEqual([...schema.$defs.audienceChanged!.required].sort());
    expect(risk).toMatchObject({ id: "c1:5", type: "risk.changed", data: { lastPurchaseAt: "1997-03-01T00:00:00.000Z" } });
    expect(audience).toMatchObject({ id: "c1:6", type: "audience.left", audienceId: "vip" });
  });

  it("carry the signal's id, type, event time and data as the JSON Schema describes", () => {
    const body = JSON.parse(signalBody(stage)) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([...schema.$defs.signal!.required].sort());
    expect(body).toMatchObject({ id: "c1:3", type: "stage.changed", timestamp: "1997-03-01T00:00:00.000Z" });
    expect(Object.keys(stage.data).sort()).toEqual([...schema.$defs.stageChanged!.required].sort());
    expect(Object.keys(stage.data.snapshot as object).sort()).toEqual([...schema.$defs.stageChanged!.properties.snapshot!.required!].sort());
    expect(Object.keys(tier.data).sort()).toEqual([...schema.$defs.tierChanged!.required].sort());
    expect((stage.data.snapshot as { monetaryTotal: string }).monetaryTotal).toBe("123.4567");
    expect(tier.data.monetaryTotal).toBe("-0.0005");
    expect(stage.data.snapshot).toMatchObject({ value: null, firstPurchaseAt: "1997-02-01T00:00:00.000Z" });
  });

  it("one kind per topic, and the schema lists every type the kinds produce", () => {
    expect(SIGNAL_KINDS.map((kind) => kind.topic({ TOPIC_STAGE_CHANGES: "s", TOPIC_VALUE_TIER_CHANGES: "t", TOPIC_RISK_CHANGES: "r", TOPIC_AUDIENCE_CHANGES: "a" }))).toEqual(["s", "t", "r", "a"]);
    expect(SIGNAL_KINDS.map((kind) => kind.recordName)).toEqual(["clm.v1.StageChange", "clm.v1.ValueTierChange", "clm.v1.RiskChange", "clm.v1.AudienceChange"]);
    expect(schema.$defs.signal!.properties.type!.enum).toEqual(SIGNAL_KINDS.flatMap((kind) => kind.types));
  });
});
