import type { RiskChange, RiskLevel, Stage } from "@clm/core";

/** The Avro record form of a risk change (schemas/risk-change.avsc). */
export interface RiskChangeRecord {
  changeId: string;
  customerId: string;
  version: number;
  fromLevel: RiskLevel;
  toLevel: RiskLevel;
  stage: Stage;
  reasonCode: string;
  reasonNumbers: Record<string, number>;
  occurredAt: number;
  trigger: "event" | "timer";
  eventId: string | null;
  lastPurchaseAt: number | null;
}

export function riskChangeToRecord(change: RiskChange): RiskChangeRecord {
  return {
    changeId: change.changeId,
    customerId: change.customerId,
    version: change.version,
    fromLevel: change.from,
    toLevel: change.to,
    stage: change.stage,
    reasonCode: change.reason.code,
    reasonNumbers: { ...change.reason.numbers },
    occurredAt: change.occurredAt,
    trigger: change.trigger,
    eventId: change.eventId,
    lastPurchaseAt: change.lastPurchaseAt,
  };
}
