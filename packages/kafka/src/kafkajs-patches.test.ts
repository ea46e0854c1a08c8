import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { KAFKAJS_INTERNAL_PATHS, loadKafkajsInternals } from "./kafkajs-internals.ts";
import { JavaCompatiblePartitioner, partitionForKey } from "./partitioner.ts";

// scripts/patch-kafkajs.mjs (postinstall) changes two kafkajs internals; these tests hold the
// patched code to what kafkajs must do, and check that the install applied the patches.
const require = createRequire(import.meta.url);
const kafkajs = loadKafkajsInternals();
if (!kafkajs) throw new Error(`kafkajs's internal modules are not where the project expects them: ${Object.values(KAFKAJS_INTERNAL_PATHS).join(", ")}`);
const { groupMessagesPerPartition, Encoder, Record } = kafkajs;
type Message = { key: string; value: Buffer };
const MARK = "/* patched by scripts/patch-kafkajs.mjs */";

describe("kafkajs as patched after install", () => {
  it("has both patches applied, and the internal modules the project uses are where it expects them", () => {
    expect(readFileSync(require.resolve(KAFKAJS_INTERNAL_PATHS.groupMessagesPerPartition), "utf8")).toContain(MARK);
    expect(readFileSync(require.resolve(KAFKAJS_INTERNAL_PATHS.Encoder), "utf8").split(MARK).length).toBe(3);
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
