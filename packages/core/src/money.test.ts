import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { amountToE4, formatE4, parseAmountE4 } from "./money.ts";

describe("money", () => {
  it("parses decimals exactly into E4 units", () => {
    expect(parseAmountE4("11.77")).toBe(117_700);
    expect(parseAmountE4("0")).toBe(0);
    expect(parseAmountE4("0.0001")).toBe(1);
    expect(parseAmountE4("1234.5678")).toBe(12_345_678);
    expect(amountToE4(11.77)).toBe(117_700);
    expect(amountToE4(0.1 + 0.2)).toBeNull(); // 0.30000000000000004 has more than 4 digits
  });

  it("rejects what is not a plain non-negative decimal with ≤ 4 fraction digits", () => {
    for (const bad of ["-1", "1.23456", "1e3", "", ".5", "5.", "01", "abc", "1,5", " 1", "Infinity"]) {
      expect(parseAmountE4(bad), bad).toBeNull();
    }
    expect(amountToE4(Number.NaN)).toBeNull();
    expect(amountToE4(-0.5)).toBeNull();
    expect(amountToE4(1e-7)).toBeNull();
  });

  it("formats with 2 to 4 fraction digits", () => {
    expect(formatE4(117_700)).toBe("11.77");
    expect(formatE4(0)).toBe("0.00");
    expect(formatE4(12_345_678)).toBe("1234.5678");
    expect(formatE4(12_345_600)).toBe("1234.56");
    expect(formatE4(12_345_670)).toBe("1234.567");
  });

  it("round-trips any amount and sums exactly", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000_000 }), { maxLength: 50 }), (amounts) => {
        for (const amount of amounts) expect(parseAmountE4(formatE4(amount))).toBe(amount);
        const total = amounts.reduce((sum, amount) => sum + amount, 0);
        expect(parseAmountE4(formatE4(total))).toBe(total);
      }),
    );
  });
});
