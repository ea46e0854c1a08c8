import { describe, expect, it } from "vitest";
import { CLOCK_ADVANCE_HEADER, clockAdvanceMessage, readClockAdvance } from "./clock-advance.ts";

describe("clock-advance control records", () => {
  it("are read back from what a consumer receives (header bytes, null value)", () => {
    const message = clockAdvanceMessage(Date.UTC(1998, 6, 1), 3);
    expect(message).toMatchObject({ partition: 3, key: null, value: null });
    const consumed = { value: null, headers: { [CLOCK_ADVANCE_HEADER]: Buffer.from(String(Date.UTC(1998, 6, 1))) } };
    expect(readClockAdvance(consumed)).toEqual({ kind: "advance", to: Date.UTC(1998, 6, 1) });
  });

  it("leave every other record alone and name what is wrong with a malformed one", () => {
    expect(readClockAdvance({ value: Buffer.from([0, 0, 0, 0, 1]), headers: {} })).toEqual({ kind: "none" });
    expect(readClockAdvance({ value: null })).toEqual({ kind: "none" });
    expect(readClockAdvance({ value: null, headers: { [CLOCK_ADVANCE_HEADER]: Buffer.from("1998-07-01") } })).toMatchObject({ kind: "invalid" });
    expect(readClockAdvance({ value: null, headers: { [CLOCK_ADVANCE_HEADER]: Buffer.from("99999999999999999") } })).toMatchObject({ kind: "invalid" });
    expect(readClockAdvance({ value: Buffer.from("x"), headers: { [CLOCK_ADVANCE_HEADER]: Buffer.from("1") } })).toEqual({ kind: "invalid", reason: "a clock advance carries no value" });
    expect(readClockAdvance({ value: null, headers: { [CLOCK_ADVANCE_HEADER]: [Buffer.from("1"), Buffer.from("2")] } })).toMatchObject({ kind: "invalid" });
  });
});
