/**
 * What one delivery attempt's result means, and when the next try is: pure functions over the
 * attempt's outcome, the tries so far and the time, so the rules are tested without a server.
 *   2xx                                   delivered
 *   408, 429, 5xx, timeout, network error retried with exponential backoff and jitter (429 and 503: not before Retry-After)
 *   any other status (3xx, 4xx)           permanent: dead letter at once
 * A message still failing `retryPeriodMs` after its first try goes to the dead letters.
 */

export type AttemptResult = { kind: "status"; status: number; retryAfter: string | null } | { kind: "timeout" } | { kind: "network"; code: string };

export type Verdict =
  | { kind: "delivered" }
  | { kind: "retry"; reason: string; notBefore: number | null }
  | { kind: "permanent"; reason: string };

/** Reasons as metric labels: a small fixed set. */
export const FAILURE_REASONS = ["status_5xx", "status_429", "status_408", "status_4xx", "status_other", "timeout", "network"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export function failureReason(result: AttemptResult): FailureReason {
  if (result.kind === "timeout") return "timeout";
  if (result.kind === "network") return "network";
  const { status } = result;
  if (status >= 500) return "status_5xx";
  if (status === 429) return "status_429";
  if (status === 408) return "status_408";
  if (status >= 400) return "status_4xx";
  return "status_other";
}

export function verdictOf(result: AttemptResult, now: number): Verdict {
  if (result.kind === "timeout") return { kind: "retry", reason: "timeout", notBefore: null };
  if (result.kind === "network") return { kind: "retry", reason: `network ${result.code}`, notBefore: null };
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: "delivered" };
  if (status === 408 || status === 429 || status >= 500) {
    const notBefore = status === 429 || status === 503 ? retryAfterAt(result.retryAfter, now) : null;
    return { kind: "retry", reason: `status ${status}`, notBefore };
  }
  return { kind: "permanent", reason: `status ${status}` };
}

/** Retry-After as an instant: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function retryAfterAt(header: string | null, now: number): number | null {
  if (header === null || header.trim() === "") return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return now + Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(now, date);
}

export interface RetrySchedule {
  /** The pause after the first failure; each later one doubles, up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** How long after its first try a message is still retried. */
  retryPeriodMs: number;
}

/**
 * The pause after the `attempts`-th failed try: initial × 2^(attempts−1) up to the cap, drawn
 * uniformly from the upper half of that value so destinations that failed together do not retry together.
 */
export function backoffDelay(attempts: number, schedule: RetrySchedule, random: () => number = Math.random): number {
  const nominal = Math.min(schedule.maxDelayMs, schedule.initialDelayMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

/**
 * When to try again after a retryable failure, or null when the message has used up its period:
 * the backoff pause, later if the destination asked (Retry-After), never past the period's end.
 */
export function nextAttemptAt(attempts: number, firstAttemptAt: number, notBefore: number | null, now: number, schedule: RetrySchedule, random?: () => number): number | null {
  const giveUpAt = firstAttemptAt + schedule.retryPeriodMs;
  if (now >= giveUpAt) return null;
  const at = Math.max(now + backoffDelay(attempts, schedule, random), notBefore ?? 0);
  return at >= giveUpAt ? (notBefore !== null && notBefore >= giveUpAt ? null : giveUpAt) : at;
}
