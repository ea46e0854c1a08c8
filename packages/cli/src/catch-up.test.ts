import { describe, expect, it } from "vitest";
import { CatchUpTracker } from "./catch-up.ts";

describe("CatchUpTracker", () => {
  it("waits for zero lag and a stage-change topic quiet for the whole period", () => {
    const tracker = new CatchUpTracker(2000);
    expect(tracker.observe({ atMs: 0, lags: { processor: 10n, sink: 5n }, stageChangeEnd: 3n })).toMatchObject({ caughtUp: false, totalLag: 15n });
    expect(tracker.observe({ atMs: 1000, lags: { processor: 0n, sink: 0n }, stageChangeEnd: 7n })).toMatchObject({ caughtUp: false, stableForMs: 0 });
    expect(tracker.observe({ atMs: 2500, lags: { processor: 0n, sink: 0n }, stageChangeEnd: 7n })).toMatchObject({ caughtUp: false, stableForMs: 1500 });
    // A late stage change restarts the quiet period.
    expect(tracker.observe({ atMs: 2900, lags: { processor: 0n, sink: 1n }, stageChangeEnd: 8n })).toMatchObject({ caughtUp: false, stableForMs: 0 });
    expect(tracker.observe({ atMs: 4000, lags: { processor: 0n, sink: 0n }, stageChangeEnd: 8n })).toMatchObject({ caughtUp: false });
    expect(tracker.observe({ atMs: 4900, lags: { processor: 0n, sink: 0n }, stageChangeEnd: 8n })).toMatchObject({ caughtUp: true, totalLag: 0n, stableForMs: 2000 });
  });

  it("does not call a lagging pipeline caught up however quiet the topic is", () => {
    const tracker = new CatchUpTracker(2000);
    tracker.observe({ atMs: 0, lags: { processor: 1n }, stageChangeEnd: 0n });
    expect(tracker.observe({ atMs: 60_000, lags: { processor: 1n }, stageChangeEnd: 0n }).caughtUp).toBe(false);
  });
});
