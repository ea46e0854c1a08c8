import { ByteReader, ByteWriter } from "./bytes.ts";
import type { StageTransition } from "./machine.ts";
import { REASON_CODES, RISK_LEVELS, STAGES, type ReasonCode, type RiskLevel, type Stage } from "./stages.ts";

/** One entry of a customer's recent stage changes, as the customer API returns it (times as epoch ms). */
export interface HistoryEntry {
  transitionId: string;
  from: Stage | null;
  to: Stage;
  reason: { code: ReasonCode; numbers: Record<string, number> };
  occurredAt: number;
  trigger: "event" | "timer";
  eventId: string | null;
  riskLevel: RiskLevel;
}

/**
 * A compact binary form of a history entry for Redis lists: about 50 bytes where the JSON
 * form took about 250 (the history was ten times the customer's state in Redis). The
 * customer id is the list's key; transitionId is rebuilt from it and the version.
 *
 * Layout: format(1)=1 version from+1(1) to(1) code(1) trigger(1) risk(1) occurredAt
 * eventId(len+1, 0 = null; utf8) numbers(n, [name, value]…); integers are varints. A
 * name is its index in NUMBER_NAMES, or 255 then its utf8 text (len-prefixed). A value
 * with at most three decimals (≥ 0, < 2^44) is tag 0 and varint(value·1000), else tag 1
 * and a float64. Entries that begin with "{" are the earlier JSON form and still read.
 */
const FORMAT = 1;
const TRIGGERS = ["event", "timer"] as const;
/** Names the stage rules explain with (classify.ts); others are written out. */
const NUMBER_NAMES = [
  "gapDays",
  "warnAfterDays",
  "churnAfterDays",
  "personalThresholds",
  "meanGapDays",
  "score",
  "floor",
  "daysSinceWinBack",
  "wonBackPeriodDays",
  "tenureDays",
  "activationEndsDay",
  "purchaseDays",
  "monetary",
] as const;
const INLINE_NAME = 255;
const MILLI_LIMIT = 2 ** 44;
const text = new TextEncoder();
const utf8 = new TextDecoder();

/** One scratch writer for every call (encoding is synchronous); the result is always a fresh copy. */
const scratch = new ByteWriter("history entry");

export function encodeHistoryEntry(transition: StageTransition): Uint8Array {
  const out = scratch.reset();
  out.byte(FORMAT);
  out.uint(transition.version);
  out.byte(transition.from === null ? 0 : STAGES.indexOf(transition.from) + 1);
  out.byte(STAGES.indexOf(transition.to));
  out.byte(REASON_CODES.indexOf(transition.reason.code));
  out.byte(TRIGGERS.indexOf(transition.trigger));
  out.byte(RISK_LEVELS.indexOf(transition.riskLevel));
  out.uint(transition.occurredAt);
  if (transition.eventId === null) out.uint(0);
  else {
    const eventId = text.encode(transition.eventId);
    out.uint(eventId.length + 1);
    out.raw(eventId);
  }
  const numbers = Object.entries(transition.reason.numbers);
  out.uint(numbers.length);
  for (const [name, value] of numbers) {
    const known = (NUMBER_NAMES as readonly string[]).indexOf(name);
    if (known >= 0) out.byte(known);
    else {
      const bytes = text.encode(name);
      out.byte(INLINE_NAME);
      out.uint(bytes.length);
      out.raw(bytes);
    }
    const milli = Math.round(value * 1000);
    if (value >= 0 && milli < MILLI_LIMIT && milli / 1000 === value) {
      out.byte(0);
      out.uint(milli);
    } else {
      out.byte(1);
      out.float(value);
    }
  }
  return out.result();
}

export function decodeHistoryEntry(customerId: string, entry: Uint8Array): HistoryEntry {
  if (entry[0] === 0x7b) return JSON.parse(utf8.decode(entry)) as HistoryEntry; // "{": the earlier JSON form
  const input = new ByteReader(entry, "history entry");
  if (input.byte() !== FORMAT) throw new RangeError("history entry: unknown format");
  const version = input.uint();
  const fromIndex = input.byte();
  const to = known(STAGES, input.byte(), "stage");
  const code = known(REASON_CODES, input.byte(), "reason code");
  const trigger = known(TRIGGERS, input.byte(), "trigger");
  const riskLevel = known(RISK_LEVELS, input.byte(), "risk level");
  const occurredAt = input.uint();
  const eventIdLength = input.uint();
  const eventId = eventIdLength === 0 ? null : utf8.decode(input.take(eventIdLength - 1));
  const numbers: Record<string, number> = {};
  for (let count = input.uint(); count > 0; count--) {
    const nameIndex = input.byte();
    const name = nameIndex === INLINE_NAME ? utf8.decode(input.take(input.uint())) : known(NUMBER_NAMES, nameIndex, "number name");
    numbers[name] = input.byte() === 0 ? input.uint() / 1000 : input.float();
  }
  if (!input.done()) throw new RangeError("history entry: trailing bytes");
  return {
    transitionId: `${customerId}:${version}`,
    from: fromIndex === 0 ? null : known(STAGES, fromIndex - 1, "stage"),
    to,
    reason: { code, numbers },
    occurredAt,
    trigger,
    eventId,
    riskLevel,
  };
}

function known<T>(values: readonly T[], index: number, what: string): T {
  const value = values[index];
  if (value === undefined) throw new RangeError(`history entry: unknown ${what} ${index}`);
  return value;
}
