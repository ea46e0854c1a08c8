import { describe, expect, it } from "vitest";
import { createInputEventSchema, domainEventProblems, parseInputEvent, type CustomerEvent } from "./contract.ts";

const schema = createInputEventSchema({ reportingCurrency: "USD" });
const parse = (input: unknown) => parseInputEvent(schema, input);
const purchase = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  eventId: "e1",
  type: "purchase",
  customerId: "c1",
  occurredAt: "2024-05-01T12:00:00+02:00",
  properties: { orderId: "o1", amount: "19.99", currency: "USD", ...properties },
  ...extra,
});
const errorsOf = (input: unknown) => {
  const result = parse(input);
  return result.ok ? [] : result.errors;
};

describe("input event contract (JSON form)", () => {
  it("accepts the three event types and normalises them", () => {
    expect(parse(purchase({ quantity: 2 }))).toEqual({
      ok: true,
      event: {
        eventId: "e1",
        type: "purchase",
        customerId: "c1",
        occurredAt: Date.UTC(2024, 4, 1, 10),
        properties: { orderId: "o1", amountE4: 199_900, currency: "USD", quantity: 2 },
      },
    });
    expect(parse({ eventId: "e2", type: "login", customerId: "c1", occurredAt: "2024-05-01T12:00Z" })).toMatchObject({
      ok: true,
      event: { type: "login", properties: { channel: null } },
    });
    expect(
      parse({ eventId: "e3", type: "support", customerId: "c1", occurredAt: "2024-05-01T12:00:00.123Z", properties: { ticketId: "t", action: "resolved", satisfaction: 5 } }),
    ).toMatchObject({ ok: true, event: { occurredAt: Date.UTC(2024, 4, 1, 12, 0, 0, 123), properties: { action: "resolved", satisfaction: 5 } } });
  });

  it("amounts: JSON numbers and strings, exact, ≥ 0, ≤ 4 fraction digits", () => {
    expect(parse(purchase({ amount: 11.77 }))).toMatchObject({ ok: true, event: { properties: { amountE4: 117_700 } } });
    expect(parse(purchase({ amount: "0" }))).toMatchObject({ ok: true, event: { properties: { amountE4: 0 } } });
    for (const amount of [-1, "-0.01", "1.23456", 1e21, "12,50", null, true, "NaN"]) {
      expect(errorsOf(purchase({ amount })).map((error) => error.path), String(amount)).toEqual(["properties.amount"]);
    }
  });

  it("rejects other currencies with a clear message", () => {
    expect(errorsOf(purchase({ currency: "EUR" }))).toEqual([{ path: "properties.currency", message: "currency EUR is not the reporting currency USD" }]);
    expect(errorsOf(purchase({ currency: "usd" }))[0]?.message).toMatch(/ISO 4217/);
  });

  it("dates need an offset and must exist", () => {
    for (const occurredAt of ["2024-05-01", "2024-05-01T12:00:00", "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z", "yesterday", 1714557600000, "1969-12-31T23:59:59Z", "2024-05-01T25:00:00Z"]) {
      expect(errorsOf(purchase({}, { occurredAt })).map((error) => error.path), String(occurredAt)).toEqual(["occurredAt"]);
    }
  });

  it("ids are 1..128 characters", () => {
    expect(errorsOf(purchase({}, { eventId: "" }))[0]).toEqual({ path: "eventId", message: "eventId must not be empty" });
    expect(errorsOf(purchase({}, { customerId: "x".repeat(129) }))[0]).toEqual({ path: "customerId", message: "customerId must be at most 128 characters" });
    expect(parse(purchase({}, { customerId: "x".repeat(128) })).ok).toBe(true);
  });

  it("ids are well-formed Unicode, not blank and free of control characters, each refused with a code", () => {
    const support = (ticketId: string) => ({ eventId: "e9", type: "support", customerId: "c1", occurredAt: "2024-05-01T12:00:00Z", properties: { ticketId, action: "opened" } });
    const cases: [input: unknown, path: string, code: string, message: string][] = [
      [purchase({}, { customerId: "a\ud800b" }), "customerId", "ID_LONE_SURROGATE", "customerId holds a lone UTF-16 surrogate (U+D800 at index 1): not well-formed Unicode"],
      [purchase({}, { eventId: "\udfff" }), "eventId", "ID_LONE_SURROGATE", "eventId holds a lone UTF-16 surrogate (U+DFFF at index 0): not well-formed Unicode"],
      [purchase({}, { customerId: "   " }), "customerId", "ID_BLANK", "customerId must not be blank (only whitespace)"],
      [purchase({}, { eventId: "\u3000\u00a0" }), "eventId", "ID_BLANK", "eventId must not be blank (only whitespace)"],
      [purchase({}, { customerId: "a\u0000" }), "customerId", "ID_CONTROL_CHARACTER", "customerId holds the control character U+0000 at index 1"],
      [purchase({}, { customerId: "\n" }), "customerId", "ID_CONTROL_CHARACTER", "customerId holds the control character U+000A at index 0"],
      [purchase({}, { eventId: "x\u007f" }), "eventId", "ID_CONTROL_CHARACTER", "eventId holds the control character U+007F at index 1"],
      [purchase({ orderId: "o\u0085" }), "properties.orderId", "ID_CONTROL_CHARACTER", "orderId holds the control character U+0085 at index 1"],
      [support("t\t1"), "properties.ticketId", "ID_CONTROL_CHARACTER", "ticketId holds the control character U+0009 at index 1"],
    ];
    for (const [input, path, code, message] of cases) expect(errorsOf(input)).toEqual([{ path, code, message }]);
    // Well-formed pairs, inner spaces and other scripts are ids like any other.
    for (const customerId of ["😀", "a b", " padded ", "Zoë-42", "客户"]) expect(parse(purchase({}, { customerId })).ok, customerId).toBe(true);
  });

  it("domainEventProblems applies the same id rules to events from the topic", () => {
    const event: CustomerEvent = { eventId: "e1", type: "purchase", customerId: "c1", occurredAt: Date.UTC(2024, 4, 1), properties: { orderId: "o1", amountE4: 10_000, currency: "USD", quantity: null } };
    expect(domainEventProblems(event, "USD")).toEqual([]);
    expect(domainEventProblems({ ...event, customerId: "a\ud800", eventId: " ", properties: { ...event.properties, orderId: "\u0000" } }, "USD")).toEqual([
      { path: "eventId", code: "ID_BLANK", message: "eventId must not be blank (only whitespace)" },
      { path: "customerId", code: "ID_LONE_SURROGATE", message: "customerId holds a lone UTF-16 surrogate (U+D800 at index 1): not well-formed Unicode" },
      { path: "properties.orderId", code: "ID_CONTROL_CHARACTER", message: "orderId holds the control character U+0000 at index 0" },
    ]);
    const support: CustomerEvent = { eventId: "e2", type: "support", customerId: "c1", occurredAt: Date.UTC(2024, 4, 1), properties: { ticketId: "t\u009f", action: "opened", satisfaction: null } };
    expect(domainEventProblems(support, "USD")).toEqual([{ path: "properties.ticketId", code: "ID_CONTROL_CHARACTER", message: "ticketId holds the control character U+009F at index 1" }]);
  });

  it("names every wrong field at once, and rejects unknown ones", () => {
    const paths = errorsOf({ eventId: 1, type: "support", customerId: "c", occurredAt: "bad", properties: { ticketId: "t", action: "closed", satisfaction: 6, extra: 1 } })
      .map((error) => error.path)
      .sort();
    expect(paths).toEqual(["eventId", "occurredAt", "properties", "properties.action", "properties.satisfaction"]);
    expect(errorsOf(purchase({}, { surprise: 1 }))[0]?.path).toBe("(event)");
  });

  it("rejects unknown types and non-objects", () => {
    expect(errorsOf(purchase({}, { type: "refund" }))).toEqual([{ path: "type", message: "type must be one of purchase, login, support" }]);
    for (const input of [null, 42, "text", [], undefined]) expect(parse(input).ok).toBe(false);
  });

  it("quantity is an optional integer ≥ 1", () => {
    for (const quantity of [0, 1.5, -3, "2"]) expect(errorsOf(purchase({ quantity }))[0]?.path, String(quantity)).toBe("properties.quantity");
  });
});
