import { CUSTOMER_EVENT_SCHEMA_TEXT, type CustomerEventRecord } from "@clm/contracts";
import { AvroSerde, CLOCK_ADVANCE_HEADER, createRegistry, VALUE_MODEL_HEADER } from "@clm/kafka";
import type { KafkaMessage } from "kafkajs";
import { describe, expect, it } from "vitest";
import { decodeEvents } from "./decode.ts";

// Nothing here reaches the registry: control records are recognised before decoding.
const serde = new AvroSerde<CustomerEventRecord>(createRegistry("http://127.0.0.1:9"), "events-value", CUSTOMER_EVENT_SCHEMA_TEXT);
const record = (offset: string, value: Buffer | null, headers: KafkaMessage["headers"] = {}): KafkaMessage =>
  ({ offset, key: null, value, headers, timestamp: "0", attributes: 0, size: 0 }) as KafkaMessage;

describe("decodeEvents", () => {
  it("passes over clock advances without a row or a skip, and skips a malformed one as the processor dead-letters it", () => {
    const decoded = decodeEvents(
      serde,
      [
        record("0", null, { [CLOCK_ADVANCE_HEADER]: Buffer.from(String(Date.UTC(1998, 6, 1))) }),
        record("1", Buffer.from("not avro"), { [CLOCK_ADVANCE_HEADER]: Buffer.from("1") }),
        record("2", null),
      ],
      0,
      "USD",
      86_400_000,
      0,
    );
    expect(decoded.rows).toEqual({ events: [] });
    expect(decoded.skipped).toEqual([
      { offset: "1", reason: "INVALID_CLOCK_ADVANCE" },
      { offset: "2", reason: "NOT_CONFLUENT_AVRO" },
    ]);
  });

  it("passes over value-model activations without a row or a skip, and skips a malformed one", () => {
    const decoded = decodeEvents(
      serde,
      [
        record("0", null, { [VALUE_MODEL_HEADER]: Buffer.from("m-1997-09-30-0123abcd") }),
        record("1", null, { [VALUE_MODEL_HEADER]: Buffer.from("latest") }),
        record("2", Buffer.from("x"), { [VALUE_MODEL_HEADER]: Buffer.from("m-1997-09-30-0123abcd") }),
      ],
      0,
      "USD",
      86_400_000,
      0,
    );
    expect(decoded.rows).toEqual({ events: [] });
    expect(decoded.skipped).toEqual([
      { offset: "1", reason: "INVALID_VALUE_MODEL_ACTIVATION" },
      { offset: "2", reason: "INVALID_VALUE_MODEL_ACTIVATION" },
    ]);
  });
});
