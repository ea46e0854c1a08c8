import type { LifecycleConfig } from "../lifecycle-config.ts";
import { MONEY_SCALE } from "../money.ts";
import { purchaseDays, type CustomerState, type MutableState } from "../state.ts";
import { DAY_MS, MINUTE_MS, utcDay, type EpochMs } from "../time.ts";
import { bgnbdPAlive, pAliveCrossingT } from "./bgnbd.ts";
import { clvFallsBelowT, predictValue } from "./clv.ts";
import { valueUnitDays } from "./summaries.ts";
import { REASON_OF_TIER, valueTierOf, type ValueTierReason } from "./tier.ts";
import type { ValueModel, ValuePrediction, ValueSummary, ValueTier, ValueUnit } from "./types.ts";

/**
 * The value model in the stream: per customer, at an instant, the BG/NBD and Gamma-Gamma
 * predictions and the value tier, and the next instant the tier changes if nothing happens.
 * Between purchases x, tx and the mean spend are fixed and only T grows, so P(alive) and CLV
 * only fall: the next change is a crossing of P(alive) (closed form) or of a CLV cut
 * (a deterministic search), and it fires as a timer.
 */

/** The model a partition applies, and the instant it was activated there (a refit is stamped no earlier). */
export interface ActiveValueModel {
  readonly model: ValueModel;
  readonly activatedAt: EpochMs;
}

export type ValueTrigger = "event" | "timer" | "refit";

/** One value-tier change, as published for marketing. */
export interface ValueTierChange {
  /** `${customerId}:${version}`: deterministic, shared with stage changes' version sequence. */
  changeId: string;
  customerId: string;
  version: number;
  from: ValueTier | null;
  to: ValueTier;
  reason: ValueTierReason;
  occurredAt: EpochMs;
  trigger: ValueTrigger;
  eventId: string | null;
  modelVersion: string;
  prediction: ValuePrediction;
  monetaryE4: number;
  /** The numbers behind the decision (inputs, cuts, thresholds). */
  reasonNumbers: Record<string, number>;
}

export function unitMs(unit: ValueUnit): number {
  return valueUnitDays(unit) * DAY_MS;
}

/**
 * The model's inputs at `at`: x repeat purchase days, tx first to last purchase day and T
 * first purchase day (its start, 00:00 UTC) to `at`, in units; the mean spend of the repeat
 * days. Null before any purchase. A state from before format v4 has no first-day spend: its
 * mean is then the mean over all purchase days (a rebuild makes it exact).
 */
export function valueSummaryAt(state: CustomerState, at: EpochMs, unit: ValueUnit): ValueSummary | null {
  if (state.firstPurchaseAt === null || state.lastPurchaseAt === null) return null;
  const firstDay = utcDay(state.firstPurchaseAt);
  const days = purchaseDays(state);
  const x = Math.max(0, days - 1);
  const daysPerUnit = valueUnitDays(unit);
  const repeatSpendE4 = state.firstPurchaseDayE4 === null ? (state.monetaryE4 * x) / Math.max(1, days) : state.monetaryE4 - state.firstPurchaseDayE4;
  return {
    x,
    tx: (utcDay(state.lastPurchaseAt) - firstDay) / daysPerUnit,
    T: Math.max(0, at - firstDay * DAY_MS) / unitMs(unit),
    meanSpend: x > 0 ? Math.max(0, repeatSpendE4) / MONEY_SCALE / x : 0,
  };
}

export interface ValueDecision {
  readonly summary: ValueSummary;
  readonly prediction: ValuePrediction;
  readonly tier: ValueTier;
}

/** Predictions and tier of a customer with purchases at `at` under `model`; null before any purchase. */
export function decideValue(state: CustomerState, at: EpochMs, model: ValueModel, config: LifecycleConfig): ValueDecision | null {
  const summary = valueSummaryAt(state, at, model.unit);
  if (summary === null) return null;
  const prediction = predictValue(model, summary, config.value.purchaseHorizonDays, config.value.clv);
  const tier = valueTierOf(prediction, state.monetaryE4 / MONEY_SCALE, model.tierCuts, config.value.tiers.warningPAlive);
  return { summary, prediction, tier };
}

/**
 * The first instant after `at` at which the tier would change without a purchase, or null.
 * Instants are whole milliseconds at or after the crossing, so the tier there has changed.
 */
export function nextValueReview(state: CustomerState, decision: ValueDecision, at: EpochMs, model: ValueModel, config: LifecycleConfig): EpochMs | null {
  const { summary, tier } = decision;
  const { tierCuts: cuts, unit } = model;
  const origin = utcDay(state.firstPurchaseAt!) * DAY_MS;
  const size = unitMs(unit);
  const toInstant = (T: number): EpochMs => Math.max(at + 1, Math.ceil(origin + T * size));
  let next: EpochMs | null = null;
  const consider = (instant: EpochMs) => {
    if (next === null || instant < next) next = instant;
  };
  const theta = config.value.tiers.warningPAlive;
  if (tier !== "warning" && state.monetaryE4 / MONEY_SCALE >= cuts.warningMonetary && summary.x > 0) {
    const crossing = pAliveCrossingT(model.bgnbd, summary.x, summary.tx, theta);
    if (crossing !== null) {
      // The closed form lands on P(alive) = θ up to rounding: step past it so the tier has changed there.
      let T = Math.max(crossing, summary.T);
      for (let step = 0; step < 8 && bgnbdPAlive(model.bgnbd, summary.x, summary.tx, T) >= theta; step++) T += MINUTE_MS / size;
      consider(toInstant(T));
    }
  }
  const cut = tier === "high_value" ? cuts.highValueClv : tier === "potential" ? cuts.potentialClv : null;
  if (cut !== null) {
    const T = clvFallsBelowT(model.bgnbd, model.gammaGamma, summary, unit, config.value.clv, cut, summary.T);
    if (T !== null) consider(toInstant(T));
  }
  return next;
}

/**
 * Re-decides the tier at `at` into `state` (a fresh copy the caller owns): sets the model
 * version, the evaluated instant and the next review; on a change of tier bumps the version and
 * returns the change to publish.
 */
export function reviewValue(
  state: MutableState,
  at: EpochMs,
  model: ValueModel,
  config: LifecycleConfig,
  trigger: ValueTrigger,
  eventId: string | null,
): ValueTierChange | null {
  const decision = decideValue(state, at, model, config);
  if (decision === null) return null;
  const from = state.valueTier;
  state.valueModelVersion = model.version;
  state.valueReviewedAt = at;
  state.valueReviewAt = nextValueReview(state, decision, at, model, config);
  if (from === decision.tier) return null;
  state.valueTier = decision.tier;
  state.valueTierSince = at;
  state.version += 1;
  const { summary, prediction } = decision;
  const cuts = model.tierCuts;
  return {
    changeId: `${state.customerId}:${state.version}`,
    customerId: state.customerId,
    version: state.version,
    from,
    to: decision.tier,
    reason: REASON_OF_TIER[decision.tier],
    occurredAt: at,
    trigger,
    eventId,
    modelVersion: model.version,
    prediction,
    monetaryE4: state.monetaryE4,
    reasonNumbers: {
      x: summary.x,
      tx: summary.tx,
      T: summary.T,
      meanSpend: summary.meanSpend,
      pAlive: prediction.pAlive,
      clv: prediction.clv,
      monetary: state.monetaryE4 / MONEY_SCALE,
      highValueClv: cuts.highValueClv,
      potentialClv: cuts.potentialClv,
      warningMonetary: cuts.warningMonetary,
      warningPAlive: config.value.tiers.warningPAlive,
    },
  };
}

/** Whether a customer's tier was decided by another model than the active one (a refit reaches it). */
export function needsRefit(state: CustomerState, active: ActiveValueModel | null): active is ActiveValueModel {
  return active !== null && state.firstPurchaseAt !== null && state.valueModelVersion !== active.model.version;
}

/**
 * The instant a refit re-decides a customer: the model's activation, but never before the
 * instant the tier was last evaluated. It depends only on the state and the activation, so
 * whichever comes first — the customer's next event, a timer, or the refit sweep — stamps
 * the same change.
 */
export function refitInstant(state: CustomerState, active: ActiveValueModel): EpochMs {
  return Math.max(active.activatedAt, state.valueReviewedAt ?? Number.NEGATIVE_INFINITY, state.firstPurchaseAt ?? Number.NEGATIVE_INFINITY);
}
