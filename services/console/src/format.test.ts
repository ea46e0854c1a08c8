import { describe, expect, it } from "vitest";
import { formatAmount, formatCount, formatMoney, formatParameter, formatRatio, ratioOf } from "./format.ts";

describe("how the console writes numbers", () => {
  it("groups counts and keeps money exact", () => {
    expect(formatCount("1234567")).toBe("1,234,567");
    expect(formatCount(12)).toBe("12");
    expect(formatMoney("1234.5600")).toBe("1,234.56");
    expect(formatMoney("0.1250")).toBe("0.125");
    expect(formatMoney("7")).toBe("7.00");
    expect(formatMoney("-1000000.0001")).toBe("-1,000,000.0001");
    expect(formatMoney("90071992547409931.5500")).toBe("90,071,992,547,409,931.55");
  });

  it("writes ratios as percentages with one decimal", () => {
    expect(formatRatio(ratioOf("124", "781"))).toBe("15.9%");
    expect(formatRatio(ratioOf(1, 0))).toBe("0.0%");
    expect(formatRatio(1)).toBe("100.0%");
  });

  it("writes a model's float money to cents and its parameters to 4 digits", () => {
    expect(formatAmount(1234.567)).toBe("1,234.57");
    expect(formatAmount(0)).toBe("0.00");
    expect(formatParameter(0.242641)).toBe("0.2426");
  });
});
