import { describe, expect, it } from "vitest";
import { DAY_MS } from "./time.ts";
import { futureEventProblem } from "./future-events.ts";

const now = Date.UTC(2026, 10, 30, 12);

describe("futureEventProblem", () => {
  it("accepts every event up to now + skew, the past included", () => {
    expect(futureEventProblem(Date.UTC(1997, 0, 1), now, DAY_MS)).toBeNull();
    expect(futureEventProblem(now, now, DAY_MS)).toBeNull();
    expect(futureEventProblem(now + DAY_MS, now, DAY_MS)).toBeNull();
    expect(futureEventProblem(now, now, 0)).toBeNull();
  });

  it("refuses an event one millisecond beyond now + skew, with the FUTURE_EVENT code on occurredAt", () => {
    expect(futureEventProblem(now + DAY_MS + 1, now, DAY_MS)).toEqual({
      path: "occurredAt",
      code: "FUTURE_EVENT",
      message: "occurredAt 2026-12-01T12:00:00.001Z is later than the receiving clock allows: at most 86400000 ms ahead, 2026-12-01T12:00:00.000Z",
    });
    expect(futureEventProblem(now + 1, now, 0)?.code).toBe("FUTURE_EVENT");
  });

  it("refuses the far-future dates the contract's range lets through (2099, 9999) and what is not a time", () => {
    expect(futureEventProblem(Date.UTC(2099, 0, 1), now, DAY_MS)?.code).toBe("FUTURE_EVENT");
    expect(futureEventProblem(Date.UTC(9999, 11, 31, 23, 59, 59, 999), now, DAY_MS)?.message).toContain("9999-12-31T23:59:59.999Z");
    expect(futureEventProblem(Number.NaN, now, DAY_MS)?.message).toContain("occurredAt NaN");
    expect(futureEventProblem(Number.MAX_SAFE_INTEGER, now, DAY_MS)?.message).toContain(`occurredAt ${Number.MAX_SAFE_INTEGER}`);
  });

  it("reads no clock: the limit moves with the `now` it is given", () => {
    expect(futureEventProblem(now + DAY_MS + 1, now + 1, DAY_MS)).toBeNull();
  });
});
