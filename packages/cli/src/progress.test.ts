import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { formatProgressBar, formatProgressLine, ProgressReporter, tenthReached } from "./progress.ts";

describe("progress formatting", () => {
  it("formats a line with percent, counts, rate and elapsed time", () => {
    expect(formatProgressLine({ done: 41_796, total: 69_659, elapsedMs: 5000 })).toBe(" 60%  41,796/69,659  8,359 ev/s  5.0s");
    // Rounded down: 100% only once everything is done.
    expect(formatProgressLine({ done: 999, total: 1000, elapsedMs: 0 })).toMatch(/^ 99%/);
  });

  it("fills the bar in proportion and never overflows it", () => {
    expect(formatProgressBar({ done: 5, total: 10, elapsedMs: 0 }, 10)).toBe("[█████░░░░░]  50%  5/10  0 ev/s  0.0s");
    expect(formatProgressBar({ done: 12, total: 10, elapsedMs: 1000 }, 4)).toMatch(/^\[████\] 100%/);
    expect(formatProgressBar({ done: 0, total: 0, elapsedMs: 0 }, 4)).toMatch(/^\[████\] 100%/);
  });

  it("counts tenths reached", () => {
    expect(tenthReached(0, 100)).toBe(0);
    expect(tenthReached(9, 100)).toBe(0);
    expect(tenthReached(10, 100)).toBe(1);
    expect(tenthReached(99, 100)).toBe(9);
    expect(tenthReached(100, 100)).toBe(10);
    expect(tenthReached(0, 0)).toBe(10);
  });
});

describe("ProgressReporter without a terminal", () => {
  it("prints one line per 10% reached", () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let text = "";
    (stream as unknown as PassThrough).on("data", (chunk: Buffer) => (text += chunk.toString()));
    const reporter = new ProgressReporter(1000, stream);
    for (let done = 50; done <= 1000; done += 50) reporter.update(done);
    reporter.finish();
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(10);
    expect(lines[0]!.startsWith(" 10%  100/1,000 ")).toBe(true);
    expect(lines[9]!.startsWith("100%  1,000/1,000 ")).toBe(true);
    expect(text).not.toContain("\r");
  });
});
