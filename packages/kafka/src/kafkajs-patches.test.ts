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
type Answer = { topicName: string; partition: number; errorCode: number; baseOffset: string };
type TopicData = { topic: string; partitions: { partition: number; messages: unknown[]; firstSequence?: number }[] }[];
interface FakeBroker {
  nodeId: number;
  produce(request: { topicData: TopicData }): Promise<{ topics: { topicName: string; partitions: Omit<Answer, "topicName">[] }[] }>;
}
const createSendMessages = require("kafkajs/src/producer/sendMessages.js") as (options: {
  logger: Record<string, () => void>;
  cluster: unknown;
  partitioner: (args: { message: { partition: number } }) => number;
  eosManager: unknown;
  retrier: unknown;
}) => (request: { acks: number; timeout: number; topicMessages: { topic: string; messages: { partition: number; value: string }[] }[] }) => Promise<Answer[]>;
const createRetry = require("kafkajs/src/retry/index.js") as (options: { retries: number; initialRetryTime: number }) => unknown;
const { KafkaJSConnectionError } = require("kafkajs/src/errors.js") as { KafkaJSConnectionError: new (message: string) => Error };
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

  it("resends a partition whose leader moved to a broker that already answered in the same send, and nothing twice", async () => {
    // Partitions 0, 1, 2 led by brokers 1, 2, 3. Broker 3 dies during the send: its request fails, and
    // after the metadata refresh partition 2 is led by broker 1, which has answered for partition 0
    // already (slowly, after the failed try: acks=all waits for the dead broker to leave the ISR).
    let leaders: Record<number, number> = { 0: 1, 1: 2, 2: 3 };
    const sent: { node: number; partition: number; firstSequence: number | undefined }[] = [];
    const broker = (nodeId: number, behaviour: (topicData: TopicData) => Promise<void>): FakeBroker => ({
      nodeId,
      async produce({ topicData }) {
        for (const { partitions } of topicData) for (const entry of partitions) sent.push({ node: nodeId, partition: entry.partition, firstSequence: entry.firstSequence });
        await behaviour(topicData);
        return { topics: topicData.map(({ topic, partitions }) => ({ topicName: topic, partitions: partitions.map((entry) => ({ partition: entry.partition, errorCode: 0, baseOffset: "0" })) })) };
      },
    });
    let broker3Alive = true;
    const brokers = new Map<number, FakeBroker>([
      [1, broker(1, () => new Promise((done) => setTimeout(done, 150)))],
      [2, broker(2, async () => undefined)],
      [3, broker(3, async () => { if (broker3Alive) throw new KafkaJSConnectionError("Connection error: broker 3 is gone"); })],
    ]);
    const cluster = {
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => {
        broker3Alive = false;
        leaders = { 0: 1, 1: 2, 2: 1 };
      },
      addMultipleTargetTopics: async () => undefined,
      isConnected: () => true,
      removeBroker: () => undefined,
      findTopicPartitionMetadata: () => [0, 1, 2].map((partitionId) => ({ partitionId, leader: leaders[partitionId] })),
      findLeaderForPartitions: (_topic: string, partitions: string[]) => {
        const perLeader: Record<number, number[]> = {};
        for (const partition of partitions.map(Number)) (perLeader[leaders[partition]!] ??= []).push(partition);
        return perLeader;
      },
      findBroker: async ({ nodeId }: { nodeId: string }) => brokers.get(Number(nodeId)),
    };
    // Sequence numbers per partition and one request at a time per broker, as kafkajs's own eosManager.
    const sequences = new Map<string, number>();
    const locks = new Map<FakeBroker, Promise<void>>();
    const releases = new Map<FakeBroker, () => void>();
    const eosManager = {
      isTransactional: () => false,
      getProducerId: () => 1,
      getProducerEpoch: () => 0,
      getSequence: (topic: string, partition: number) => sequences.get(`${topic}|${partition}`) ?? 0,
      updateSequence: (topic: string, partition: number, increment: number) => sequences.set(`${topic}|${partition}`, (sequences.get(`${topic}|${partition}`) ?? 0) + increment),
      async acquireBrokerLock(target: FakeBroker) {
        while (locks.has(target)) await locks.get(target);
        locks.set(target, new Promise<void>((release) => releases.set(target, release)));
      },
      async releaseBrokerLock(target: FakeBroker) {
        locks.delete(target);
        releases.get(target)!();
      },
    };
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const send = createSendMessages({ logger: quiet, cluster, partitioner: ({ message }) => message.partition, eosManager, retrier: createRetry({ retries: 5, initialRetryTime: 10 }) });

    const answers = await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: "t", messages: [0, 1, 2].flatMap((partition) => [{ partition, value: "a" }, { partition, value: "b" }]) }] });

    expect(answers.map((answer) => answer.partition).sort()).toEqual([0, 1, 2]);
    // Partition 2: tried on broker 3, then sent to broker 1 with the same sequence; 0 and 1 once each.
    expect(sent.filter((entry) => entry.partition !== 2)).toEqual([
      { node: 1, partition: 0, firstSequence: 0 },
      { node: 2, partition: 1, firstSequence: 0 },
    ]);
    expect(sent.filter((entry) => entry.partition === 2)).toEqual([
      { node: 3, partition: 2, firstSequence: 0 },
      { node: 1, partition: 2, firstSequence: 0 },
    ]);
    expect([...sequences.values()]).toEqual([2, 2, 2]);
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
