import { describe, expect, it } from "vitest";
import { formatCount, renderTable } from "./table.ts";

describe("renderTable", () => {
  it("aligns columns, right-aligns where asked and leaves no trailing spaces", () => {
    const text = renderTable(["name", "count", "note"], [["a", "1", ""], ["longer", "1,234", "x"]], ["left", "right", "left"]);
    expect(text.split("\n")).toEqual(["name    count  note", "a           1", "longer  1,234  x"]);
  });

  it("pads missing cells", () => {
    expect(renderTable(["a", "b"], [["1"]])).toBe("a  b\n1");
  });
});

describe("formatCount", () => {
  it("separates thousands", () => {
    expect(formatCount(69659)).toBe("69,659");
    expect(formatCount(12345678901234567890n)).toBe("12,345,678,901,234,567,890");
  });
});
