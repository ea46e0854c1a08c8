import { describe, expect, it } from "vitest";
import type { CohortRow } from "./cohort-query.ts";
import { formatDecimal, formatPercent, renderCohortMatrix } from "./cohort-table.ts";

const row = (cohort: string, period: number, size: number, active: number, revenue: string): CohortRow => ({
  cohort,
  period,
  cohortCustomers: String(size),
  activeCustomers: String(active),
  revenue,
});

// A three-month horizon: the January cohort has periods 0..2, February 0..1, March only 0.
const rows = [
  row("1997-03-01", 0, 3, 3, "30.0000"),
  row("1997-01-01", 0, 1200, 1200, "36000.5000"),
  row("1997-01-01", 1, 1200, 187, "5012.1200"),
  row("1997-01-01", 2, 1200, 0, "0.0000"),
  row("1997-02-01", 0, 8, 8, "99.9900"),
  row("1997-02-01", 1, 8, 1, "12.3450"),
];

describe("renderCohortMatrix", () => {
  it("draws the triangle of active customers, cohorts in order", () => {
    expect(renderCohortMatrix(rows, { granularity: "month", measure: "count" }).split("\n")).toEqual([
      "cohort   customers     m0   m1  m2",
      "1997-01      1,200  1,200  187   0",
      "1997-02          8      8    1",
      "1997-03          3      3",
    ]);
  });

  it("shows shares of the cohort with one decimal", () => {
    expect(renderCohortMatrix(rows, { granularity: "month", measure: "percent" }).split("\n")).toEqual([
      "cohort   customers      m0     m1    m2",
      "1997-01      1,200  100.0%  15.6%  0.0%",
      "1997-02          8  100.0%  12.5%",
      "1997-03          3  100.0%",
    ]);
  });

  it("shows revenue exactly", () => {
    expect(renderCohortMatrix(rows, { granularity: "month", measure: "revenue" }).split("\n")).toEqual([
      "cohort   customers         m0        m1    m2",
      "1997-01      1,200  36,000.50  5,012.12  0.00",
      "1997-02          8      99.99    12.345",
      "1997-03          3      30.00",
    ]);
  });

  it("labels weekly cohorts by their Monday", () => {
    const weekly = [row("1996-12-30", 0, 2, 2, "1"), row("1996-12-30", 1, 2, 1, "1"), row("1997-01-06", 0, 5, 5, "1")];
    expect(renderCohortMatrix(weekly, { granularity: "week", measure: "count" }).split("\n")).toEqual([
      "cohort week  customers  w0  w1",
      "1996-12-30           2   2   1",
      "1997-01-06           5   5",
    ]);
  });

  it("says so when the view is empty", () => {
    expect(renderCohortMatrix([], { granularity: "month", measure: "count" })).toMatch(/no cohorts/);
  });
});

describe("cell formats", () => {
  it("rounds percentages half up on integers", () => {
    expect(formatPercent("1", "8")).toBe("12.5%");
    expect(formatPercent("1", "3")).toBe("33.3%");
    expect(formatPercent("2", "3")).toBe("66.7%");
    expect(formatPercent("1", "16")).toBe("6.3%"); // 6.25 → 6.3
    expect(formatPercent("1", "2000")).toBe("0.1%"); // 0.05 → 0.1
    expect(formatPercent("0", "0")).toBe("-");
    expect(formatPercent("18446744073709551615", "18446744073709551615")).toBe("100.0%");
  });

  it("keeps decimals exact, at least to cents", () => {
    expect(formatDecimal("1234.5600")).toBe("1,234.56");
    expect(formatDecimal("0.1250")).toBe("0.125");
    expect(formatDecimal("7")).toBe("7.00");
    expect(formatDecimal("-12.3000")).toBe("-12.30");
    expect(formatDecimal("99999999999999999999999999999999.9999")).toBe("99,999,999,999,999,999,999,999,999,999,999.9999");
    expect(formatDecimal("nan")).toBe("nan");
  });
});
