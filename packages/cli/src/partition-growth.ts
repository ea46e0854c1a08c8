import type { Config } from "@clm/config";
import { ensureProjectTopics, partitionForKey } from "@clm/kafka";
import { RedisLayout, StateReader } from "@clm/state-store";
import { growPartitions, GrowthRefusedError, type GrowthReport } from "@clm/state-store/admin";
import type { RedisClient } from "@clm/redis";
import type { Admin } from "kafkajs";
import { withFreshLeaders } from "./kafka-admin.ts";
import { groupLag, topicOffsets } from "./kafka-offsets.ts";

/**
 * The Kafka half of growing the input topic's partition count (docs/scaling.md): checks that the
 * old pipeline is drained and stopped, creates the new input topic, and has @clm/state-store copy
 * the state under the new partitioning; re-checks the old side before the new prefix is finished.
 */
export interface GrowthRequest {
  /** The config the pipeline runs with now (old topic, partition count, prefix). */
  current: Config;
  /** The same config with the new TOPIC_EVENTS, TOPIC_PARTITIONS and REDIS_KEY_PREFIX. */
  grown: Config;
  /** Whether the sink must have read the old input topic to its end (it switches topics too). */
  checkSink: boolean;
  onProgress?: (customers: number) => void;
}

export interface GrowthOutcome {
  report: GrowthReport;
  /** Where each new partition starts on the new topic. */
  startOffsets: string[];
  /** Records of the old topic, all applied. */
  oldRecords: bigint;
}

/** The partition the project's producers give a customer (their key is the customer id; Java-compatible murmur2). */
export const customerPartition = (customerId: string, partitions: number): number => partitionForKey(customerId, partitions);

/** What is wrong with the request itself (empty: nothing). */
export function requestProblems(current: Config, grown: Config): string[] {
  const problems: string[] = [];
  if (grown.TOPIC_PARTITIONS <= current.TOPIC_PARTITIONS) problems.push(`--to ${grown.TOPIC_PARTITIONS} is not more than the ${current.TOPIC_PARTITIONS} partitions the pipeline has (TOPIC_PARTITIONS)`);
  if (grown.TOPIC_EVENTS === current.TOPIC_EVENTS) problems.push(`--topic must name a new input topic, not ${current.TOPIC_EVENTS} (TOPIC_EVENTS): growing a topic in place moves customers' keys between partitions`);
  if (grown.REDIS_KEY_PREFIX === current.REDIS_KEY_PREFIX) problems.push(`--prefix must be a new Redis key prefix, not ${current.REDIS_KEY_PREFIX} (REDIS_KEY_PREFIX)`);
  return problems;
}

/** Whether the old pipeline is drained and stopped: every problem found (empty: it is). */
export async function drainProblems(admin: Admin, redis: RedisClient, current: Config, checkSink: boolean): Promise<string[]> {
  const problems: string[] = [];
  const topic = current.TOPIC_EVENTS;
  const offsets = await withFreshLeaders(admin, () => topicOffsets(admin, topic));
  if (offsets.partitions.length !== current.TOPIC_PARTITIONS) problems.push(`${topic} has ${offsets.partitions.length} partitions, TOPIC_PARTITIONS says ${current.TOPIC_PARTITIONS}`);
  for (const [name, groupId] of [["processors", current.PROCESSOR_GROUP_ID], ["webhook delivery services", current.WEBHOOKS_GROUP_ID]] as const) {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group !== undefined && group.members.length > 0) problems.push(`the ${name} are running (group ${groupId}, ${group.members.length} members): stop them first`);
  }
  const reader = new StateReader(redis, new RedisLayout(current.REDIS_KEY_PREFIX));
  for (const { partition, low, high } of offsets.partitions) {
    const applied = (await reader.loadMeta(partition)).offset;
    const caughtUp = applied === null ? high === low : BigInt(applied) === high;
    if (!caughtUp) problems.push(`partition ${partition} of ${topic}: the processors applied up to offset ${applied ?? "none"}, the log ends at ${high} (run them until they catch up: clm wait)`);
  }
  if (checkSink) {
    const lag = await withFreshLeaders(admin, () => groupLag(admin, current.SINK_GROUP_ID, offsets));
    if (lag.lag > 0n) problems.push(`the sink (group ${current.SINK_GROUP_ID}) has ${lag.lag} records of ${topic} to read; after the switch it reads the new topic only (wait: clm wait; or --no-sink)`);
  }
  return problems;
}

/** Checks the old side, creates the new input topic, copies and verifies; throws GrowthRefusedError when anything is not as it must be. */
export async function growInputTopic(admin: Admin, redis: RedisClient, request: GrowthRequest): Promise<GrowthOutcome> {
  const { current, grown } = request;
  const problems = [...requestProblems(current, grown), ...(await drainProblems(admin, redis, current, request.checkSink))];
  if (problems.length > 0) throw new GrowthRefusedError(problems);
  const before = await withFreshLeaders(admin, () => topicOffsets(admin, current.TOPIC_EVENTS));

  // The new topic as the services will check it: created when missing, else it must have the new count.
  await ensureProjectTopics(admin, grown);
  const starts = await withFreshLeaders(admin, () => topicOffsets(admin, grown.TOPIC_EVENTS));
  const startOffsets = starts.partitions.map((partition) => partition.low.toString());

  const report = await growPartitions(redis, {
    from: new RedisLayout(current.REDIS_KEY_PREFIX),
    to: new RedisLayout(grown.REDIS_KEY_PREFIX),
    fromPartitions: current.TOPIC_PARTITIONS,
    toPartitions: grown.TOPIC_PARTITIONS,
    partitionOf: customerPartition,
    startOffsets,
    record: { fromTopic: current.TOPIC_EVENTS, fromEnds: before.partitions.map((partition) => partition.high.toString()), toTopic: grown.TOPIC_EVENTS },
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    stillDrained: async () => {
      const moved = await drainProblems(admin, redis, current, false);
      const after = await withFreshLeaders(admin, () => topicOffsets(admin, current.TOPIC_EVENTS));
      if (after.endTotal !== before.endTotal) moved.push(`${current.TOPIC_EVENTS} grew by ${after.endTotal - before.endTotal} records during the copy: something still produces to it`);
      return moved;
    },
  });
  return { report, startOffsets, oldRecords: before.messages };
}
