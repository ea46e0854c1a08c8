import { describe, expect, it } from "vitest";
import { formatFromPath, parseEventFile, parseNdjson } from "./event-files.ts";

describe("formatFromPath", () => {
  it("infers the format from the extension", () => {
    expect(formatFromPath("data/cdnow/CDNOW_sample.txt")).toBe("cdnow");
    expect(formatFromPath("events.ndjson")).toBe("ndjson");
    expect(formatFromPath("events.JSONL")).toBe("ndjson");
    expect(formatFromPath("events.csv")).toBeNull();
  });
});

describe("parseEventFile", () => {
  it("turns CDNOW rows into purchases sent in time order (stable for equal times)", () => {
    const text = [" 00001 19970301  1   10.00", " 00001 19970101  2   29.33", " 00002 19970101  1   5.5"].join("\n");
    const { events, problems } = parseEventFile(text, "cdnow");
    expect(problems).toEqual([]);
    expect(events.map((event) => [event.eventId, event.customerId, event.occurredAt])).toEqual([
      ["cdnow-2", "1", "1997-01-01T00:00:00Z"],
      ["cdnow-3", "2", "1997-01-01T00:00:00Z"],
      ["cdnow-1", "1", "1997-03-01T00:00:00Z"],
    ]);
    expect(events[0]).toMatchObject({ type: "purchase", properties: { orderId: "cdnow-2", amount: "29.33", currency: "USD", quantity: 2 } });
  });

  it("reports CDNOW rows it cannot read", () => {
    expect(parseEventFile(" 00001 1997-01-01  1  10.00\n", "cdnow").problems).toEqual([{ line: 1, message: 'date "1997-01-01" is not YYYYMMDD' }]);
  });

  it("reads NDJSON in file order, skipping blank lines and naming bad ones", () => {
    const text = ['{"eventId":"b","type":"login"}', "", '{"eventId":"a"}', "[1]", "{oops"].join("\n");
    const { events, problems } = parseNdjson(text);
    expect(events.map((event) => event.eventId)).toEqual(["b", "a"]);
    expect(problems.map((problem) => problem.line)).toEqual([4, 5]);
    expect(problems[0]!.message).toBe("not a JSON object");
  });
});
