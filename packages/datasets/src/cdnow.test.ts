import { describe, expect, it } from "vitest";
import { parseCdnowLine, parseCdnowText, readCdnowFile } from "./cdnow.ts";

describe("CDNOW reader", () => {
  it("turns a master row into a purchase event", () => {
    expect(parseCdnowLine(" 00002 19970112  5   77.00", 3)).toEqual({
      eventId: "cdnow-3",
      type: "purchase",
      customerId: "2",
      occurredAt: "1997-01-12T00:00:00Z",
      properties: { orderId: "cdnow-3", amount: "77.00", currency: "USD", quantity: 5 },
    });
  });

  it("reads sample rows (master id kept) and reports bad rows with their number", () => {
    const { events, errors } = parseCdnowText(" master sample date\r\n 00004 0001 19970101  2   29.33\r\n 00004 x\r\n 00005 0002 1997013  1 1.00\r\n");
    expect(events.map((event) => event.customerId)).toEqual(["4"]);
    expect(errors.map((error) => [error.row, error.message])).toEqual([
      [2, "expected 4 or 5 columns, got 2"],
      [3, 'date "1997013" is not YYYYMMDD'],
    ]);
  });

  it("reads the whole shipped master file: 69,659 purchases by 23,570 customers", async () => {
    const { events, errors } = await readCdnowFile();
    expect(errors).toEqual([]);
    expect(events).toHaveLength(69_659);
    expect(new Set(events.map((event) => event.customerId)).size).toBe(23_570);
  });
});
