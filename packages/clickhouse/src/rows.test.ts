import { customerEventToRecord } from "@clm/contracts";
import { describe, expect, it } from "vitest";
import { dateTimeSeconds, Decimal4, eventRow, MAX_DATETIME_SECONDS, serializeRow } from "./rows.ts";

describe("sink rows", () => {
  it("writes money as exact decimal text, never through a float", () => {
    const line = serializeRow({ amount: new Decimal4(90_071_992_547_409_91), small: new Decimal4(1), zero: new Decimal4(0) });
    expect(line).toBe('{"amount":900719925474.0991,"small":0.0001,"zero":0.00}');
  });

  it("escapes strings and writes nulls, arrays and non-finite floats safely", () => {
    expect(serializeRow({ text: 'a"b\\c\n', missing: null, keys: ["x", "y"], values: [1.5], score: Number.NaN })).toBe(
      '{"text":"a\\"b\\\\c\\n","missing":null,"keys":["x","y"],"values":[1.5],"score":0}',
    );
  });

  it("never writes a DateTime beyond 2106-02-07T06:28:15Z (18.16 would wrap it around); the _ms column keeps the exact instant", () => {
    expect(MAX_DATETIME_SECONDS).toBe(Date.UTC(2106, 1, 7, 6, 28, 15) / 1000);
    expect(dateTimeSeconds(Date.UTC(2106, 1, 7, 6, 28, 15, 999))).toBe(MAX_DATETIME_SECONDS);
    expect(dateTimeSeconds(Date.UTC(2106, 1, 7, 6, 28, 16))).toBe(MAX_DATETIME_SECONDS);
    expect(dateTimeSeconds(Date.UTC(2099, 0, 1))).toBe(Date.UTC(2099, 0, 1) / 1000);
    expect(dateTimeSeconds(-1)).toBe(0);
    const farFuture = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    const row = eventRow(
      customerEventToRecord({ eventId: "e9", customerId: "c9", occurredAt: farFuture, type: "login", properties: { channel: null } }),
      { partition: 0, offset: "0" },
      Date.UTC(2026, 0, 1),
    );
    expect([row.occurred_at, row.occurred_at_ms]).toEqual([MAX_DATETIME_SECONDS, farFuture]);
  });

  it("maps each event type to the typed columns, others left empty", () => {
    const purchase = eventRow(
      customerEventToRecord({ eventId: "e1", customerId: "c1", occurredAt: Date.UTC(1997, 0, 1, 12, 30, 5, 250), type: "purchase", properties: { orderId: "o1", amountE4: 123_400, currency: "USD", quantity: 2 } }, 42),
      { partition: 3, offset: "17" },
      Date.UTC(2026, 0, 1),
    );
    expect(serializeRow(purchase)).toBe(
      '{"event_id":"e1","customer_id":"c1","event_type":"purchase","occurred_at":852121805,"occurred_at_ms":852121805250,"received_at_ms":42,' +
        '"order_id":"o1","amount":12.34,"currency":"USD","quantity":2,"login_channel":"","ticket_id":"","support_action":"","satisfaction":null,' +
        '"kafka_partition":3,"kafka_offset":17,"written_at":1767225600}',
    );
    const support = eventRow(
      customerEventToRecord({ eventId: "e2", customerId: "c1", occurredAt: 0, type: "support", properties: { ticketId: "t", action: "opened", satisfaction: 4 } }),
      { partition: 0, offset: "0" },
      0,
    );
    expect([support.event_type, support.ticket_id, support.support_action, support.satisfaction, (support.amount as Decimal4).e4, support.order_id]).toEqual(["support", "t", "opened", 4, 0, ""]);
  });
});
