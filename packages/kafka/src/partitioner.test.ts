import fc from "fast-check";
import { Partitioners, type PartitionMetadata } from "kafkajs";
import { describe, expect, it } from "vitest";
import { JavaCompatiblePartitioner, murmur2, partitionForKey } from "./partitioner.ts";

const metadata = (count: number, leaderless: number[] = []): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: leaderless.includes(partitionId) ? -1 : 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));

describe("murmur2 partitioner", () => {
  it("hashes as the Java client does (values from Kafka's own UtilsTest)", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(key)).toBe(hash);
  });

  it("gives every key the partition kafkajs's DefaultPartitioner gives it", () => {
    const reference = Partitioners.DefaultPartitioner();
    const ours = JavaCompatiblePartitioner();
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 120 })), fc.integer({ min: 1, max: 64 }), (key, count) => {
        const partitionMetadata = metadata(count);
        const expected = reference({ topic: "t", partitionMetadata, message: { key, value: null } });
        expect(ours({ topic: "t", partitionMetadata, message: { key, value: null } })).toBe(expected);
        expect(ours({ topic: "t", partitionMetadata, message: { key: Buffer.from(key), value: null } })).toBe(expected);
        expect(partitionForKey(key, count)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps an explicit partition and spreads keyless messages over partitions with a leader", () => {
    const ours = JavaCompatiblePartitioner();
    const partitionMetadata = metadata(4, [1]);
    expect(ours({ topic: "t", partitionMetadata, message: { key: "k", value: null, partition: 3 } })).toBe(3);
    const chosen = new Set(Array.from({ length: 30 }, () => ours({ topic: "t", partitionMetadata, message: { value: null } })));
    expect([...chosen].sort()).toEqual([0, 2, 3]);
  });
});
