import type { LifecycleConfig } from "./lifecycle-config.ts";
import { scoreAt } from "./score.ts";
import type { ReasonCode, Stage, StageReason, TenurePhase } from "./stages.ts";
import { purchaseDays, type CustomerState } from "./state.ts";
import { churnThresholds, churnThresholdsInto, type ChurnThresholds } from "./thresholds.ts";
import { DAY_MS, roundDays, type EpochMs } from "./time.ts";

export interface Classification {
  stage: Stage;
  reason: StageReason;
}

/** Each reason code belongs to exactly one stage. */
export const STAGE_OF_REASON: Readonly<Record<ReasonCode, Stage>> = {
  NO_PURCHASE: "prospect",
  FIRST_PURCHASE: "new",
  REPEAT_PURCHASER: "active",
  LOYALTY_THRESHOLDS_MET: "loyal",
  NOT_ACTIVATED: "at_risk",
  PURCHASE_GAP_WARNING: "at_risk",
  SCORE_BELOW_FLOOR: "at_risk",
  PURCHASE_GAP_CHURN: "churned",
  PURCHASE_AFTER_CHURN: "won_back",
};

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

/** Scratch thresholds for decideReason (synchronous, read before it returns): no object per call. */
const SCRATCH_THRESHOLDS: ChurnThresholds = { basis: "population", gapCount: 0, meanGapDays: null, warnAfterMs: 0, churnAfterMs: 0 };

/**
 * Which rule places the customer at instant `at` (≥ the last event). First match wins:
 *  1. never purchased                                   → prospect  NO_PURCHASE
 *  2. purchase gap ≥ churn threshold                    → churned   PURCHASE_GAP_CHURN
 *  3. purchase gap ≥ warn threshold                     → at_risk   PURCHASE_GAP_WARNING
 *  4. interaction score < floor                         → at_risk   SCORE_BELOW_FLOOR
 *  5. won back within the win-back period               → won_back  PURCHASE_AFTER_CHURN
 *  6. one purchase day, still in acquisition/activation → new       FIRST_PURCHASE
 *  7. one purchase day, activation window over          → at_risk   NOT_ACTIVATED
 *  8. loyalty tenure and value thresholds met           → loyal     LOYALTY_THRESHOLDS_MET
 *  9. otherwise (a repeat purchaser)                    → active    REPEAT_PURCHASER
 * A pure function of the state and the instant that changes only at the instants
 * nextDeadline() lists, which is what makes timers exact. Allocation-free: the
 * timer path calls it often; `classify` adds the explaining numbers.
 */
export function decideReason(
  state: CustomerState,
  at: EpochMs,
  config: LifecycleConfig,
  thresholds: ChurnThresholds | null = null,
): ReasonCode {
  if (state.firstPurchaseAt === null || state.lastPurchaseAt === null) return "NO_PURCHASE";
  const limits = thresholds ?? churnThresholdsInto(state, config, SCRATCH_THRESHOLDS);
  const gapMs = at - state.lastPurchaseAt;
  if (gapMs >= limits.churnAfterMs) return "PURCHASE_GAP_CHURN";
  if (gapMs >= limits.warnAfterMs) return "PURCHASE_GAP_WARNING";
  if (config.score.floor > 0 && scoreAt(state.score, at, config.score.halfLifeDays * DAY_MS) < config.score.floor) return "SCORE_BELOW_FLOOR";
  if (state.wonBackAt !== null && at < state.wonBackAt + config.wonBack.periodDays * DAY_MS) return "PURCHASE_AFTER_CHURN";
  const tenure = Math.floor((at - state.firstPurchaseAt) / DAY_MS);
  const days = purchaseDays(state);
  if (days <= 1) return tenure < config.tenurePhases.growthFromDay ? "FIRST_PURCHASE" : "NOT_ACTIVATED";
  const loyal = config.loyal;
  if (loyal.enabled && tenure >= config.tenurePhases.loyaltyFromDay && days >= loyal.minPurchaseDays && state.monetaryE4 >= loyal.minMonetary) {
    return "LOYALTY_THRESHOLDS_MET";
  }
  return "REPEAT_PURCHASER";
}

/** The stage at instant `at` and the numbers that explain it. */
export function classify(state: CustomerState, at: EpochMs, config: LifecycleConfig): Classification {
  const code = decideReason(state, at, config);
  return { stage: STAGE_OF_REASON[code], reason: { code, numbers: explain(code, state, at, config) } };
}

function explain(code: ReasonCode, state: CustomerState, at: EpochMs, config: LifecycleConfig): Record<string, number> {
  const tenure = state.firstPurchaseAt === null ? 0 : Math.floor((at - state.firstPurchaseAt) / DAY_MS);
  switch (code) {
    case "NO_PURCHASE":
      return {};
    case "PURCHASE_GAP_CHURN":
    case "PURCHASE_GAP_WARNING": {
      const thresholds = churnThresholds(state, config);
      const numbers: Record<string, number> = {
        gapDays: roundDays((at - state.lastPurchaseAt!) / DAY_MS),
        warnAfterDays: roundDays(thresholds.warnAfterMs / DAY_MS),
        churnAfterDays: roundDays(thresholds.churnAfterMs / DAY_MS),
        personalThresholds: thresholds.basis === "personal" ? 1 : 0,
      };
      if (thresholds.meanGapDays !== null) numbers.meanGapDays = roundDays(thresholds.meanGapDays);
      return numbers;
    }
    case "SCORE_BELOW_FLOOR":
      return {
        score: Math.round(scoreAt(state.score, at, config.score.halfLifeDays * DAY_MS) * 1e6) / 1e6,
        floor: config.score.floor,
      };
    case "PURCHASE_AFTER_CHURN":
      return { daysSinceWinBack: roundDays((at - state.wonBackAt!) / DAY_MS), wonBackPeriodDays: config.wonBack.periodDays };
    case "FIRST_PURCHASE":
    case "NOT_ACTIVATED":
      return { tenureDays: tenure, activationEndsDay: config.tenurePhases.growthFromDay };
    case "LOYALTY_THRESHOLDS_MET":
      return { tenureDays: tenure, purchaseDays: purchaseDays(state), monetary: state.monetaryE4 / 10_000 };
    case "REPEAT_PURCHASER":
      return { purchaseDays: purchaseDays(state), tenureDays: tenure };
  }
}
