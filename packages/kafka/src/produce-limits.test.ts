import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from "kafkajs";
import { describe, expect, it } from "vitest";
import { loadKafkajsInternals } from "./kafkajs-internals.ts";
import { isRecordRefusal, KAFKA_DEFAULT_MAX_MESSAGE_BYTES, recordBytes, RECORD_BATCH_OVERHEAD_BYTES, RecordTooLargeError, splitIntoRecordBatches } from "./produce-limits.ts";

const message = (index: number, valueBytes: number) => ({ key: `customer-${index % 3}`, value: Buffer.alloc(valueBytes, index % 256) });

// The errors as kafkajs builds them (its retrier wraps the cause of a give-up in another error).
type KafkaJSErrorClass = new (message: unknown, options?: object) => Error;
const build = (Class: unknown, text: unknown, options?: object): Error => new (Class as KafkaJSErrorClass)(text, options);

describe("splitIntoRecordBatches", () => {
  it("keeps the order and puts no more than the limit into any run", () => {
    const messages = Array.from({ length: 1000 }, (_, index) => message(index, 100 + (index % 7) * 50));
    const runs = splitIntoRecordBatches(messages, 20_000);
    expect(runs.flat()).toEqual(messages);
    expect(runs.length).toBeGreaterThan(1);
    for (const run of runs) expect(RECORD_BATCH_OVERHEAD_BYTES + run.reduce((sum, each) => sum + recordBytes(each), 0)).toBeLessThanOrEqual(20_000);
    // Runs are filled: the next run's first message would not have fitted.
    for (let index = 1; index < runs.length; index++) {
      const previous = RECORD_BATCH_OVERHEAD_BYTES + runs[index - 1]!.reduce((sum, each) => sum + recordBytes(each), 0);
      expect(previous + recordBytes(runs[index]![0]!)).toBeGreaterThan(20_000);
    }
  });

  it("sends a request that fits in one run as one", () => {
    const messages = Array.from({ length: 500 }, (_, index) => message(index, 400));
    expect(splitIntoRecordBatches(messages, KAFKA_DEFAULT_MAX_MESSAGE_BYTES)).toEqual([messages]);
    expect(splitIntoRecordBatches([], KAFKA_DEFAULT_MAX_MESSAGE_BYTES)).toEqual([]);
  });

  it("refuses, before anything is sent, a message that alone exceeds the limit", () => {
    const messages = [message(0, 10), message(1, 5000), message(2, 10)];
    expect(() => splitIntoRecordBatches(messages, 4096)).toThrow(RecordTooLargeError);
    expect(() => splitIntoRecordBatches(messages, 4096)).toThrow(/message 1 needs a record batch of 5\d{3} bytes; the topic takes at most 4096/);
  });

  it("bounds from above what kafkajs's own encoder writes for a record batch", async () => {
    const internals = loadKafkajsInternals();
    expect(internals, "kafkajs internals").not.toBeNull();
    const messages = Array.from({ length: 300 }, (_, index) => message(index, 300 + index));
    const records = messages.map((each, offsetDelta) => internals!.Record({ offsetDelta, timestampDelta: offsetDelta * 1_000_000, key: each.key, value: each.value }));
    const encoded = records.reduce((sum, record) => sum + record.buffer.length, 0);
    expect(messages.reduce((sum, each) => sum + recordBytes(each), 0)).toBeGreaterThanOrEqual(encoded);
  });
});

describe("isRecordRefusal", () => {
  it("is true for the broker refusing the records themselves, however deep kafkajs wrapped it", () => {
    const tooLarge = build(KafkaJSProtocolError, { type: "MESSAGE_TOO_LARGE", code: 10, retriable: false, message: "The request included a message larger than the max message size the server will accept" });
    expect(isRecordRefusal(tooLarge)).toBe(true);
    expect(isRecordRefusal(build(KafkaJSNonRetriableError, tooLarge, { cause: tooLarge }))).toBe(true);
    expect(isRecordRefusal(build(KafkaJSProtocolError, { type: "INVALID_RECORD", code: 87, retriable: false, message: "invalid" }))).toBe(true);
    expect(isRecordRefusal(build(KafkaJSProtocolError, { type: "RECORD_LIST_TOO_LARGE", code: 18, retriable: false, message: "too large" }))).toBe(true);
    expect(isRecordRefusal(new RecordTooLargeError(0, 5000, 4096))).toBe(true);
  });

  it("is false for a broker that is away or not ready", () => {
    const refused = build(KafkaJSConnectionError, "Connection error: connect ECONNREFUSED 127.0.0.1:19092");
    expect(isRecordRefusal(build(KafkaJSNumberOfRetriesExceeded, refused, { retryCount: 3, retryTime: 1000, cause: refused }))).toBe(false);
    expect(isRecordRefusal(build(KafkaJSProtocolError, { type: "NOT_LEADER_FOR_PARTITION", code: 6, retriable: true, message: "not the leader" }))).toBe(false);
    expect(isRecordRefusal(new Error("no acknowledgement within 10000 ms"))).toBe(false);
    expect(isRecordRefusal("not an error")).toBe(false);
  });
});
