import type { ValueTier, ValueTierChange, ValueTrigger } from "@clm/core";

/** The Avro record form of a value-tier change (schemas/value-tier-change.avsc). */
export interface ValueTierChangeRecord {
  changeId: string;
  customerId: string;
  version: number;
  fromTier: ValueTier | null;
  toTier: ValueTier;
  reasonCode: string;
  reasonNumbers: Record<string, number>;
  occurredAt: number;
  trigger: ValueTrigger;
  eventId: string | null;
  modelVersion: string;
  pAlive: number;
  expectedPurchases: number;
  expectedSpend: number;
  predictedClv: number;
  /** E4 units (the decimal logical type's representation). */
  monetaryTotal: number;
}

export function valueTierChangeToRecord(change: ValueTierChange): ValueTierChangeRecord {
  return {
    changeId: change.changeId,
    customerId: change.customerId,
    version: change.version,
    fromTier: change.from,
    toTier: change.to,
    reasonCode: change.reason,
    reasonNumbers: { ...change.reasonNumbers },
    occurredAt: change.occurredAt,
    trigger: change.trigger,
    eventId: change.eventId,
    modelVersion: change.modelVersion,
    pAlive: change.prediction.pAlive,
    expectedPurchases: change.prediction.expectedPurchases,
    expectedSpend: change.prediction.expectedSpend,
    predictedClv: change.prediction.clv,
    monetaryTotal: change.monetaryE4,
  };
}
