import { describe, expect, it } from "vitest";
import { dateLiteral, valueSummariesQuery } from "./value.ts";

describe("value model queries", () => {
  it("take only real calendar days", () => {
    expect(dateLiteral("1997-09-30")).toBe("toDate('1997-09-30')");
    expect(() => dateLiteral("1997-09-31")).toThrow(RangeError);
    expect(() => dateLiteral("1997-9-30")).toThrow(RangeError);
    expect(() => dateLiteral("1997-09-30' OR 1")).toThrow(RangeError);
  });

  it("count time in the model's unit and read the deduplicated purchase days", () => {
    const weeks = valueSummariesQuery("test_db", "1997-09-30", "week");
    expect(weeks).toContain("FROM test_db.customer_purchase_days");
    expect(weeks).toContain("/ 7 AS tx");
    expect(valueSummariesQuery("test_db", "1997-09-30", "day")).toContain("/ 1 AS T");
    expect(() => valueSummariesQuery("x; DROP", "1997-09-30", "day")).toThrow(RangeError);
  });
});
