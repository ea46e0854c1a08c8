import { randomUUID } from "node:crypto";
import { avroTypeOptions, CUSTOMER_EVENT_SCHEMA_TEXT, customerEventToRecord, type CustomerEventRecord } from "@clm/contracts";
import type { CustomerEvent } from "@clm/core";
import { AvroSerde, createRegistry } from "@clm/kafka";
import avro from "avsc";
import { afterAll, describe, expect, it } from "vitest";
import { deleteSubjects, isolatedConfig } from "./support/pipeline.ts";

/** The Confluent wire format the services write, with the real registry giving the schema id. */
const config = isolatedConfig();
const subject = `avro-serde-${randomUUID()}-value`;
const sharedSubject = `avro-serde-${randomUUID()}-value`;
afterAll(() => deleteSubjects(config.SCHEMA_REGISTRY_URL, [subject, sharedSubject]));

const event = (customerId: string): CustomerEvent => ({ eventId: `e-${customerId.length}`, customerId, occurredAt: Date.UTC(1997, 0, 1), type: "purchase", properties: { orderId: "o-1", amountE4: 123_456, currency: "USD", quantity: 2 } });

describe("AvroSerde", () => {
  it("writes magic byte, schema id and the Avro body, exactly, for values smaller and larger than its buffer", async () => {
    const serde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), subject, CUSTOMER_EVENT_SCHEMA_TEXT);
    const id = await serde.register();
    const type = avro.Type.forSchema(JSON.parse(CUSTOMER_EVENT_SCHEMA_TEXT) as avro.Schema, avroTypeOptions());
    // Small, then past the 4 KiB scratch buffer (it grows), then small again (nothing of the large one stays).
    for (const customerId of ["c-1", "x".repeat(10_000), "c-2"]) {
      const record = customerEventToRecord(event(customerId), 0);
      const encoded = serde.encode(record);
      expect(encoded[0]).toBe(0);
      expect(encoded.readUInt32BE(1)).toBe(id);
      expect(encoded.subarray(5)).toEqual(type.toBuffer(record));
      await serde.prepare([encoded]);
      expect(serde.decode(encoded)).toEqual(record);
    }
  });

  it("registers a new subject from several processes at once: each gets the one id", async () => {
    // As processors started together do: each its own client, the subject new to all. The registry
    // refuses every compatibility setting after the first (409), which once stopped a processor at start.
    const serdes = Array.from({ length: 6 }, () => new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), sharedSubject, CUSTOMER_EVENT_SCHEMA_TEXT));
    const ids = await Promise.all(serdes.map((serde) => serde.register()));
    expect(new Set(ids).size).toBe(1);
  });
});
