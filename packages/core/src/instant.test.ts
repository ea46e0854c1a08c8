import { describe, expect, it } from "vitest";
import { parseIsoInstant } from "./instant.ts";

describe("parseIsoInstant", () => {
  it("reads an ISO-8601 instant with an offset, as the event contract does", () => {
    expect(parseIsoInstant("1998-07-01T00:00:00Z", "to")).toEqual({ ok: true, at: Date.UTC(1998, 6, 1) });
    expect(parseIsoInstant("1998-07-01T02:00:00.5+02:00", "to")).toEqual({ ok: true, at: Date.UTC(1998, 6, 1, 0, 0, 0, 500) });
  });

  it("names the field and the problem otherwise", () => {
    expect(parseIsoInstant("1998-07-01", "asOf")).toEqual({ ok: false, message: "asOf must be ISO-8601 with an offset, e.g. 1998-07-01T00:00:00Z" });
    expect(parseIsoInstant(19980701, "to")).toMatchObject({ ok: false });
    expect(parseIsoInstant("1998-02-30T00:00:00Z", "to")).toEqual({ ok: false, message: 'to "1998-02-30T00:00:00Z" is not a real date-time' });
    expect(parseIsoInstant("1969-12-31T23:59:59Z", "to")).toEqual({ ok: false, message: "to must be between 1970-01-01 and 9999-12-31 (UTC)" });
  });
});
