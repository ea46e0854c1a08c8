import { createLogger, createMetricsRegistry } from "@clm/observability";
import { describe, expect, it } from "vitest";
import { createModelerMetrics } from "./metrics.ts";
import { Modeler, type FitOutcome } from "./modeler.ts";
import { firstFitDelay, retryDelay } from "./schedule.ts";

const HOUR = 3_600_000;

describe("the refit schedule", () => {
  it("fits at start when no model is current or the current one is an interval old, else when it turns one", () => {
    const now = Date.UTC(2026, 10, 30, 12);
    expect(firstFitDelay(null, now, 24 * HOUR)).toBe(0);
    expect(firstFitDelay({ fittedAt: new Date(now - 24 * HOUR).toISOString() }, now, 24 * HOUR)).toBe(0);
    expect(firstFitDelay({ fittedAt: new Date(now - 30 * HOUR).toISOString() }, now, 24 * HOUR)).toBe(0);
    expect(firstFitDelay({ fittedAt: new Date(now - 20 * HOUR).toISOString() }, now, 24 * HOUR)).toBe(4 * HOUR);
    expect(firstFitDelay({ fittedAt: "not a date" }, now, 24 * HOUR)).toBe(0);
  });

  it("retries after the backoff's pause, never later than the next regular fit", () => {
    expect(retryDelay(5_000, HOUR)).toBe(5_000);
    expect(retryDelay(2 * HOUR, HOUR)).toBe(HOUR);
  });
});

describe("Modeler", () => {
  it("counts failed runs and retries them with backoff instead of stopping, then publishes", async () => {
    const registry = createMetricsRegistry("modeler-test");
    const metrics = createModelerMetrics(registry);
    const outcomes: (FitOutcome | Error)[] = [
      new Error("ClickHouse away"),
      { kind: "skipped", reason: "no watermark yet" },
      { kind: "published", version: "m-1998-06-30-0123abcd", calibrationEnd: "1998-06-30", fittedAt: "2026-11-30T12:00:00.000Z" },
    ];
    const calls: number[] = [];
    let published!: () => void;
    const done = new Promise<void>((resolve) => (published = resolve));
    const modeler = new Modeler({
      fitAndPublish: async () => {
        calls.push(Date.now());
        const next = outcomes.shift()!;
        if (next instanceof Error) throw next;
        if (next.kind === "published") published();
        return next;
      },
      current: async () => {
        throw new Error("Redis away");
      },
      intervalMs: 60_000,
      retryMaxMs: 40,
      now: Date.now,
      logger: createLogger({ service: "modeler-test", level: "silent" }),
      metrics,
    });
    await modeler.start();
    await done;
    await modeler.stop();
    expect(calls.length).toBe(3);
    const fits = (await metrics.fits.get()).values.map((value) => [value.labels.outcome, value.value]);
    expect(fits).toEqual(expect.arrayContaining([["failed", 1], ["skipped", 1], ["published", 1]]));
    expect((await metrics.model.get()).values).toEqual([{ labels: { version: "m-1998-06-30-0123abcd", calibration_end: "1998-06-30" }, value: 1 }]);
    expect((await metrics.lastFitTimestamp.get()).values[0]!.value).toBe(Date.parse("2026-11-30T12:00:00.000Z") / 1000);
  });
});
