import type { CustomerEvent } from "./contract.ts";
import type { LifecycleConfig } from "./lifecycle-config.ts";
import { addToScore } from "./score.ts";
import { lookUpEventId, rememberEventId } from "./seen-events.ts";
import { lowerBound } from "./sorted.ts";
import { copyState, type CustomerState, type MutableState } from "./state.ts";
import { DAY_MS, utcDay, type EpochMs } from "./time.ts";

/**
 * The aggregate half of the fold: how one event changes the customer's counters,
 * times, sums and score. Stage decisions live in machine.ts. Every update here is
 * commutative, which is what makes out-of-order delivery exact.
 */

/** `slot`: where the new event's id goes in the sorted ledger. */
export type EventCheck = { kind: "new"; slot: number } | { kind: "duplicate" } | { kind: "invalid"; reason: string };

/** Whether the event is already folded (its eventId is in the ledger) or would break an exact total. */
export function checkEvent(state: CustomerState | undefined, event: CustomerEvent, config: LifecycleConfig): EventCheck {
  if (state !== undefined && state.customerId !== event.customerId) {
    return { kind: "invalid", reason: `event for customer ${event.customerId} folded into state of ${state.customerId}` };
  }
  if (event.type === "purchase") {
    if (event.properties.currency !== config.reportingCurrency) {
      return { kind: "invalid", reason: `currency ${event.properties.currency} is not the reporting currency ${config.reportingCurrency}` };
    }
    if (state !== undefined && !Number.isSafeInteger(state.monetaryE4 + event.properties.amountE4)) {
      return { kind: "invalid", reason: "monetary total would exceed the exact integer range" };
    }
  }
  if (state === undefined) return { kind: "new", slot: 0 };
  const { found, slot } = lookUpEventId(state.seenEventIds, event.eventId);
  return found ? { kind: "duplicate" } : { kind: "new", slot };
}

/** A state for a customer's first event, before any stage has been decided (the machine sets it). */
export function seedState(event: CustomerEvent): CustomerState {
  return {
    customerId: event.customerId,
    version: 0,
    firstSeenAt: event.occurredAt,
    lastEventAt: event.occurredAt,
    firstPurchaseAt: null,
    lastPurchaseAt: null,
    purchaseCount: 0,
    purchaseDayList: [],
    purchaseDaysDropped: 0,
    monetaryE4: 0,
    firstPurchaseDayE4: 0,
    logins: 0,
    supportOpened: 0,
    supportResolved: 0,
    supportEscalated: 0,
    lastSatisfaction: null,
    lastSatisfactionAt: null,
    score: { value: 0, at: event.occurredAt },
    stage: "prospect",
    stageSince: event.occurredAt,
    wonBackAt: null,
    valueTier: null,
    valueTierSince: null,
    valueModelVersion: null,
    valueReviewedAt: null,
    valueReviewAt: null,
    riskLevel: "none",
    riskSince: event.occurredAt,
    audiencesVersion: null,
    audienceIds: [],
    audiencesReviewedAt: null,
    audiencesReviewAt: null,
    seenEventIds: [],
    seenReceivedAt: [],
  };
}

/**
 * Folds one new (checked) event into the aggregates and its id into the ledger (at `slot`,
 * arrived at `receivedAt`); version and stage are left to the machine.
 */
export function foldAggregates(state: CustomerState, event: CustomerEvent, slot: number, receivedAt: EpochMs, config: LifecycleConfig): MutableState {
  const at = event.occurredAt;
  const halfLifeMs = config.score.halfLifeDays * DAY_MS;
  const next = copyState(state);
  next.firstSeenAt = Math.min(state.firstSeenAt, at);
  next.lastEventAt = Math.max(state.lastEventAt, at);
  next.score = addToScore(state.score, config.score.weights[event.type], at, halfLifeMs);
  const seen = rememberEventId({ ids: state.seenEventIds, receivedAt: state.seenReceivedAt }, slot, event.eventId, receivedAt, config.dedupe.retentionDays * DAY_MS);
  next.seenEventIds = seen.ids;
  next.seenReceivedAt = seen.receivedAt;
  switch (event.type) {
    case "purchase": {
      next.purchaseCount = state.purchaseCount + 1;
      next.monetaryE4 = state.monetaryE4 + event.properties.amountE4;
      next.firstPurchaseDayE4 = firstDaySpend(state, event.properties.amountE4, utcDay(at));
      next.firstPurchaseAt = state.firstPurchaseAt === null ? at : Math.min(state.firstPurchaseAt, at);
      next.lastPurchaseAt = state.lastPurchaseAt === null ? at : Math.max(state.lastPurchaseAt, at);
      const days = addPurchaseDay(state.purchaseDayList, state.purchaseDaysDropped, utcDay(at), config.maxPurchaseDaysKept);
      next.purchaseDayList = days.list;
      next.purchaseDaysDropped = days.dropped;
      break;
    }
    case "login":
      next.logins = state.logins + 1;
      break;
    case "support": {
      const { action, satisfaction } = event.properties;
      if (action === "opened") next.supportOpened = state.supportOpened + 1;
      else if (action === "resolved") next.supportResolved = state.supportResolved + 1;
      else next.supportEscalated = state.supportEscalated + 1;
      // "Last" is by event time; equal times keep the higher value so any order agrees.
      if (
        satisfaction !== null &&
        (state.lastSatisfactionAt === null ||
          at > state.lastSatisfactionAt ||
          (at === state.lastSatisfactionAt && satisfaction > (state.lastSatisfaction ?? 0)))
      ) {
        next.lastSatisfaction = satisfaction;
        next.lastSatisfactionAt = at;
      }
      break;
    }
  }
  return next;
}

/** The first purchase day's total after a purchase on `day`: a purchase before it starts a new first day. */
function firstDaySpend(state: CustomerState, amountE4: number, day: number): number | null {
  if (state.firstPurchaseAt === null) return amountE4;
  const firstDay = utcDay(state.firstPurchaseAt);
  if (day < firstDay) return amountE4;
  if (day > firstDay || state.firstPurchaseDayE4 === null) return state.firstPurchaseDayE4;
  return state.firstPurchaseDayE4 + amountE4;
}

/**
 * Inserts a UTC day into the sorted distinct list. When full, the oldest day is
 * dropped and counted; a late purchase dated before every kept day is then
 * assumed to fall on an already-counted day (it cannot be told apart).
 */
function addPurchaseDay(list: readonly number[], dropped: number, day: number, limit: number): { list: number[]; dropped: number } {
  const low = lowerBound(list, day);
  if (list[low] === day) return { list: list as number[], dropped };
  if (low === 0 && dropped > 0) return { list: list as number[], dropped };
  // One new array per purchase (the list is up to maxPurchaseDaysKept long; spreads made three).
  const next: number[] = [];
  for (let index = 0; index < low; index++) next.push(list[index]!);
  next.push(day);
  for (let index = low; index < list.length; index++) next.push(list[index]!);
  if (next.length <= limit) return { list: next, dropped };
  next.shift();
  return { list: next, dropped: dropped + 1 };
}
