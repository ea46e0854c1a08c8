import { customerEventToRecord, customerEventType } from "@clm/contracts";
import { createInputEventSchema, parseInputEvent } from "@clm/core";
import { KAFKA_DEFAULT_MAX_MESSAGE_BYTES, RECORD_BATCH_OVERHEAD_BYTES, recordBytes } from "@clm/kafka";
import { describe, expect, it } from "vitest";

// The Confluent wire format puts a magic byte and the 4-byte schema id before the Avro value.
const CONFLUENT_HEADER_BYTES = 5;

describe("one event's record", () => {
  it("stays far below any record batch limit: the contract bounds every string of an event", () => {
    // 128 characters of three UTF-8 bytes each in every id: the most bytes the contract admits.
    const longest = "€".repeat(128);
    const parsed = parseInputEvent(createInputEventSchema({ reportingCurrency: "USD" }), {
      eventId: longest,
      type: "purchase",
      customerId: longest,
      occurredAt: "9999-12-31T23:59:59.999+14:00",
      properties: { orderId: longest, amount: "1000000000.0000", currency: "USD", quantity: 1_000_000 },
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const value = Buffer.concat([Buffer.alloc(CONFLUENT_HEADER_BYTES), customerEventType.toBuffer(customerEventToRecord(parsed.event, Date.UTC(9999, 11, 31, 23, 59, 59, 999)))]);
    const batch = RECORD_BATCH_OVERHEAD_BYTES + recordBytes({ key: parsed.event.customerId, value });
    expect(batch).toBeLessThan(2048);
    // Even the client's default batch of 500 such events goes out in one produce request.
    expect(batch * 500).toBeLessThan(KAFKA_DEFAULT_MAX_MESSAGE_BYTES);
  });
});
