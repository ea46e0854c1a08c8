import { describe, expect, it } from "vitest";
import { createInputEventSchema, parseInputEvent } from "./contract.ts";

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
