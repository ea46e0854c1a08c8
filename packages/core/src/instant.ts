import { ISO_WITH_OFFSET, MAX_TIME, MIN_TIME, sameCalendarFields } from "./contract.ts";
import type { EpochMs } from "./time.ts";

export type ParsedInstant = { ok: true; at: EpochMs } | { ok: false; message: string };

/**
 * An instant written the way the event contract writes occurredAt: ISO-8601 with an explicit
 * offset, a real calendar date, 1970-01-01 .. 9999-12-31. `name` is the field in the message.
 */
export function parseIsoInstant(text: unknown, name: string): ParsedInstant {
  if (typeof text !== "string" || !ISO_WITH_OFFSET.test(text)) {
    return { ok: false, message: `${name} must be ISO-8601 with an offset, e.g. 1998-07-01T00:00:00Z` };
  }
  const at = Date.parse(text);
  if (Number.isNaN(at) || !sameCalendarFields(text, at)) return { ok: false, message: `${name} ${JSON.stringify(text)} is not a real date-time` };
  if (at < MIN_TIME || at > MAX_TIME) return { ok: false, message: `${name} must be between 1970-01-01 and 9999-12-31 (UTC)` };
  return { ok: true, at };
}
