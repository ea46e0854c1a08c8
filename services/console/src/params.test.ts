import { describe, expect, it } from "vitest";
import { ConsoleError } from "./errors.ts";
import { customerIdParam, grainOf, intParam, MAX_SPAN, parsePeriodStart, periodsBetween, rangeOf } from "./params.ts";

const params = (query: string) => new URLSearchParams(query);
const refused = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof ConsoleError ? error.code : "not a ConsoleError";
  }
  return "accepted";
};

describe("console API parameters", () => {
  it("bring dates and months to their period's start, and refuse anything else", () => {
    expect(parsePeriodStart("1997-03", "month", "from")).toBe("1997-03-01");
    expect(parsePeriodStart("1997-03-19", "month", "from")).toBe("1997-03-01");
    expect(parsePeriodStart("1997-01-01", "week", "from")).toBe("1996-12-30");
    expect(parsePeriodStart("1997-01-05", "week", "from")).toBe("1996-12-30");
    for (const bad of ["1997-13", "1997-02-30", "97-01-01", "1997-01-01'", "1997-01-01 OR 1=1", "", "1960-01"]) expect(refused(() => parsePeriodStart(bad, "month", "from")), bad).toBe("INVALID_PARAMETER");
  });

  it("take the latest periods of the data when no range is asked, and refuse a range longer than the bound or reversed", () => {
    const data = { from: "1997-01-01", to: "1998-06-01" };
    expect(rangeOf(params(""), "month", data)).toEqual(data);
    expect(rangeOf(params(""), "month", { from: "1990-01-01", to: "2020-12-01" })).toEqual({ from: "2011-01-01", to: "2020-12-01" });
    expect(periodsBetween("2011-01-01", "2020-12-01", "month")).toBe(MAX_SPAN.month);
    expect(rangeOf(params("from=1997-03"), "month", data)).toEqual({ from: "1997-03-01", to: "1998-06-01" });
    expect(rangeOf(params("from=1997-03&to=1997-03"), "month", null)).toEqual({ from: "1997-03-01", to: "1997-03-01" });
    expect(rangeOf(params(""), "month", null)).toBeNull();
    expect(refused(() => rangeOf(params("from=1998-01&to=1997-01"), "month", data))).toBe("INVALID_PARAMETER");
    expect(refused(() => rangeOf(params("from=1990-01&to=2005-01"), "month", data))).toBe("INVALID_PARAMETER");
    expect(refused(() => rangeOf(params("from=1990-01-01&to=1993-12-31"), "week", data))).toBe("INVALID_PARAMETER");
  });

  it("hold grain, integers and customer ids to their rules", () => {
    expect(grainOf(params("grain=week"))).toBe("week");
    expect(refused(() => grainOf(params("grain=day")))).toBe("INVALID_PARAMETER");
    expect(intParam(params(""), "events", 50, 1, 200)).toBe(50);
    for (const bad of ["0", "201", "-1", "1e2", "x"]) expect(refused(() => intParam(params(`events=${bad}`), "events", 50, 1, 200)), bad).toBe("INVALID_PARAMETER");
    expect(customerIdParam("o'brien")).toBe("o'brien");
    for (const bad of ["", "x".repeat(129), "a\u0000b"]) expect(refused(() => customerIdParam(bad))).toBe("INVALID_PARAMETER");
  });
});
