import { tenurePhase } from "./classify.ts";
import type { LifecycleConfig } from "./lifecycle-config.ts";
import { formatE4 } from "./money.ts";
import { nextDeadline as machineDeadline } from "./machine.ts";
import { rfmScores, type RfmBoundaries, type RfmScores } from "./rfm.ts";
import { scoreAt } from "./score.ts";
import type { RiskLevel, Stage, TenurePhase } from "./stages.ts";
import { purchaseDays, type CustomerState } from "./state.ts";
import { churnThresholds, riskLevel } from "./thresholds.ts";
import { DAY_MS, roundDays, type EpochMs } from "./time.ts";

/** What the customer API and the CLI show: the state read at one instant. */
export interface CustomerView {
  customerId: string;
  stage: Stage;
  stageSince: string;
  tenurePhase: TenurePhase | null;
  firstSeenAt: string;
  firstPurchaseAt: string | null;
  lastPurchaseAt: string | null;
  lastEventAt: string;
  purchaseCount: number;
  purchaseDays: number;
  monetaryTotal: string;
  logins: number;
  support: { opened: number; resolved: number; escalated: number; lastSatisfaction: number | null };
  interactionScore: number;
  meanPurchaseGapDays: number | null;
  churnRisk: RiskLevel;
  thresholds: { basis: "personal" | "population"; warnAfterDays: number; churnAfterDays: number } | null;
  rfm: RfmScores | null;
  nextDeadline: string | null;
  version: number;
}

const iso = (at: EpochMs | null) => (at === null ? null : new Date(at).toISOString());

export function describeCustomer(
  state: CustomerState,
  at: EpochMs,
  config: LifecycleConfig,
  boundaries: RfmBoundaries | null,
): CustomerView {
  const thresholds = state.lastPurchaseAt === null ? null : churnThresholds(state, config);
  const deadline = machineDeadline(state, config);
  return {
    customerId: state.customerId,
    stage: state.stage,
    stageSince: iso(state.stageSince)!,
    tenurePhase: tenurePhase(state, at, config),
    firstSeenAt: iso(state.firstSeenAt)!,
    firstPurchaseAt: iso(state.firstPurchaseAt),
    lastPurchaseAt: iso(state.lastPurchaseAt),
    lastEventAt: iso(state.lastEventAt)!,
    purchaseCount: state.purchaseCount,
    purchaseDays: purchaseDays(state),
    monetaryTotal: formatE4(state.monetaryE4),
    logins: state.logins,
    support: {
      opened: state.supportOpened,
      resolved: state.supportResolved,
      escalated: state.supportEscalated,
      lastSatisfaction: state.lastSatisfaction,
    },
    interactionScore: Math.round(scoreAt(state.score, at, config.score.halfLifeDays * DAY_MS) * 1e6) / 1e6,
    meanPurchaseGapDays: thresholds?.meanGapDays == null ? null : roundDays(thresholds.meanGapDays),
    churnRisk: riskLevel(state, at, config),
    thresholds:
      thresholds === null
        ? null
        : {
            basis: thresholds.basis,
            warnAfterDays: roundDays(thresholds.warnAfterMs / DAY_MS),
            churnAfterDays: roundDays(thresholds.churnAfterMs / DAY_MS),
          },
    rfm: boundaries === null ? null : rfmScores(state, at, boundaries),
    nextDeadline: iso(deadline),
    version: state.version,
  };
}
