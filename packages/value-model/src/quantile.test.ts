import { describe, expect, it } from "vitest";
import { quantile } from "./quantile.ts";

describe("quantile (type 7: linear between order statistics)", () => {
  it("agrees with R's quantile() and NumPy's percentile()", () => {
    // R: quantile(c(1, 2, 3, 4), c(0.5, 0.8)) → 2.5, 3.4; numpy.percentile([1,2,3,4], [50, 80]) → 2.5, 3.4
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0.8)).toBeCloseTo(3.4, 12);
    expect(quantile([7], 0.3)).toBe(7);
    expect(quantile([1, 2], 0)).toBe(1);
    expect(quantile([1, 2], 1)).toBe(2);
  });

  it("refuses what has no quantile", () => {
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
  });
});
