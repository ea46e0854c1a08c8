import { ByteReader, ByteWriter, utf8Length } from "./bytes.ts";
import { RISK_LEVELS, STAGES, type RiskLevel, type Stage } from "./stages.ts";
import type { CustomerState } from "./state.ts";
import { VALUE_TIERS, type ValueTier } from "./value/types.ts";

/**
 * A compact binary form of CustomerState for Redis (one string per customer).
 * Integers are unsigned LEB128 varints; every time is stored as a delta from
 * firstSeenAt (the minimum of all event times, so deltas are ≥ 0), nullable times
 * as delta + 1 (0 = null); days are delta-encoded. The customer id is the Redis
 * key and is not repeated. A typical customer with a handful of events takes
 * 50–90 bytes plus its dedupe ledger.
 *
 * Layout v3: format(1) version firstSeenAt Δ(lastEventAt) Δ?(firstPurchaseAt)
 * Δ?(lastPurchaseAt) purchaseCount monetaryE4 logins supportOpened supportResolved
 * supportEscalated lastSatisfaction+1 Δ?(lastSatisfactionAt) score.value(f64)
 * Δ(score.at) stage(1) Δ(stageSince) Δ?(wonBackAt) purchaseDaysDropped
 * days(n, first, gaps…) ledger(n, [latest receivedAt, then per id: shared ASCII
 * prefix with the previous id, suffix byte length, suffix UTF-8, latest − receivedAt])
 * v4 adds, after the days: firstPurchaseDayE4 + 1 (0 = unknown), then the value tier:
 * tier(1: 0 = none, else index in VALUE_TIERS + 1) and with a tier the model version
 * (UTF-8 byte length, bytes), Δ(valueTierSince) Δ(valueReviewedAt) Δ?(valueReviewAt);
 * then the ledger. v3 states read with an unknown first-day spend and no tier.
 * v5 adds, after the value tier: risk level(1: index in RISK_LEVELS + 1; 0 = unknown) and
 * Δ?(riskSince); v4 and older states read with an unknown level, which the core's next step
 * decides at their evaluated-through instant. Then the audiences: definitions version (UTF-8
 * byte length + 1, 0 = none applied) and with one: n, ids (byte length, UTF-8) × n,
 * Δ(audiencesReviewedAt) Δ?(audiencesReviewAt).
 * The ids are sorted, so front coding takes out what consecutive ids share (a source's
 * common prefix, the customer id inside event ids): ~1–4 bytes of overhead per id.
 * v1 and v2 (still read) kept 53- or 40-bit fingerprints of the customer's last N
 * events instead of a ledger; they are read with an empty ledger (docs/lifecycle.md).
 */
const FORMAT_V1 = 1;
const FORMAT_V2 = 2;
const FORMAT_V3 = 3;
const FORMAT_V4 = 4;
const FORMAT_V5 = 5;
const FINGERPRINT_BYTES = { [FORMAT_V1]: 7, [FORMAT_V2]: 5 } as const;

/** One scratch writer for every call (encoding is synchronous); the result is always a fresh copy. */
const scratch = new ByteWriter("state codec");

export function encodeState(state: CustomerState): Uint8Array {
  const base = state.firstSeenAt;
  const out = scratch.reset();

  out.byte(FORMAT_V5);
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

  out.uint(state.firstPurchaseDayE4 === null ? 0 : state.firstPurchaseDayE4 + 1);
  writeValueTier(out, state, base);
  out.byte(state.riskLevel === null ? 0 : RISK_LEVELS.indexOf(state.riskLevel) + 1);
  out.maybeDelta(state.riskLevel === null ? null : state.riskSince, base);
  writeAudiences(out, state, base);
  writeLedger(out, state.seenEventIds, state.seenReceivedAt);
  return out.result();
}

export function decodeState(customerId: string, bytes: Uint8Array): CustomerState {
  const input = new ByteReader(bytes, "state codec");
  const format = input.byte();
  if (format !== FORMAT_V1 && format !== FORMAT_V2 && format !== FORMAT_V3 && format !== FORMAT_V4 && format !== FORMAT_V5) throw new RangeError(`state codec: unknown format ${format}`);
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

  let firstPurchaseDayE4: number | null = null;
  let value: DecodedValueTier = NO_VALUE_TIER;
  let riskLevel: RiskLevel | null = null;
  let riskSince: number | null = null;
  let audiences: DecodedAudiences = NO_AUDIENCES;
  if (format === FORMAT_V4 || format === FORMAT_V5) {
    const firstDayRaw = input.uint();
    firstPurchaseDayE4 = firstDayRaw === 0 ? null : firstDayRaw - 1;
    value = readValueTier(input, base);
    if (format === FORMAT_V5) {
      const riskByte = input.byte();
      if (riskByte > RISK_LEVELS.length) throw new RangeError("state codec: unknown risk level");
      riskLevel = riskByte === 0 ? null : RISK_LEVELS[riskByte - 1]!;
      riskSince = input.maybeAt(base);
      audiences = readAudiences(input, base);
    }
  } else if (firstPurchaseAt === null) {
    firstPurchaseDayE4 = 0;
  }

  const seenEventIds: string[] = [];
  const seenReceivedAt: number[] = [];
  if (format === FORMAT_V1 || format === FORMAT_V2) skipFingerprints(input, FINGERPRINT_BYTES[format]);
  else readLedger(input, seenEventIds, seenReceivedAt);
  if (!input.done()) throw new RangeError("state codec: trailing bytes");
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
    firstPurchaseDayE4,
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
    ...value,
    riskLevel,
    riskSince,
    ...audiences,
    seenEventIds,
    seenReceivedAt,
  };
}

type DecodedValueTier = Pick<CustomerState, "valueTier" | "valueTierSince" | "valueModelVersion" | "valueReviewedAt" | "valueReviewAt">;

const NO_VALUE_TIER: DecodedValueTier = { valueTier: null, valueTierSince: null, valueModelVersion: null, valueReviewedAt: null, valueReviewAt: null };

function writeValueTier(out: ByteWriter, state: CustomerState, base: number): void {
  if (state.valueTier === null || state.valueModelVersion === null || state.valueTierSince === null || state.valueReviewedAt === null) {
    out.byte(0);
    return;
  }
  out.byte(VALUE_TIERS.indexOf(state.valueTier) + 1);
  const versionBytes = utf8Length(state.valueModelVersion);
  out.uint(versionBytes);
  out.utf8(state.valueModelVersion, versionBytes);
  out.uint(state.valueTierSince - base);
  out.uint(state.valueReviewedAt - base);
  out.maybeDelta(state.valueReviewAt, base);
}

function readValueTier(input: ByteReader, base: number): DecodedValueTier {
  const tierByte = input.byte();
  if (tierByte === 0) return NO_VALUE_TIER;
  const valueTier: ValueTier | undefined = VALUE_TIERS[tierByte - 1];
  if (valueTier === undefined) throw new RangeError("state codec: unknown value tier");
  const valueModelVersion = input.utf8(input.uint());
  const valueTierSince = input.at(base);
  const valueReviewedAt = input.at(base);
  const valueReviewAt = input.maybeAt(base);
  return { valueTier, valueTierSince, valueModelVersion, valueReviewedAt, valueReviewAt };
}

type DecodedAudiences = Pick<CustomerState, "audiencesVersion" | "audienceIds" | "audiencesReviewedAt" | "audiencesReviewAt">;

const NO_AUDIENCES: DecodedAudiences = { audiencesVersion: null, audienceIds: [], audiencesReviewedAt: null, audiencesReviewAt: null };

function writeAudiences(out: ByteWriter, state: CustomerState, base: number): void {
  if (state.audiencesVersion === null || state.audiencesReviewedAt === null) {
    out.uint(0);
    return;
  }
  const versionBytes = utf8Length(state.audiencesVersion);
  out.uint(versionBytes + 1);
  out.utf8(state.audiencesVersion, versionBytes);
  out.uint(state.audienceIds.length);
  for (const id of state.audienceIds) {
    const idBytes = utf8Length(id);
    out.uint(idBytes);
    out.utf8(id, idBytes);
  }
  out.uint(state.audiencesReviewedAt - base);
  out.maybeDelta(state.audiencesReviewAt, base);
}

function readAudiences(input: ByteReader, base: number): DecodedAudiences {
  const versionRaw = input.uint();
  if (versionRaw === 0) return NO_AUDIENCES;
  const audiencesVersion = input.utf8(versionRaw - 1);
  const count = input.uint();
  const audienceIds: string[] = [];
  for (let index = 0; index < count; index++) audienceIds.push(input.utf8(input.uint()));
  const audiencesReviewedAt = input.at(base);
  const audiencesReviewAt = input.maybeAt(base);
  return { audiencesVersion, audienceIds, audiencesReviewedAt, audiencesReviewAt };
}

/** The ledger, front-coded (see the layout above). */
function writeLedger(out: ByteWriter, ids: readonly string[], receivedAt: readonly number[]): void {
  out.uint(ids.length);
  if (ids.length === 0) return;
  let latest = receivedAt[0]!;
  for (let index = 1; index < receivedAt.length; index++) if (receivedAt[index]! > latest) latest = receivedAt[index]!;
  out.uint(latest);
  let previous = "";
  for (let index = 0; index < ids.length; index++) {
    const id = ids[index]!;
    const shared = sharedAsciiPrefix(previous, id);
    const suffix = shared === 0 ? id : id.slice(shared);
    const suffixBytes = utf8Length(suffix);
    out.uint(shared);
    out.uint(suffixBytes);
    out.utf8(suffix, suffixBytes);
    out.uint(latest - receivedAt[index]!);
    previous = id;
  }
}

function readLedger(input: ByteReader, ids: string[], receivedAt: number[]): void {
  const count = input.uint();
  if (count === 0) return;
  const latest = input.uint();
  let previous = "";
  for (let index = 0; index < count; index++) {
    const shared = input.uint();
    if (shared > previous.length) throw new RangeError("state codec: ledger prefix longer than the previous id");
    const suffix = input.utf8(input.uint());
    const id = shared === 0 ? suffix : previous.slice(0, shared) + suffix;
    ids.push(id);
    receivedAt.push(latest - input.uint());
    previous = id;
  }
}

/**
 * Code units `left` and `right` share at the start, counting only ASCII ones: an ASCII code
 * unit is one UTF-8 byte and never half of a surrogate pair, so the suffix is whole text.
 */
function sharedAsciiPrefix(left: string, right: string): number {
  const limit = Math.min(left.length, right.length);
  let index = 0;
  while (index < limit) {
    const code = left.charCodeAt(index);
    if (code >= 0x80 || code !== right.charCodeAt(index)) break;
    index++;
  }
  return index;
}

/** Formats 1 and 2: the window of (time delta, fingerprint) pairs, which the ledger replaces. */
function skipFingerprints(input: ByteReader, fingerprintBytes: number): void {
  const count = input.uint();
  for (let index = 0; index < count; index++) {
    input.uint();
    input.take(fingerprintBytes);
  }
}
