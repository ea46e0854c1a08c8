import type { Admin } from "kafkajs";

/** A partition's retained range: messages are offsets low .. high-1. */
export interface PartitionRange {
  partition: number;
  low: bigint;
  high: bigint;
}

export interface TopicOffsets {
  topic: string;
  partitions: PartitionRange[];
  /** Messages currently retained: Σ (high − low). */
  messages: bigint;
  /** Σ high: grows with every message written, so it tells whether a topic is still moving. */
  endTotal: bigint;
}

export interface GroupLag {
  groupId: string;
  topic: string;
  lag: bigint;
  /** Partitions where the group has committed an offset; 0 means it never consumed this topic. */
  committedPartitions: number;
}

export async function topicOffsets(admin: Admin, topic: string): Promise<TopicOffsets> {
  const partitions = (await admin.fetchTopicOffsets(topic))
    .map((entry) => ({ partition: entry.partition, low: BigInt(entry.low), high: BigInt(entry.high) }))
    .sort((left, right) => left.partition - right.partition);
  return summarizeTopic(topic, partitions);
}

export function summarizeTopic(topic: string, partitions: PartitionRange[]): TopicOffsets {
  let messages = 0n;
  let endTotal = 0n;
  for (const range of partitions) {
    messages += range.high - range.low;
    endTotal += range.high;
  }
  return { topic, partitions, messages, endTotal };
}

/**
 * A group's lag on a topic: per partition, end offset minus the committed offset. Where the
 * group has not committed (offset -1), everything still retained counts as lag, since a new
 * group reading from the beginning has all of it to do.
 */
export function computeLag(ranges: readonly PartitionRange[], committed: ReadonlyMap<number, bigint>): { lag: bigint; committedPartitions: number } {
  let lag = 0n;
  let committedPartitions = 0;
  for (const range of ranges) {
    const offset = committed.get(range.partition);
    if (offset !== undefined && offset >= 0n) committedPartitions++;
    const position = offset === undefined || offset < 0n ? range.low : offset < range.low ? range.low : offset;
    if (range.high > position) lag += range.high - position;
  }
  return { lag, committedPartitions };
}

export async function groupLag(admin: Admin, groupId: string, offsets: TopicOffsets): Promise<GroupLag> {
  const answer = await admin.fetchOffsets({ groupId, topics: [offsets.topic] });
  const committed = new Map<number, bigint>();
  for (const entry of answer.find((topic) => topic.topic === offsets.topic)?.partitions ?? []) committed.set(entry.partition, BigInt(entry.offset));
  return { groupId, topic: offsets.topic, ...computeLag(offsets.partitions, committed) };
}
