import { classify, decideReason, STAGE_OF_REASON, tenureDays, type Classification } from "./classify.ts";
import type { CustomerEvent } from "./contract.ts";
import { checkEvent, foldAggregates, seedState } from "./fold.ts";
import type { LifecycleConfig } from "./lifecycle-config.ts";
import { scoreAt, scoreFallsBelowAt } from "./score.ts";
import type { RiskLevel, Stage, StageReason } from "./stages.ts";
import { copyState, evaluatedThrough, purchaseDays, type CustomerState, type MutableState } from "./state.ts";
import { churnThresholdsInto, riskLevel, type ChurnThresholds } from "./thresholds.ts";
import { DAY_MS, type EpochMs } from "./time.ts";
import type { ActiveAudiences } from "./audiences/definition.ts";
import {
  audienceRefitAt,
  audienceReviewDue,
  currentAudienceSet,
  needsAudienceRefit,
  nextAudienceSet,
  reviewAudiences,
  type AudienceChange,
  type AudienceTrigger,
} from "./audiences/membership.ts";
import { nextRiskCrossing, reviewRisk, withKnownRisk, type RiskChange } from "./risk.ts";
import { decideValue, needsRefit, refitInstant, reviewValue, type ActiveValueModel, type ValueTierChange } from "./value/stream.ts";
import type { ValueTier } from "./value/types.ts";

/** One stage change, as published to the stage-change topic. */
export interface StageTransition {
  /** `${customerId}:${version}`: deterministic, so consumers can dedupe redeliveries. */
  transitionId: string;
  customerId: string;
  version: number;
  from: Stage | null;
  to: Stage;
  reason: StageReason;
  /** Event time of the triggering event, or the deadline the timer fired for. */
  occurredAt: EpochMs;
  trigger: "event" | "timer";
  eventId: string | null;
  riskLevel: RiskLevel;
  /** The customer's figures at occurredAt, so consumers need no lookup to see why. */
  snapshot: CustomerSnapshot;
}

export interface CustomerSnapshot {
  purchaseCount: number;
  purchaseDays: number;
  monetaryE4: number;
  firstPurchaseAt: EpochMs | null;
  lastPurchaseAt: EpochMs | null;
  interactionScore: number;
  tenureDays: number | null;
  /** The value model's view at occurredAt, when a model is active. */
  value: ValueSnapshot | null;
}

export interface ValueSnapshot {
  tier: ValueTier;
  modelVersion: string;
  pAlive: number;
  expectedPurchases: number;
  expectedSpend: number;
  predictedClv: number;
}

export type Effect =
  | { kind: "stage_changed"; transition: StageTransition }
  | { kind: "value_tier_changed"; change: ValueTierChange }
  | { kind: "risk_changed"; change: RiskChange }
  | { kind: "audience_changed"; change: AudienceChange }
  | { kind: "duplicate_ignored"; eventId: string }
  | { kind: "event_rejected"; eventId: string; reason: string };

export interface Step {
  /** Undefined only when a customer's very first event was rejected. */
  state: CustomerState | undefined;
  effects: Effect[];
}

/**
 * Folds one event: fires the deadlines that fell before it, updates the
 * aggregates, then re-decides the stage at max(event time, evaluated-through).
 * A late event changes the totals exactly but re-decides the stage only from
 * "now" on: published transitions are facts and are never rewritten.
 *
 * `receivedAt` is when the pipeline received the event (processing time: the Kafka
 * record's timestamp); it only decides how long the event's id is kept for dedupe.
 * Folds without one (replays of a log in memory) treat every event as arriving at
 * once, so no id is forgotten.
 */
export function applyEvent(
  state: CustomerState | undefined,
  event: CustomerEvent,
  config: LifecycleConfig,
  receivedAt: EpochMs = 0,
  value: ActiveValueModel | null = null,
  audiences: ActiveAudiences | null = null,
): Step {
  const check = checkEvent(state, event, config);
  if (check.kind === "invalid") return { state, effects: [{ kind: "event_rejected", eventId: event.eventId, reason: check.reason }] };
  if (check.kind === "duplicate") return { state, effects: [{ kind: "duplicate_ignored", eventId: event.eventId }] };

  const effects: Effect[] = [];
  let current = state === undefined ? undefined : withKnownRisk(state, config);
  if (current !== undefined && needsRefit(current, value)) current = refit(current, value, audiences, config, effects);
  if (
    current !== undefined &&
    ((event.occurredAt > evaluatedThrough(current) &&
      // Without events a customer never returns to a stage it left (the rules are
      // monotone in time), so the same stage just before the event means no deadline fell due.
      STAGE_OF_REASON[decideReason(current, event.occurredAt - 1, config)] !== current.stage) ||
      riskDue(current, event.occurredAt - 1, config) ||
      valueReviewDue(current, event.occurredAt - 1, value) ||
      audienceReviewDue(current, event.occurredAt - 1, audiences) ||
      (audienceRefitAt(current, audiences) ?? Number.POSITIVE_INFINITY) <= event.occurredAt - 1)
  ) {
    // Deadlines strictly before the event fire first; at the same instant the event wins.
    const advanced = advanceTo(current, event.occurredAt - 1, config, value, audiences);
    current = advanced.state;
    effects.push(...advanced.effects);
  }
  const before = current ?? seedState(event);
  const at = current === undefined ? event.occurredAt : Math.max(event.occurredAt, evaluatedThrough(current));
  const folded = foldAggregates(before, event, check.slot, receivedAt, config);
  folded.version = before.version + 1;
  if (
    event.type === "purchase" &&
    current !== undefined &&
    current.stage === "churned" &&
    event.occurredAt >= current.stageSince &&
    config.wonBack.periodDays > 0
  ) {
    folded.wonBackAt = event.occurredAt;
  }

  const stageChanges = current === undefined || STAGE_OF_REASON[decideReason(folded, at, config)] !== current.stage;
  if (stageChanges) {
    const decided = classify(folded, at, config);
    enterStage(folded, decided, at);
    effects.push({ kind: "stage_changed", transition: transitionOf(current?.stage ?? null, folded, decided, at, "event", event.eventId, config, value) });
  }
  // A stage change carries the risk level; within a stage a new level is its own signal.
  const riskChange = reviewRisk(folded, at, config, !stageChanges, "event", event.eventId);
  if (riskChange !== null) effects.push({ kind: "risk_changed", change: riskChange });
  // Only a purchase changes the value model's inputs; other events leave the tier to its timers.
  if (value !== null && event.type === "purchase") {
    const change = reviewValue(folded, Math.max(at, folded.valueReviewedAt ?? at), value.model, config, "event", event.eventId);
    if (change !== null) effects.push({ kind: "value_tier_changed", change });
  }
  // Memberships last: they read the stage, risk and tier just decided. A new customer starts on the
  // latest definitions; a known one stays on its own until their successors' activation instants.
  const set = current === undefined ? audiences : currentAudienceSet(folded, audiences);
  if (set !== null) review(folded, Math.max(at, folded.audiencesReviewedAt ?? at), set, value, config, "event", event.eventId, effects);
  return { state: folded, effects };
}

function review(
  state: MutableState,
  at: EpochMs,
  audiences: ActiveAudiences,
  value: ActiveValueModel | null,
  config: LifecycleConfig,
  trigger: AudienceTrigger,
  eventId: string | null,
  effects: Effect[],
): void {
  for (const change of reviewAudiences(state, at, audiences, config, value, trigger, eventId)) effects.push({ kind: "audience_changed", change });
}

/** Whether the risk level rises at or before `now`. */
function riskDue(state: CustomerState, now: EpochMs, config: LifecycleConfig): boolean {
  const at = nextRiskCrossing(state, config);
  return at !== null && at <= now;
}

/** Whether a value review falls due at or before `now` under the active model. */
function valueReviewDue(state: CustomerState, now: EpochMs, value: ActiveValueModel | null): boolean {
  return value !== null && state.valueModelVersion === value.model.version && state.valueReviewAt !== null && state.valueReviewAt <= now;
}

/**
 * Re-decides the tier under a newly active model, at refitInstant (see there); memberships under
 * definitions already applied follow at once, whichever path (event, timer, sweep) refits.
 */
function refit(state: CustomerState, value: ActiveValueModel, audiences: ActiveAudiences | null, config: LifecycleConfig, effects: Effect[]): CustomerState {
  const next = copyState(state);
  const at = refitInstant(state, value);
  const change = reviewValue(next, at, value.model, config, "refit", null);
  if (change !== null) effects.push({ kind: "value_tier_changed", change });
  const set = currentAudienceSet(next, audiences);
  if (set !== null) review(next, Math.max(at, next.audiencesReviewedAt ?? at), set, value, config, "timer", null, effects);
  return next;
}

/**
 * Applies a newly active model or newly active audience definitions to one customer (the refit
 * and audience sweeps): the same changes its next event or timer would make, then every deadline
 * through `sweptThrough` — the instant the partition's sweeps have fired others through — so the
 * customer ends as a fold that had it loaded would. Audience definitions apply at their activation
 * instants, in time order with the customer's other deadlines, so only the deadlines through
 * `sweptThrough` move a customer to them.
 */
export function refitCustomer(
  state: CustomerState,
  value: ActiveValueModel | null,
  config: LifecycleConfig,
  sweptThrough: EpochMs | null = null,
  audiences: ActiveAudiences | null = null,
): Step & { state: CustomerState } {
  if (!needsRefit(state, value) && !needsAudienceRefit(state, audiences)) return { state, effects: [] };
  const effects: Effect[] = [];
  let refitted = withKnownRisk(state, config);
  if (needsRefit(refitted, value)) refitted = refit(refitted, value, audiences, config, effects);
  if (sweptThrough === null) return { state: refitted, effects };
  const advanced = advanceTo(refitted, sweptThrough, config, value, audiences);
  return { state: advanced.state, effects: [...effects, ...advanced.effects] };
}

/**
 * Fires, in time order, every deadline at or before `now`, each as its own
 * transition with its own version and the deadline as its time. The result does
 * not depend on how late the timer ran. With a value model active, a customer still
 * on another model is refitted first, and tier crossings fire with the stage deadlines.
 */
export function advanceTo(
  state: CustomerState,
  now: EpochMs,
  config: LifecycleConfig,
  value: ActiveValueModel | null = null,
  audiences: ActiveAudiences | null = null,
): Step & { state: CustomerState } {
  const effects: Effect[] = [];
  let current = withKnownRisk(state, config);
  if (needsRefit(current, value)) current = refit(current, value, audiences, config, effects);
  // After a stage, risk or tier step, memberships are re-decided at its instant once nothing else is due there.
  let pendingReview: EpochMs | null = null;
  for (;;) {
    // Due instants in time order; at the same instant the stage fires first (carrying the risk
    // level), then a risk change, then a tier crossing, then new audience definitions, then memberships.
    const stageAt = stageDeadline(current, config);
    const riskAt = nextRiskCrossing(current, config);
    const valueAt = valueReviewDue(current, now, value) ? current.valueReviewAt : null;
    const stageDue = stageAt !== null && stageAt <= now ? stageAt : null;
    const riskDueAt = riskAt !== null && riskAt <= now ? riskAt : null;
    const step = earlier(earlier(stageDue, riskDueAt), valueAt);
    const refitAt = audienceRefitAt(current, audiences);
    const refitDue = refitAt !== null && refitAt <= now ? refitAt : null;
    const crossingDue = audienceReviewDue(current, now, audiences) ? current.audiencesReviewAt : null;
    const reviewAt = earlier(pendingReview, crossingDue);
    const first = earlier(earlier(step, refitDue), reviewAt);
    if (first === null) break;
    if (refitDue !== null && refitDue === first && step !== first) {
      // New definitions reach the customer at their activation: its memberships under them.
      const next = copyState(current);
      review(next, refitDue, nextAudienceSet(current, audiences)!, value, config, "definition", null, effects);
      current = next;
      if (pendingReview !== null && pendingReview <= refitDue) pendingReview = null;
      continue;
    }
    if (step !== first) {
      const set = currentAudienceSet(current, audiences);
      const next = copyState(current);
      if (set !== null) review(next, Math.max(first, next.audiencesReviewedAt ?? first), set, value, config, "timer", null, effects);
      current = next;
      pendingReview = null;
      continue;
    }
    if (audiences !== null) pendingReview = step;
    if (valueAt !== null && valueAt === step && stageDue !== step && riskDueAt !== step) {
      const next = copyState(current);
      const change = reviewValue(next, valueAt, value!.model, config, "timer", null);
      if (change !== null) effects.push({ kind: "value_tier_changed", change });
      current = next;
      continue;
    }
    if (riskDueAt !== null && riskDueAt === step && stageDue !== step) {
      const next = copyState(current);
      const change = reviewRisk(next, riskDueAt, config, true, "timer", null);
      if (change !== null) effects.push({ kind: "risk_changed", change });
      current = next;
      continue;
    }
    const decided = classify(current, step, config);
    const from = current.stage;
    const next = copyState(current);
    next.version = current.version + 1;
    current = enterStage(next, decided, step);
    reviewRisk(next, step, config, false, "timer", null);
    effects.push({ kind: "stage_changed", transition: transitionOf(from, current, decided, step, "timer", null, config, value) });
  }
  return { state: current, effects };
}

/**
 * When this customer must be looked at again if nothing happens: the first
 * instant after evaluatedThrough(state) at which the stage would change or the risk
 * level rise, or, with a value model active, the value tier (a crossing, or a refit
 * to that model) — whichever is first; null if none changes without a new event.
 */
export function nextDeadline(
  state: CustomerState,
  config: LifecycleConfig,
  value: ActiveValueModel | null = null,
  audiences: ActiveAudiences | null = null,
): EpochMs | null {
  const stageAt = earlier(stageDeadline(state, config), nextRiskCrossing(state, config));
  // Customers still on other definitions are due at their refit instant; otherwise at their next crossing.
  const audiencesAt = earlier(audienceRefitAt(state, audiences), currentAudienceSet(state, audiences) === null ? null : state.audiencesReviewAt);
  const withAudiences = earlier(stageAt, audiencesAt);
  if (value === null || state.firstPurchaseAt === null) return withAudiences;
  // A customer still on another model is due at its refit instant; otherwise at its next tier crossing.
  const valueAt = state.valueModelVersion !== value.model.version ? refitInstant(state, value) : state.valueReviewAt;
  return earlier(withAudiences, valueAt);
}

function earlier(left: EpochMs | null, right: EpochMs | null): EpochMs | null {
  if (left === null) return right;
  return right === null || left <= right ? left : right;
}

/** The first instant after evaluatedThrough(state) at which the stage would change; null if none without an event. */
function stageDeadline(state: CustomerState, config: LifecycleConfig): EpochMs | null {
  if (state.firstPurchaseAt === null || state.lastPurchaseAt === null) return null;
  const after = evaluatedThrough(state);
  const thresholds = churnThresholdsInto(state, config, DEADLINE_THRESHOLDS);
  const count = candidateInstants(state, state.firstPurchaseAt, state.lastPurchaseAt, thresholds, config);
  for (let index = 0; index < count; index++) {
    const candidate = CANDIDATES[index]!;
    if (candidate <= after) continue;
    if (STAGE_OF_REASON[decideReason(state, candidate, config, thresholds)] !== state.stage) return candidate;
  }
  return null;
}

/** Scratch thresholds for nextDeadline (synchronous, like CANDIDATES). */
const DEADLINE_THRESHOLDS: ChurnThresholds = { basis: "population", gapCount: 0, meanGapDays: null, warnAfterMs: 0, churnAfterMs: 0 };

/** Scratch for candidateInstants (synchronous, read before the next call): no array per call. */
const CANDIDATES = new Float64Array(6);

/** Writes every instant at which the stage rules can change their answer into CANDIDATES, ascending; returns how many. */
function candidateInstants(
  state: CustomerState,
  firstPurchaseAt: EpochMs,
  lastPurchaseAt: EpochMs,
  thresholds: ChurnThresholds,
  config: LifecycleConfig,
): number {
  let count = 0;
  count = addCandidate(count, firstPurchaseAt + config.tenurePhases.growthFromDay * DAY_MS);
  count = addCandidate(count, firstPurchaseAt + config.tenurePhases.loyaltyFromDay * DAY_MS);
  count = addCandidate(count, lastPurchaseAt + thresholds.warnAfterMs);
  count = addCandidate(count, lastPurchaseAt + thresholds.churnAfterMs);
  const scoreCrossing = scoreFallsBelowAt(state.score, config.score.floor, config.score.halfLifeDays * DAY_MS);
  if (scoreCrossing !== null) count = addCandidate(count, scoreCrossing);
  if (state.wonBackAt !== null) count = addCandidate(count, state.wonBackAt + config.wonBack.periodDays * DAY_MS);
  return count;
}

/** Inserts into the sorted first `count` CANDIDATES (insertion sort: at most six values). */
function addCandidate(count: number, instant: number): number {
  let index = count;
  while (index > 0 && CANDIDATES[index - 1]! > instant) {
    CANDIDATES[index] = CANDIDATES[index - 1]!;
    index--;
  }
  CANDIDATES[index] = instant;
  return count + 1;
}

/** Sets the stage on a fresh copy (never on a state already handed out). */
function enterStage(state: MutableState, decided: Classification, at: EpochMs): MutableState {
  state.stage = decided.stage;
  state.stageSince = at;
  // Win-back is remembered only while the customer is in won_back.
  if (decided.stage !== "won_back") state.wonBackAt = null;
  return state;
}

function transitionOf(
  from: Stage | null,
  state: CustomerState,
  decided: Classification,
  at: EpochMs,
  trigger: "event" | "timer",
  eventId: string | null,
  config: LifecycleConfig,
  value: ActiveValueModel | null,
): StageTransition {
  return {
    transitionId: `${state.customerId}:${state.version}`,
    customerId: state.customerId,
    version: state.version,
    from,
    to: decided.stage,
    reason: decided.reason,
    occurredAt: at,
    trigger,
    eventId,
    riskLevel: riskLevel(state, at, config),
    snapshot: {
      purchaseCount: state.purchaseCount,
      purchaseDays: purchaseDays(state),
      monetaryE4: state.monetaryE4,
      firstPurchaseAt: state.firstPurchaseAt,
      lastPurchaseAt: state.lastPurchaseAt,
      interactionScore: scoreAt(state.score, at, config.score.halfLifeDays * DAY_MS),
      tenureDays: tenureDays(state, at),
      value: value === null ? null : valueSnapshot(state, at, value, config),
    },
  };
}

/** The predictions and tier at `at` (the state's figures then), for a stage change's snapshot. */
function valueSnapshot(state: CustomerState, at: EpochMs, value: ActiveValueModel, config: LifecycleConfig): ValueSnapshot | null {
  const decision = decideValue(state, at, value.model, config);
  if (decision === null) return null;
  const { prediction } = decision;
  return {
    tier: decision.tier,
    modelVersion: value.model.version,
    pAlive: prediction.pAlive,
    expectedPurchases: prediction.expectedPurchases,
    expectedSpend: prediction.expectedSpend,
    predictedClv: prediction.clv,
  };
}
