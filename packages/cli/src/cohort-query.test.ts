import { describe, expect, it } from "vitest";
import { cohortQuery, toCohortRow } from "./cohort-query.ts";

describe("cohortQuery", () => {
  it("reads the monthly view with exact text casts and no bounds by default", () => {
    const sql = cohortQuery({ database: "clm", granularity: "month" });
    expect(sql).toContain("FROM clm.cohort_retention_monthly");
    expect(sql).toContain("toString(revenue) AS revenue_text");
    expect(sql).toContain("toString(cohort_customers) AS cohort_size");
    expect(sql).not.toContain("WHERE");
    expect(sql).toMatch(/ORDER BY cohort_month, period$/);
  });

  it("bounds cohorts by month, the upper month inclusive (also across a year end)", () => {
    const sql = cohortQuery({ database: "db_1", granularity: "week", from: { year: 1997, month: 2 }, to: { year: 1997, month: 12 } });
    expect(sql).toContain("FROM db_1.cohort_retention_weekly");
    expect(sql).toContain("WHERE cohort_week >= toDate('1997-02-01') AND cohort_week < toDate('1998-01-01')");
  });

  it("never splices an unchecked name", () => {
    expect(() => cohortQuery({ database: "clm; DROP TABLE x", granularity: "month" })).toThrow(/not an identifier/);
    expect(() => cohortQuery({ database: "clm", granularity: "month", from: { year: 1997, month: 13 } })).toThrow(/invalid month/);
  });

  it("maps the query's row to the column contract", () => {
    expect(toCohortRow({ cohort_label: "1997-01-01", period_number: "3", cohort_size: "781", active_count: "70", revenue_text: "1234.5600" })).toEqual({
      cohort: "1997-01-01",
      period: 3,
      cohortCustomers: "781",
      activeCustomers: "70",
      revenue: "1234.5600",
    });
  });
});
