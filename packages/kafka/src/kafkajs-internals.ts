import { createRequire } from "node:module";

/**
 * Modules inside kafkajs that the project reaches past its public API: the processor's warm-up
 * runs its produce encoding without sending, and the tests of patches/kafkajs+2.2.4.patch check the
 * patched ones. kafkajs is pinned to 2.2.4 (package.json), its last release; if the
 * modules move, `loadKafkajsInternals` returns null and callers skip what needs them.
 */
export interface KafkajsInternals {
  groupMessagesPerPartition(options: { topic: string; partitionMetadata: { partitionId: number; leader: number }[]; messages: readonly { key: string; value: Buffer }[]; partitioner: unknown }): Record<string, { key: string; value: Buffer }[]>;
  produceRequestV3(options: { acks: number; timeout: number; topicData: unknown[] }): { encode(): Promise<{ buffer: Buffer }> };
  Encoder: new (initialSize?: number) => { writeVarIntBytes(value: Buffer | string): unknown; writeInt32(value: number): unknown; buffer: Buffer };
  Record(options: { offsetDelta: number; timestampDelta: number; key: Buffer | string; value: Buffer }): { buffer: Buffer };
}

export const KAFKAJS_INTERNAL_PATHS = {
  groupMessagesPerPartition: "kafkajs/src/producer/groupMessagesPerPartition.js",
  produceRequestV3: "kafkajs/src/protocol/requests/produce/v3/request.js",
  Encoder: "kafkajs/src/protocol/encoder.js",
  Record: "kafkajs/src/protocol/recordBatch/record/v0/index.js",
} as const;

export function loadKafkajsInternals(): KafkajsInternals | null {
  const requireFromHere = createRequire(import.meta.url);
  try {
    const load = (name: keyof typeof KAFKAJS_INTERNAL_PATHS) => requireFromHere(KAFKAJS_INTERNAL_PATHS[name]) as unknown;
    return {
      groupMessagesPerPartition: load("groupMessagesPerPartition") as KafkajsInternals["groupMessagesPerPartition"],
      produceRequestV3: load("produceRequestV3") as KafkajsInternals["produceRequestV3"],
      Encoder: load("Encoder") as KafkajsInternals["Encoder"],
      Record: load("Record") as KafkajsInternals["Record"],
    };
  } catch {
    return null;
  }
}
