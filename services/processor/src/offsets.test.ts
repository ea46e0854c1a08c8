import { describe, expect, it } from "vitest";
import { compareOffsets } from "./offsets.ts";

describe("compareOffsets", () => {
  it("orders like BigInt over many magnitudes", () => {
    const offsets = ["0", "1", "9", "10", "99", "100", "12345", "9007199254740991", "9007199254740993", "18446744073709551615"];
    for (const left of offsets) {
      for (const right of offsets) {
        const expected = BigInt(left) < BigInt(right) ? -1 : BigInt(left) > BigInt(right) ? 1 : 0;
        expect(Math.sign(compareOffsets(left, right))).toBe(expected);
      }
    }
  });

  it("refuses forms it cannot compare as text", () => {
    expect(() => compareOffsets("-1", "0")).toThrow(RangeError);
    expect(() => compareOffsets("007", "7")).toThrow(RangeError);
  });
});
