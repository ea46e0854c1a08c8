import type { FieldError } from "./contract.ts";
import type { EpochMs } from "./time.ts";

/**
 * An event dated more than `maxFutureSkewMs` after `now` — the receiving service's clock, passed
 * in — is refused, although the contract's range reaches 9999: in event-clock mode one such event
 * would move its partition's watermark and fire every deadline before it, churning customers who
 * are still active. Returns the problem, or null when the event is not dated too far ahead.
 */
export function futureEventProblem(occurredAt: EpochMs, now: EpochMs, maxFutureSkewMs: number): FieldError | null {
  const latest = now + maxFutureSkewMs;
  if (occurredAt <= latest) return null;
  return {
    path: "occurredAt",
    code: "FUTURE_EVENT",
    message: `occurredAt ${instantText(occurredAt)} is later than the receiving clock allows: at most ${maxFutureSkewMs} ms ahead, ${instantText(latest)}`,
  };
}

/** ISO text of an instant; the bare number where Date cannot represent it. */
function instantText(at: EpochMs): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toISOString();
}
