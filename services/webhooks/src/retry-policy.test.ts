import { describe, expect, it } from "vitest";
import { backoffDelay, failureReason, nextAttemptAt, retryAfterAt, verdictOf } from "./retry-policy.ts";

const schedule = { initialDelayMs: 1000, maxDelayMs: 60_000, retryPeriodMs: 24 * 3600_000 };
const status = (code: number, retryAfter: string | null = null) => ({ kind: "status" as const, status: code, retryAfter });

describe("retry policy", () => {
  it("2xx delivers; 408, 429, 5xx, timeouts and network errors retry; other statuses are permanent", () => {
    expect(verdictOf(status(204), 0).kind).toBe("delivered");
    for (const code of [408, 429, 500, 502, 503, 504]) expect(verdictOf(status(code), 0).kind).toBe("retry");
    for (const code of [301, 400, 401, 403, 404, 410, 422]) expect(verdictOf(status(code), 0).kind).toBe("permanent");
    expect(verdictOf({ kind: "timeout" }, 0).kind).toBe("retry");
    expect(verdictOf({ kind: "network", code: "ECONNRESET" }, 0).kind).toBe("retry");
    expect(failureReason(status(503))).toBe("status_5xx");
    expect(failureReason({ kind: "network", code: "ECONNREFUSED" })).toBe("network");
  });

  it("reads Retry-After as seconds or an HTTP date, on 429 and 503", () => {
    expect(retryAfterAt("7", 1000)).toBe(8000);
    expect(retryAfterAt("Wed, 21 Oct 2015 07:28:00 GMT", 0)).toBe(Date.parse("2015-10-21T07:28:00Z"));
    expect(retryAfterAt("soon", 0)).toBeNull();
    expect(verdictOf(status(429, "3"), 0)).toEqual({ kind: "retry", reason: "status 429", notBefore: 3000 });
    expect(verdictOf(status(500, "3"), 0)).toEqual({ kind: "retry", reason: "status 500", notBefore: null });
  });

  it("backs off exponentially with jitter in the upper half, capped", () => {
    expect(backoffDelay(1, schedule, () => 0)).toBe(500);
    expect(backoffDelay(1, schedule, () => 0.999999)).toBe(1000);
    expect(backoffDelay(4, schedule, () => 0)).toBe(4000);
    expect(backoffDelay(40, schedule, () => 0.999999)).toBe(60_000);
  });

  it("waits for Retry-After when later than the backoff, and gives up after the retry period", () => {
    expect(nextAttemptAt(1, 0, 30_000, 0, schedule, () => 0)).toBe(30_000);
    expect(nextAttemptAt(1, 0, null, 0, schedule, () => 0)).toBe(500);
    expect(nextAttemptAt(9, 0, null, schedule.retryPeriodMs, schedule)).toBeNull();
    // The last try falls on the period's end, not past it.
    expect(nextAttemptAt(30, 0, null, schedule.retryPeriodMs - 10, schedule, () => 0)).toBe(schedule.retryPeriodMs);
    expect(nextAttemptAt(1, 0, schedule.retryPeriodMs + 1, 10, schedule)).toBeNull();
  });
});
