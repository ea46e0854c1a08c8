import { ByteReader, ByteWriter } from "./bytes.ts";
import { DEDUPE_FINGERPRINT_BITS } from "./fingerprint.ts";
import { STAGES, type Stage } from "./stages.ts";
import type { CustomerState } from "./state.ts";

/**
 * A compact binary form of CustomerState for Redis (one string per customer).
 * Integers are unsigned LEB128 varints; every time is stored as a delta from
 * firstSeenAt (the minimum of all event times, so deltas are ≥ 0), nullable times
 * as delta + 1 (0 = null); days and the dedupe window are delta-encoded. The
 * customer id is the Redis key and is not repeated. A typical customer with a
 * handful of events takes 50–90 bytes.
 *
 * Layout v2: format(1) version firstSeenAt Δ(lastEventAt) Δ?(firstPurchaseAt)
 * Δ?(lastPurchaseAt) purchaseCount monetaryE4 logins supportOpened supportResolved
 * supportEscalated lastSatisfaction+1 Δ?(lastSatisfactionAt) score.value(f64)
 * Δ(score.at) stage(1) Δ(stageSince) Δ?(wonBackAt) purchaseDaysDropped
 * days(n, first, gaps…) recent(n, [Δtime, fingerprint(5 bytes)]…)
 * v1 (still read) differs only in 7-byte, 53-bit fingerprints; reading one keeps their
 * low 40 bits, which is what dedupeFingerprint gives the same ids.
 */
const FORMAT_V1 = 1;
const FORMAT_V2 = 2;
const FINGERPRINT_BYTES = { [FORMAT_V1]: 7, [FORMAT_V2]: DEDUPE_FINGERPRINT_BITS / 8 } as const;

/** One scratch writer for every call (encoding is synchronous); the result is always a fresh copy. */
const scratch = new ByteWriter("state codec");

export function encodeState(state: CustomerState): Uint8Array {
  const base = state.firstSeenAt;
  const out = scratch.reset();

  out.byte(FORMAT_V2);
  out.uint(state.version);
  out.uint(base);
  out.uint(state.lastEventAt - base);
  out.maybeDelta(state.firstPurchaseAt, base);
  out.maybeDelta(state.lastPurchaseAt, base);
  out.uint(state.purchaseCount);
  out.uint(state.monetaryE4);
  out.uint(state.logins);
  out.uint(state.supportOpened);
  out.uint(state.supportResolved);
  out.uint(state.supportEscalated);
  out.uint(state.lastSatisfaction === null ? 0 : state.lastSatisfaction + 1);
  out.maybeDelta(state.lastSatisfactionAt, base);
  out.float(state.score.value);
  out.uint(state.score.at - base);
  out.byte(STAGES.indexOf(state.stage));
  out.uint(state.stageSince - base);
  out.maybeDelta(state.wonBackAt, base);
  out.uint(state.purchaseDaysDropped);

  const days = state.purchaseDayList;
  out.uint(days.length);
  for (let index = 0; index < days.length; index++) out.uint(index === 0 ? days[0]! : days[index]! - days[index - 1]!);

  const recent = state.recentEvents;
  out.uint(recent.length / 2);
  for (let index = 0; index < recent.length; index += 2) {
    out.uint(index === 0 ? recent[0]! - base : recent[index]! - recent[index - 2]!);
    out.fixed(recent[index + 1]!, FINGERPRINT_BYTES[FORMAT_V2]);
  }
  return out.result();
}

export function decodeState(customerId: string, bytes: Uint8Array): CustomerState {
  const input = new ByteReader(bytes, "state codec");
  const format = input.byte();
  if (format !== FORMAT_V1 && format !== FORMAT_V2) throw new RangeError(`state codec: unknown format ${format}`);
  const fingerprintBytes = FINGERPRINT_BYTES[format];
  const version = input.uint();
  const base = input.uint();
  const lastEventAt = input.at(base);
  const firstPurchaseAt = input.maybeAt(base);
  const lastPurchaseAt = input.maybeAt(base);
  const purchaseCount = input.uint();
  const monetaryE4 = input.uint();
  const logins = input.uint();
  const supportOpened = input.uint();
  const supportResolved = input.uint();
  const supportEscalated = input.uint();
  const satisfactionRaw = input.uint();
  const lastSatisfactionAt = input.maybeAt(base);
  const scoreValue = input.float();
  const scoreAt = input.at(base);
  const stage: Stage | undefined = STAGES[input.byte()];
  if (stage === undefined) throw new RangeError("state codec: unknown stage");
  const stageSince = input.at(base);
  const wonBackAt = input.maybeAt(base);
  const purchaseDaysDropped = input.uint();

  const dayCount = input.uint();
  const purchaseDayList: number[] = [];
  for (let index = 0; index < dayCount; index++) purchaseDayList.push((index === 0 ? 0 : purchaseDayList[index - 1]!) + input.uint());

  const recentCount = input.uint();
  const recentEvents: number[] = [];
  let time = base;
  for (let index = 0; index < recentCount; index++) {
    time += input.uint();
    recentEvents.push(time, input.fixed(fingerprintBytes) % 2 ** DEDUPE_FINGERPRINT_BITS);
  }
  if (!input.done()) throw new RangeError("state codec: trailing bytes");
  // Shortened v1 fingerprints can reorder entries with equal times: restore the window's order.
  if (format === FORMAT_V1) sortWindow(recentEvents);
  return {
    customerId,
    version,
    firstSeenAt: base,
    lastEventAt,
    firstPurchaseAt,
    lastPurchaseAt,
    purchaseCount,
    purchaseDayList,
    purchaseDaysDropped,
    monetaryE4,
    logins,
    supportOpened,
    supportResolved,
    supportEscalated,
    lastSatisfaction: satisfactionRaw === 0 ? null : satisfactionRaw - 1,
    lastSatisfactionAt,
    score: { value: scoreValue, at: scoreAt },
    stage,
    stageSince,
    wonBackAt,
    recentEvents,
  };
}

/** Sorts flat [time, fingerprint] pairs by time, then fingerprint (insertion sort: a window is small). */
function sortWindow(pairs: number[]): void {
  for (let index = 2; index < pairs.length; index += 2) {
    const time = pairs[index]!;
    const fingerprint = pairs[index + 1]!;
    let slot = index;
    while (slot > 0 && (pairs[slot - 2]! > time || (pairs[slot - 2] === time && pairs[slot - 1]! > fingerprint))) {
      pairs[slot] = pairs[slot - 2]!;
      pairs[slot + 1] = pairs[slot - 1]!;
      slot -= 2;
    }
    pairs[slot] = time;
    pairs[slot + 1] = fingerprint;
  }
}
