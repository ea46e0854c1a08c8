import { lowerBound } from "./sorted.ts";
import type { EpochMs } from "./time.ts";

/**
 * The dedupe ledger's operations: a customer's folded event ids, sorted, each with
 * the processing time it first arrived. Ids are compared whole, so a new id is never
 * taken for a repeat; how long an id is kept is a duration of processing time, not a
 * count of the customer's events.
 */
export interface SeenEvents {
  readonly ids: readonly string[];
  readonly receivedAt: readonly number[];
}

/** Where `eventId` is (found) or would go (not found) in the sorted ids: a binary search. */
export function lookUpEventId(ids: readonly string[], eventId: string): { found: boolean; slot: number } {
  const slot = lowerBound(ids, eventId);
  return { found: ids[slot] === eventId, slot };
}

/** Whether the customer's ledger holds `eventId`: a repeat of an event already folded. */
export function hasSeenEvent(state: { readonly seenEventIds: readonly string[] }, eventId: string): boolean {
  return lookUpEventId(state.seenEventIds, eventId).found;
}

/**
 * The ledger with `eventId` inserted at `slot` and every id that arrived more than
 * `retentionMs` before the latest arrival dropped. The new id's time is its arrival,
 * but never earlier than the latest arrival kept: the ledger's clock only moves forward,
 * so a record stamped by a clock that runs behind cannot make ids expire early.
 */
export function rememberEventId(seen: SeenEvents, slot: number, eventId: string, receivedAt: EpochMs, retentionMs: number): SeenEvents {
  const { ids, receivedAt: times } = seen;
  let latest = receivedAt;
  let earliest = receivedAt;
  for (let index = 0; index < times.length; index++) {
    const at = times[index]!;
    if (at > latest) latest = at;
    if (at < earliest) earliest = at;
  }
  const horizon = latest - retentionMs;
  if (earliest >= horizon) {
    // Nothing expires (the common case): one copy of each array, made natively.
    const nextIds = ids.slice();
    nextIds.splice(slot, 0, eventId);
    const nextTimes = times.slice();
    nextTimes.splice(slot, 0, latest);
    return { ids: nextIds, receivedAt: nextTimes };
  }
  const nextIds: string[] = [];
  const nextTimes: number[] = [];
  for (let index = 0; index <= ids.length; index++) {
    if (index === slot) {
      nextIds.push(eventId);
      nextTimes.push(latest);
    }
    if (index < ids.length && times[index]! >= horizon) {
      nextIds.push(ids[index]!);
      nextTimes.push(times[index]!);
    }
  }
  return { ids: nextIds, receivedAt: nextTimes };
}
