/** Lifecycle stages, in the order a healthy customer meets them. */
export const STAGES = ["prospect", "new", "active", "loyal", "at_risk", "churned", "won_back"] as const;
export type Stage = (typeof STAGES)[number];

export const RISK_LEVELS = ["none", "low", "medium", "high"] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** Tenure phases by days since the first purchase. */
export const TENURE_PHASES = ["acquisition", "activation", "growth", "loyalty"] as const;
export type TenurePhase = (typeof TENURE_PHASES)[number];

/**
 * Why a customer is in a stage: a stable machine code plus the numbers that
 * explain it (days, thresholds, scores). Codes are part of the stage-change contract.
 */
export const REASON_CODES = [
  "NO_PURCHASE",
  "FIRST_PURCHASE",
  "REPEAT_PURCHASER",
  "LOYALTY_THRESHOLDS_MET",
  "NOT_ACTIVATED",
  "PURCHASE_GAP_WARNING",
  "SCORE_BELOW_FLOOR",
  "PURCHASE_GAP_CHURN",
  "PURCHASE_AFTER_CHURN",
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface StageReason {
  code: ReasonCode;
  numbers: Readonly<Record<string, number>>;
}
