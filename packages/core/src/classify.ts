import type { LifecycleConfig } from "./lifecycle-config.ts";
import { scoreAt } from "./score.ts";
import type { Stage, StageReason, TenurePhase } from "./stages.ts";
import { purchaseDays, type CustomerState } from "./state.ts";
import { churnThresholds } from "./thresholds.ts";
import { DAY_MS, roundDays, type EpochMs } from "./time.ts";

export interface Classification {
  stage: Stage;
  reason: StageReason;
}

/** Whole days since the first purchase, or null for a prospect. */
export function tenureDays(state: CustomerState, at: EpochMs): number | null {
  return state.firstPurchaseAt === null ? null : Math.floor((at - state.firstPurchaseAt) / DAY_MS);
}

export function tenurePhase(state: CustomerState, at: EpochMs, config: LifecycleConfig): TenurePhase | null {
  const days = tenureDays(state, at);
  if (days === null) return null;
  const phases = config.tenurePhases;
  if (days >= phases.loyaltyFromDay) return "loyalty";
  if (days >= phases.growthFromDay) return "growth";
  if (days >= phases.activationFromDay) return "activation";
  return "acquisition";
}

/**
 * The stage a customer's aggregates call for at instant `at` (≥ the last event).
 * Rules, first match wins:
 *  1. never purchased                                   → prospect  NO_PURCHASE
 *  2. purchase gap ≥ churn threshold                    → churned   PURCHASE_GAP_CHURN
 *  3. purchase gap ≥ warn threshold                     → at_risk   PURCHASE_GAP_WARNING
 *  4. interaction score < floor                         → at_risk   SCORE_BELOW_FLOOR
 *  5. won back within the win-back period               → won_back  PURCHASE_AFTER_CHURN
 *  6. one purchase day, still in acquisition/activation → new       FIRST_PURCHASE
 *  7. one purchase day, activation window over          → at_risk   NOT_ACTIVATED
 *  8. loyalty tenure and value thresholds met           → loyal     LOYALTY_THRESHOLDS_MET
 *  9. otherwise (a repeat purchaser)                    → active    REPEAT_PURCHASER
 * It is a pure function of the state and the instant; it changes only at the
 * instants nextDeadline() lists, which is what makes timers exact.
 */
export function classify(state: CustomerState, at: EpochMs, config: LifecycleConfig): Classification {
  if (state.firstPurchaseAt === null || state.lastPurchaseAt === null) {
    return { stage: "prospect", reason: { code: "NO_PURCHASE", numbers: {} } };
  }
  const thresholds = churnThresholds(state, config);
  const gapMs = at - state.lastPurchaseAt;
  const gapNumbers = {
    gapDays: roundDays(gapMs / DAY_MS),
    warnAfterDays: roundDays(thresholds.warnAfterMs / DAY_MS),
    churnAfterDays: roundDays(thresholds.churnAfterMs / DAY_MS),
    ...(thresholds.meanGapDays === null ? {} : { meanGapDays: roundDays(thresholds.meanGapDays) }),
    personalThresholds: thresholds.basis === "personal" ? 1 : 0,
  };
  if (gapMs >= thresholds.churnAfterMs) return { stage: "churned", reason: { code: "PURCHASE_GAP_CHURN", numbers: gapNumbers } };
  if (gapMs >= thresholds.warnAfterMs) return { stage: "at_risk", reason: { code: "PURCHASE_GAP_WARNING", numbers: gapNumbers } };

  const floor = config.score.floor;
  if (floor > 0) {
    const score = scoreAt(state.score, at, config.score.halfLifeDays * DAY_MS);
    if (score < floor) {
      return { stage: "at_risk", reason: { code: "SCORE_BELOW_FLOOR", numbers: { score: roundScore(score), floor } } };
    }
  }
  if (state.wonBackAt !== null && at < state.wonBackAt + config.wonBack.periodDays * DAY_MS) {
    return {
      stage: "won_back",
      reason: { code: "PURCHASE_AFTER_CHURN", numbers: { daysSinceWinBack: roundDays((at - state.wonBackAt) / DAY_MS), wonBackPeriodDays: config.wonBack.periodDays } },
    };
  }
  const tenure = Math.floor((at - state.firstPurchaseAt) / DAY_MS);
  const days = purchaseDays(state);
  if (days <= 1) {
    const numbers = { tenureDays: tenure, activationEndsDay: config.tenurePhases.growthFromDay };
    if (tenure < config.tenurePhases.growthFromDay) return { stage: "new", reason: { code: "FIRST_PURCHASE", numbers } };
    return { stage: "at_risk", reason: { code: "NOT_ACTIVATED", numbers } };
  }
  const loyal = config.loyal;
  if (
    loyal.enabled &&
    tenure >= config.tenurePhases.loyaltyFromDay &&
    days >= loyal.minPurchaseDays &&
    state.monetaryE4 >= loyal.minMonetary
  ) {
    return {
      stage: "loyal",
      reason: { code: "LOYALTY_THRESHOLDS_MET", numbers: { tenureDays: tenure, purchaseDays: days, monetary: state.monetaryE4 / 10_000 } },
    };
  }
  return { stage: "active", reason: { code: "REPEAT_PURCHASER", numbers: { purchaseDays: days, tenureDays: tenure } } };
}

function roundScore(score: number): number {
  return Math.round(score * 1e6) / 1e6;
}
