import { describe, expect, it } from "vitest";
import { choiceOption, instantOption, intOption, parseCommandArgs, UsageError, yearMonthOption } from "./args.ts";

describe("parseCommandArgs", () => {
  it("parses flags and positionals", () => {
    const { values, positionals } = parseCommandArgs(["file.txt", "--batch", "100", "--json"], { batch: { type: "string" }, json: { type: "boolean" } }, { min: 1, max: 1 });
    expect(values).toEqual({ batch: "100", json: true });
    expect(positionals).toEqual(["file.txt"]);
  });

  it("turns unknown flags and wrong positional counts into usage errors", () => {
    expect(() => parseCommandArgs(["--nope"], {}, { min: 0, max: 0 })).toThrow(UsageError);
    expect(() => parseCommandArgs([], {}, { min: 1, max: 1 })).toThrow(/expected 1 argument/);
    expect(() => parseCommandArgs(["a", "b"], {}, { min: 1, max: 1 })).toThrow(/unexpected argument "b"/);
  });
});

describe("option values", () => {
  it("reads whole numbers within bounds, with a default", () => {
    expect(intOption("batch", undefined, 500, { min: 1, max: 10 })).toBe(500);
    expect(intOption("batch", "7", 500, { min: 1, max: 10 })).toBe(7);
    expect(() => intOption("batch", "0", 500, { min: 1, max: 10 })).toThrow(/between 1 and 10/);
    expect(() => intOption("batch", "2.5", 500, { min: 1, max: 10 })).toThrow(/whole number/);
    expect(() => intOption("batch", "-3", 500, { min: 1, max: 10 })).toThrow(UsageError);
  });

  it("accepts only the listed choices", () => {
    expect(choiceOption("clock", undefined, ["wall", "event"], "wall")).toBe("wall");
    expect(choiceOption("clock", "event", ["wall", "event"], "wall")).toBe("event");
    expect(() => choiceOption("clock", "solar", ["wall", "event"], "wall")).toThrow(/one of wall, event/);
  });

  it("reads YYYY-MM months", () => {
    expect(yearMonthOption("from", undefined)).toBeUndefined();
    expect(yearMonthOption("from", "1997-03")).toEqual({ year: 1997, month: 3 });
    for (const bad of ["1997-13", "1997-3", "97-03", "1997-03-01", "1997-00"]) expect(() => yearMonthOption("from", bad)).toThrow(/YYYY-MM/);
  });

  it("reads instants: a day is its midnight UTC, a date-time needs an offset", () => {
    expect(instantOption("to", undefined)).toBeUndefined();
    expect(instantOption("to", "1998-07-01")).toBe("1998-07-01T00:00:00Z");
    expect(instantOption("as-of", "1998-07-01T12:30:00+02:00")).toBe("1998-07-01T12:30:00+02:00");
    for (const bad of ["1998-07", "1998-07-01T12:00:00", "yesterday", "1998-13-45"]) expect(() => instantOption("to", bad)).toThrow(/YYYY-MM-DD/);
  });
});
