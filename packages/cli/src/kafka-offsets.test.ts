import { describe, expect, it } from "vitest";
import { computeLag, summarizeTopic } from "./kafka-offsets.ts";

const ranges = [
  { partition: 0, low: 0n, high: 100n },
  { partition: 1, low: 10n, high: 50n },
  { partition: 2, low: 0n, high: 0n },
];

describe("topic offsets", () => {
  it("counts retained messages and the end total", () => {
    const summary = summarizeTopic("t", ranges);
    expect(summary.messages).toBe(140n);
    expect(summary.endTotal).toBe(150n);
  });
});

describe("computeLag", () => {
  it("is end minus committed per partition", () => {
    expect(computeLag(ranges, new Map([[0, 90n], [1, 50n], [2, 0n]]))).toEqual({ lag: 10n, committedPartitions: 3 });
  });

  it("counts everything retained where the group never committed (offset -1 or absent)", () => {
    expect(computeLag(ranges, new Map([[0, -1n]]))).toEqual({ lag: 140n, committedPartitions: 0 });
  });

  it("counts from the start offset when the commit points before retained data", () => {
    expect(computeLag(ranges, new Map([[0, 100n], [1, 2n], [2, 0n]]))).toEqual({ lag: 40n, committedPartitions: 3 });
  });
});
