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

export function encodeHistoryEntry(transition: StageTransition): Uint8Array {
  const out: number[] = [FORMAT];
  uint(out, transition.version);
  out.push(transition.from === null ? 0 : STAGES.indexOf(transition.from) + 1, STAGES.indexOf(transition.to));
  out.push(REASON_CODES.indexOf(transition.reason.code), TRIGGERS.indexOf(transition.trigger), RISK_LEVELS.indexOf(transition.riskLevel));
  uint(out, transition.occurredAt);
  if (transition.eventId === null) out.push(0);
  else bytes(out, text.encode(transition.eventId), 1);
  const numbers = Object.entries(transition.reason.numbers);
  uint(out, numbers.length);
  for (const [name, value] of numbers) {
    const known = (NUMBER_NAMES as readonly string[]).indexOf(name);
    if (known >= 0) out.push(known);
    else {
      out.push(INLINE_NAME);
      bytes(out, text.encode(name), 0);
    }
    const milli = Math.round(value * 1000);
    if (value >= 0 && milli < MILLI_LIMIT && milli / 1000 === value) {
      out.push(0);
      uint(out, milli);
    } else {
      out.push(1);
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, value, true);
      out.push(...new Uint8Array(view.buffer));
    }
  }
  return Uint8Array.from(out);
}

export function decodeHistoryEntry(customerId: string, entry: Uint8Array): HistoryEntry {
  if (entry[0] === 0x7b) return JSON.parse(utf8.decode(entry)) as HistoryEntry; // "{": the earlier JSON form
  const input = new Cursor(entry);
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
    numbers[name] = input.byte() === 0 ? input.uint() / 1000 : new DataView(input.take(8).slice().buffer).getFloat64(0, true);
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

function uint(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`history entry: ${value} is not a safe unsigned integer`);
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/** Length (+ offset, so 0 can mean null) as a varint, then the bytes. */
function bytes(out: number[], value: Uint8Array, offset: number): void {
  uint(out, value.length + offset);
  for (const byte of value) out.push(byte);
}

class Cursor {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new RangeError("history entry: truncated");
    return this.bytes[this.offset++]!;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError("history entry: varint too long");
    }
  }

  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw new RangeError("history entry: truncated");
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  done(): boolean {
    return this.offset === this.bytes.length;
  }
}
