import { tenurePhase } from "./classify.ts";
import type { LifecycleConfig } from "./lifecycle-config.ts";
import { formatE4 } from "./money.ts";
import { advanceTo, nextDeadline as machineDeadline } from "./machine.ts";
import { rfmScores, type RfmBoundaries, type RfmScores } from "./rfm.ts";
import { scoreAt } from "./score.ts";
import type { RiskLevel, Stage, TenurePhase } from "./stages.ts";
import { evaluatedThrough, purchaseDays, type CustomerState } from "./state.ts";
import { churnThresholds, riskLevel } from "./thresholds.ts";
import { DAY_MS, roundDays, type EpochMs } from "./time.ts";
import { decideValue, type ActiveValueModel } from "./value/stream.ts";
import type { ValueTier } from "./value/types.ts";

/**
 * Where an answer's instant comes from: the pipeline's clock (`wall_clock` in wall mode, the
 * partition's `event_watermark` in event mode), an instant the reader asked for (`requested`), or
 * the state's own evaluated-through instant when that is later than the pipeline's clock
 * (`evaluated_through`: an event stamped ahead of the wall clock).
 */
export type AsOfClock = "wall_clock" | "event_watermark" | "requested" | "evaluated_through";

/** The instant to answer at, and where it comes from. */
export interface AsOf {
  at: EpochMs;
  clock: Exclude<AsOfClock, "evaluated_through">;
}

/** What the customer API and the CLI show: the customer at one instant, every field at that instant. */
export interface CustomerView {
  customerId: string;
  asOf: string;
  asOfClock: AsOfClock;
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
  /** Value tier and predictions at asOf under valueModelVersion; all null while no model applies. */
  valueTier: ValueTier | null;
  valueTierSince: string | null;
  valueModelVersion: string | null;
  pAlive: number | null;
  /** Expected purchase days in the next config.value.purchaseHorizonDays. */
  expectedPurchases: number | null;
  expectedSpend: number | null;
  /** Over config.value.clv.horizonMonths, in the reporting currency. */
  predictedClv: number | null;
  version: number;
}

export type CustomerAnswer = { ok: true; view: CustomerView } | { ok: false; evaluatedThrough: EpochMs };

const iso = (at: EpochMs | null) => (at === null ? null : new Date(at).toISOString());

/**
 * The customer at instant `asOf`: the deadlines that fall due between the state's
 * evaluated-through instant and `asOf` fire first (advanceTo, read only — nothing is
 * written), so stage, stageSince, risk, score, tenure phase, RFM and the next deadline all
 * describe the same instant. A requested instant before the evaluated-through one cannot be
 * answered from this state (it holds events and stage changes after it): refused. The
 * pipeline's clock can lag a state only by an event stamped ahead of it; then the answer is
 * at the state's own instant, and says so.
 */
export function viewAt(
  state: CustomerState,
  asOf: AsOf,
  config: LifecycleConfig,
  boundaries: RfmBoundaries | null,
  value: ActiveValueModel | null = null,
): CustomerAnswer {
  const through = evaluatedThrough(state);
  if (asOf.at < through && asOf.clock === "requested") return { ok: false, evaluatedThrough: through };
  const at = Math.max(asOf.at, through);
  const current = advanceTo(state, at, config, value).state;
  return { ok: true, view: describeCustomer(current, at, at === asOf.at ? asOf.clock : "evaluated_through", config, boundaries, value) };
}

/** Every field of `state` read at `at`, which is at or after its evaluated-through instant and before its next deadline. */
function describeCustomer(
  state: CustomerState,
  at: EpochMs,
  clock: AsOfClock,
  config: LifecycleConfig,
  boundaries: RfmBoundaries | null,
  value: ActiveValueModel | null,
): CustomerView {
  const thresholds = state.lastPurchaseAt === null ? null : churnThresholds(state, config);
  const deadline = machineDeadline(state, config, value);
  // advanceTo refitted the customer to the active model, so the tier and these numbers agree.
  const decision = value === null ? null : decideValue(state, Math.max(at, state.valueReviewedAt ?? at), value.model, config);
  return {
    customerId: state.customerId,
    asOf: iso(at)!,
    asOfClock: clock,
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
    valueTier: decision === null ? null : state.valueTier,
    valueTierSince: decision === null ? null : iso(state.valueTierSince),
    valueModelVersion: decision === null ? null : state.valueModelVersion,
    pAlive: decision?.prediction.pAlive ?? null,
    expectedPurchases: decision?.prediction.expectedPurchases ?? null,
    expectedSpend: decision?.prediction.expectedSpend ?? null,
    predictedClv: decision?.prediction.clv ?? null,
    version: state.version,
  };
}
