import type { RfmScores, Stage, StageTransition, ValueTier } from "@clm/core";

/** The Avro record form of a stage change (schemas/stage-change.avsc). */
export interface StageChangeRecord {
  transitionId: string;
  customerId: string;
  version: number;
  fromStage: Stage | null;
  toStage: Stage;
  reasonCode: string;
  reasonNumbers: Record<string, number>;
  occurredAt: number;
  trigger: "event" | "timer";
  eventId: string | null;
  riskLevel: "none" | "low" | "medium" | "high";
  snapshot: {
    purchaseCount: number;
    purchaseDays: number;
    monetaryTotal: number;
    firstPurchaseAt: number | null;
    lastPurchaseAt: number | null;
    interactionScore: number;
    tenureDays: number | null;
    /** A nullable union of one record is not wrapped (wrapUnions "auto"). */
    rfm: { recency: number; frequency: number; monetary: number; segment: string } | null;
    /** Absent in records of writers before the value model (read as null). */
    value?: { tier: ValueTier; modelVersion: string; pAlive: number; expectedPurchases: number; expectedSpend: number; predictedClv: number } | null;
  };
}

export function stageChangeToRecord(transition: StageTransition, rfm: RfmScores | null = null): StageChangeRecord {
  const { snapshot } = transition;
  return {
    transitionId: transition.transitionId,
    customerId: transition.customerId,
    version: transition.version,
    fromStage: transition.from,
    toStage: transition.to,
    reasonCode: transition.reason.code,
    reasonNumbers: { ...transition.reason.numbers },
    occurredAt: transition.occurredAt,
    trigger: transition.trigger,
    eventId: transition.eventId,
    riskLevel: transition.riskLevel,
    snapshot: {
      purchaseCount: snapshot.purchaseCount,
      purchaseDays: snapshot.purchaseDays,
      monetaryTotal: snapshot.monetaryE4,
      firstPurchaseAt: snapshot.firstPurchaseAt,
      lastPurchaseAt: snapshot.lastPurchaseAt,
      interactionScore: snapshot.interactionScore,
      tenureDays: snapshot.tenureDays,
      rfm: rfm === null ? null : { recency: rfm.recency, frequency: rfm.frequency, monetary: rfm.monetary, segment: rfm.segment },
      value: snapshot.value === null ? null : { ...snapshot.value },
    },
  };
}
