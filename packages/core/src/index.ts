// The lifecycle core: pure functions (state, event, config) → (state, effects).
// No I/O and no clock: time is always an argument.
export * from "./time.ts";
export * from "./money.ts";
export * from "./stages.ts";
export * from "./contract.ts";
export * from "./future-events.ts";
export { parseIsoInstant, type ParsedInstant } from "./instant.ts";
export { idTextProblem } from "./id-text.ts";
export * from "./lifecycle-config.ts";
export type { CustomerState } from "./state.ts";
export { purchaseDays, evaluatedThrough } from "./state.ts";
export { scoreAt, type DecayedScore } from "./score.ts";
export { churnThresholds, riskLevel, riskMarksMs, type ChurnThresholds, type RiskMarks } from "./thresholds.ts";
export { nextRiskCrossing, RISK_REASON_CODES, type RiskChange, type RiskReason, type RiskReasonCode } from "./risk.ts";
export { classify, decideReason, STAGE_OF_REASON, tenureDays, tenurePhase, type Classification } from "./classify.ts";
export { applyEvent, advanceTo, nextDeadline, refitCustomer, type Effect, type Step, type StageTransition, type CustomerSnapshot, type ValueSnapshot } from "./machine.ts";
export * from "./rfm.ts";
export { viewAt, type AsOf, type AsOfClock, type CustomerAnswer, type CustomerView } from "./view.ts";
export { replayPopulation, stageDistribution, type PopulationReplay } from "./population.ts";
export { encodeState, decodeState } from "./state-codec.ts";
export { foldPartitionBatch, isAudiencesActivation, isClockAdvance, isValueModelActivation, sweepHorizon, type AudiencesRecord, type ValueModelRecord, type BatchRecord, type BatchResult, type ClockAdvanceRecord, type PartitionClock, type PartitionRecord } from "./partition-fold.ts";
export { decodeHistoryEntry, encodeHistoryEntry, type HistoryEntry } from "./history-codec.ts";
export * from "./value/index.ts";
export * from "./audiences/definition.ts";
export {
  audienceMemberships,
  audienceRefitAt,
  audienceRefitInstant,
  currentAudienceSet,
  needsAudienceRefit,
  nextAudienceSet,
  nextAudienceReview,
  type AudienceChange,
  type AudienceTrigger,
} from "./audiences/membership.ts";
