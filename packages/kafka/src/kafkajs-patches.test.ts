import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { KAFKAJS_INTERNAL_PATHS, loadKafkajsInternals } from "./kafkajs-internals.ts";
import { kafkajsPatchStatus } from "./kafkajs-patch.ts";
import { JavaCompatiblePartitioner, partitionForKey } from "./partitioner.ts";

// patches/kafkajs+2.2.4.patch (applied at install by patch-package) changes kafkajs internals;
// these tests hold the patched code to what kafkajs must do.
const require = createRequire(import.meta.url);
// Fetch decoding, reached only by these tests (the services use it through kafkajs's consumer).
const FETCH_PATHS = {
  recordDecoder: "kafkajs/src/protocol/recordBatch/record/v0/decoder.js",
  batch: "kafkajs/src/consumer/batch.js",
} as const;
type Long = { toString(): string };
const LongOf = require("kafkajs/src/utils/long") as { fromValue(value: string | number): Long };
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js") as {
  RecordBatch(options: { firstOffset: Long; firstTimestamp: Long; maxTimestamp: Long; lastOffsetDelta: number; records: { buffer: Buffer }[] }): Promise<{ buffer: Buffer }>;
};
const decodeRecordBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js") as (decoder: unknown) => Promise<{ records: { offset: string; timestamp: string; key: Buffer }[] }>;
const Decoder = require("kafkajs/src/protocol/decoder.js") as new (buffer: Buffer) => unknown;
const Batch = require(FETCH_PATHS.batch) as new (
  topic: string,
  fetchedOffset: string,
  data: { partition: number; highWatermark: string; abortedTransactions: never[]; messages: { offset: string; isControlRecord?: boolean }[] },
) => { messages: { offset: string }[] };
const kafkajs = loadKafkajsInternals();
if (!kafkajs) throw new Error(`kafkajs's internal modules are not where the project expects them: ${Object.values(KAFKAJS_INTERNAL_PATHS).join(", ")}`);
const { groupMessagesPerPartition, Encoder, Record } = kafkajs;
type Message = { key: string; value: Buffer };

describe("kafkajs as patched after install", () => {
  it("has every fix applied, and the internal modules the project uses are where it expects them", () => {
    expect(kafkajsPatchStatus().missing).toEqual([]);
    for (const path of [...Object.values(KAFKAJS_INTERNAL_PATHS), ...Object.values(FETCH_PATHS)]) expect(() => require.resolve(path)).not.toThrow();
  });

  it("decodes every record's offset and timestamp exactly, below 2^53 and beyond it", async () => {
    // Deltas of every varlong length, both signs; bases where base + delta leaves the exact Number range.
    const timestampDeltas = [0, 1, -1, 63, -64, 8191, 1_048_575, -(2 ** 30), 2 ** 41, -(2 ** 48) + 1, 2 ** 48, 2 ** 55];
    const cases = [
      { firstOffset: "0", firstTimestamp: "1700000000000" },
      { firstOffset: "123456789", firstTimestamp: "-1" },
      { firstOffset: String(2 ** 53 - 5), firstTimestamp: String(2 ** 53 - 3) },
      { firstOffset: "9223372036854770000", firstTimestamp: "9007199254740993" },
    ];
    for (const { firstOffset, firstTimestamp } of cases) {
      const records = timestampDeltas.map((timestampDelta, offsetDelta) =>
        Record({ offsetDelta, timestampDelta, key: `k${offsetDelta}`, value: Buffer.from("v") }),
      );
      const encoded = await RecordBatch({
        firstOffset: LongOf.fromValue(firstOffset),
        firstTimestamp: LongOf.fromValue(firstTimestamp),
        maxTimestamp: LongOf.fromValue(firstTimestamp),
        lastOffsetDelta: records.length - 1,
        records,
      });
      const decoded = await decodeRecordBatch(new Decoder(encoded.buffer));
      expect(decoded.records.map((record) => [record.offset, record.timestamp, record.key.toString()])).toEqual(
        timestampDeltas.map((delta, index) => [
          (BigInt(firstOffset) + BigInt(index)).toString(),
          (BigInt(firstTimestamp) + BigInt(delta)).toString(),
          `k${index}`,
        ]),
      );
    }
  });

  it("keeps a fetched batch's records from the fetched offset on, below 2^53 and beyond it", () => {
    for (const base of [0n, 2n ** 53n - 3n, 9_223_372_036_854_770_000n]) {
      const messages = [0n, 1n, 2n, 3n, 4n, 5n].map((delta) => ({ offset: (base + delta).toString() }));
      const batch = new Batch("t", (base + 3n).toString(), { partition: 0, highWatermark: (base + 6n).toString(), abortedTransactions: [], messages });
      expect(batch.messages.map((message) => message.offset)).toEqual(messages.slice(3).map((message) => message.offset));
    }
  });

  it("groups a send's messages per partition, every message once, in send order", () => {
    const partitionMetadata = [0, 1, 2, 3, 4, 5].map((partitionId) => ({ partitionId, leader: 0 }));
    const messages = Array.from({ length: 5000 }, (_, index) => ({ key: `customer-${index % 700}`, value: Buffer.from(String(index)) }));
    const grouped = groupMessagesPerPartition({ topic: "t", partitionMetadata, messages, partitioner: JavaCompatiblePartitioner() });
    const expected: Record<string, Message[]> = {};
    for (const message of messages) (expected[partitionForKey(message.key, 6)] ??= []).push(message);
    expect(grouped).toEqual(expected);
    expect(groupMessagesPerPartition({ topic: "t", partitionMetadata: [], messages, partitioner: JavaCompatiblePartitioner() })).toEqual({});
  });

  it("encodes the same bytes for the same record whatever its buffers held before (no unwritten byte leaks)", () => {
    const record = () => Record({ offsetDelta: 3, timestampDelta: 1234, key: "customer-1", value: Buffer.from("a stage change".repeat(60)) }).buffer;
    const first = Buffer.from(record());
    // Dirty the pool the unsafe allocations come from, then encode again.
    for (let round = 0; round < 200; round++) Buffer.allocUnsafe(512).fill(0xab);
    expect(record()).toEqual(first);
    const encoder = new Encoder(4);
    encoder.writeInt32(7);
    encoder.writeVarIntBytes(Buffer.alloc(3000, 1)); // grows past its first buffer
    expect(encoder.buffer.length).toBe(4 + 2 + 3000);
    expect(encoder.buffer.subarray(6).every((byte) => byte === 1)).toBe(true);
  });
});
