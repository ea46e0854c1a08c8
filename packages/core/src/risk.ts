import type { LifecycleConfig } from "./lifecycle-config.ts";
import { RISK_LEVELS, type RiskLevel, type Stage } from "./stages.ts";
import { copyState, evaluatedThrough, type CustomerState, type MutableState } from "./state.ts";
import { churnThresholdsInto, riskLevel, riskMarksMs, type ChurnThresholds, type RiskMarks } from "./thresholds.ts";
import { DAY_MS, type EpochMs } from "./time.ts";

/**
 * Churn-risk levels as signals. The level is a function of the purchase gap and the customer's
 * thresholds, so without an event it only rises, and it rises at closed-form instants: the last
 * purchase + ⌈mark⌉ for each mark of riskMarksMs. The state keeps the level at evaluatedThrough,
 * so a change is detected exactly, and the next crossing is a deadline like a stage deadline.
 *
 * A change of level that comes with a change of stage is not its own signal: the stage change
 * carries the level. A risk change is published only while the stage stays the same.
 */

/** Why the level is what it is: which mark the purchase gap has reached. */
export const RISK_REASON_CODES = ["GAP_BELOW_LOW", "GAP_AT_LOW", "GAP_AT_WARN", "GAP_AT_HIGH"] as const;
export type RiskReasonCode = (typeof RISK_REASON_CODES)[number];

const REASON_OF_LEVEL: Record<RiskLevel, RiskReasonCode> = { none: "GAP_BELOW_LOW", low: "GAP_AT_LOW", medium: "GAP_AT_WARN", high: "GAP_AT_HIGH" };

export interface RiskReason {
  code: RiskReasonCode;
  /** gapDays, lowAfterDays, warnAfterDays, highAfterDays, churnAfterDays, meanGapDays (when known), personalThresholds (0/1). */
  numbers: Readonly<Record<string, number>>;
}

/** One change of a customer's churn-risk level within a stage, as published to the risk-change topic. */
export interface RiskChange {
  /** `${customerId}:${version}`: deterministic, shared with stage and tier changes' version sequence. */
  changeId: string;
  customerId: string;
  version: number;
  from: RiskLevel;
  to: RiskLevel;
  /** The stage the customer stays in. */
  stage: Stage;
  reason: RiskReason;
  /** The event's time (or the evaluated-through instant for a late event), or the crossing a timer fired for. */
  occurredAt: EpochMs;
  trigger: "event" | "timer";
  eventId: string | null;
  lastPurchaseAt: EpochMs | null;
}

const rank = (level: RiskLevel) => RISK_LEVELS.indexOf(level);

/** Scratch (synchronous, read before the next call). */
const THRESHOLDS: ChurnThresholds = { basis: "population", gapCount: 0, meanGapDays: null, warnAfterMs: 0, churnAfterMs: 0 };
const MARKS: RiskMarks = { low: 0, medium: 0, high: 0 };

/** The stored level, or for a state from before format v5 the level at its evaluated-through instant. */
export function storedRiskLevel(state: CustomerState, config: LifecycleConfig): RiskLevel {
  return state.riskLevel ?? riskLevel(state, evaluatedThrough(state), config);
}

/**
 * A state whose risk level is decided: itself, or for a state from before format v5 a copy with
 * the level at its evaluated-through instant (what a rebuild from the topic gives there).
 */
export function withKnownRisk(state: CustomerState, config: LifecycleConfig): CustomerState {
  if (state.riskLevel !== null) return state;
  const next = copyState(state);
  next.riskLevel = riskLevel(state, evaluatedThrough(state), config);
  next.riskSince = evaluatedThrough(state);
  return next;
}

/**
 * The first instant after evaluatedThrough(state) at which the risk level rises, or null (no
 * purchase, or already high). The level at evaluatedThrough is the stored one and only rises
 * without events, so the next change is the first mark above it that lies ahead.
 */
export function nextRiskCrossing(state: CustomerState, config: LifecycleConfig): EpochMs | null {
  if (state.lastPurchaseAt === null) return null;
  const stored = rank(storedRiskLevel(state, config));
  if (stored >= RISK_LEVELS.length - 1) return null;
  const marks = riskMarksMs(churnThresholdsInto(state, config, THRESHOLDS), config, MARKS);
  const after = evaluatedThrough(state);
  const ahead = [marks.low, marks.medium, marks.high];
  for (let level = stored + 1; level < RISK_LEVELS.length; level++) {
    const at = state.lastPurchaseAt + Math.ceil(ahead[level - 1]!);
    if (at > after) return at;
  }
  return null;
}

/**
 * Re-decides the level at `at` into `state` (a fresh copy the caller owns). With `publish` false
 * (a stage change at the same instant carries the level) it only records it; otherwise a new
 * level bumps the version and returns the change.
 */
export function reviewRisk(
  state: MutableState,
  at: EpochMs,
  config: LifecycleConfig,
  publish: boolean,
  trigger: "event" | "timer",
  eventId: string | null,
): RiskChange | null {
  const from = storedRiskLevel(state, config);
  const to = riskLevel(state, at, config);
  if (state.riskLevel === null) state.riskSince = at;
  state.riskLevel = to;
  if (from === to) return null;
  state.riskSince = at;
  if (!publish) return null;
  state.version += 1;
  return {
    changeId: `${state.customerId}:${state.version}`,
    customerId: state.customerId,
    version: state.version,
    from,
    to,
    stage: state.stage,
    reason: riskReason(state, at, to, config),
    occurredAt: at,
    trigger,
    eventId,
    lastPurchaseAt: state.lastPurchaseAt,
  };
}

function riskReason(state: CustomerState, at: EpochMs, level: RiskLevel, config: LifecycleConfig): RiskReason {
  const thresholds = churnThresholdsInto(state, config, THRESHOLDS);
  const marks = riskMarksMs(thresholds, config, MARKS);
  const numbers: Record<string, number> = {
    gapDays: state.lastPurchaseAt === null ? 0 : (at - state.lastPurchaseAt) / DAY_MS,
    lowAfterDays: marks.low / DAY_MS,
    warnAfterDays: marks.medium / DAY_MS,
    highAfterDays: marks.high / DAY_MS,
    churnAfterDays: thresholds.churnAfterMs / DAY_MS,
    personalThresholds: thresholds.basis === "personal" ? 1 : 0,
  };
  if (thresholds.meanGapDays !== null) numbers.meanGapDays = thresholds.meanGapDays;
  return { code: REASON_OF_LEVEL[level], numbers };
}
